"""The Boundaries page on a 224-px RGB ImageFolder with a tiny zoo (AppTest): it opens on
32 x 32 maps, shows the first level (a 3 x 3 grid drawn full size) before refining further,
and says how far it refined within its time budget."""

from streamlit.testing.v1 import AppTest

from analysis.config import PROJECT_ROOT
from tests.app.test_compare_fit_browser import zoo224  # noqa: F401  (the fixture)


def test_boundaries_at_224_px_shows_a_coarse_level_first_and_the_level_reached(
        zoo224, monkeypatch):  # noqa: F811
    import app.components.boundary_cache as cache

    for name, value in {**zoo224, "RA_PREFETCH": "0"}.items():
        monkeypatch.setenv(name, value)
    cache.map_state.clear()
    cache.cached_distances.clear()
    levels, real = [], cache.refine_maps

    def recording(plane, models, states, on_level=None, **kw):
        def seen(maps):
            levels.append({n: (m.level, tuple(m.classes.shape), m.complete)
                           for n, m in maps.items()})
            if on_level is not None:
                on_level(maps)
        return real(plane, models, states, on_level=seen, **kw)

    monkeypatch.setattr(cache, "refine_maps", recording)
    at = AppTest.from_file(str(PROJECT_ROOT / "app" / "main.py"), default_timeout=900)
    at.run()
    at.switch_page("views/boundaries.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.select_slider(key="bd_resolution").value == 32      # scaled to the image size
    chosen = at.multiselect(key="bd_classifiers").value
    assert len(chosen) == 2
    # the first level shown: every map full size from a 3 x 3 grid, not yet complete
    assert levels[0] == {n: (1, (32, 32), False) for n in chosen}
    assert [lv[chosen[0]][0] for lv in levels] == list(range(1, len(levels) + 1))
    notes = [c.value for c in at.caption
             if c.value.startswith(("Maps complete", "Time budget of 5 s"))]
    assert len(notes) == 1 and ("(time budget 5 s)" in notes[0] or "at level" in notes[0])
    assert len(list(at.get("bidi_component"))) == 2                # the two clickable maps
