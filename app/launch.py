"""Start the app: run Streamlit at once and warm the pages up behind it.

``bash scripts/main.sh`` calls ``python -m app.launch [streamlit run options]`` after copying
``app/streamlit_config.toml`` to ``.streamlit/config.toml``; ``python -m analysis app`` (or
``ra-explorer app``) calls :func:`main` with those settings as ``streamlit run`` options
(:func:`streamlit_options`), so an installed copy needs no file in the current directory. Streamlit
imports a page's modules only when the first browser session runs it, so without a
warm-up the first visitor waits for torch, piq (which imports torchvision and
torch._dynamo, about 2-4 s on this machine) and the models. The launcher imports nothing
heavy before the server starts (it answers its health check in seconds); a background job
(:func:`warm_up_behind_server`) then imports the libraries, loads the models, makes the
survey's demo study and draws the opening views, each step only while no page runs.
``RA_PRELOAD=0`` skips the warm-up (the first page load then pays) and makes the demo study
before the server starts; ``RA_PRELOAD=first`` runs the warm-up (:func:`preload`, the same
steps in the calling thread) and the demo study before the server starts.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "app" / "main.py"
SETTINGS = ROOT / "app" / "streamlit_config.toml"   # the app's Streamlit settings
# the task collections whose workspaces the warm-up builds (the corruption benchmark's cells,
# one task each, are built when a page first asks for them)
PRELOADED_COLLECTIONS = ("randomized",)


def streamlit_settings() -> dict[str, object]:
    """The settings of ``app/streamlit_config.toml`` as {"section.option": value}."""
    with SETTINGS.open("rb") as fh:
        table = tomllib.load(fh)
    return {f"{section}.{key}": value for section, options in table.items()
            for key, value in options.items()}


def settings_variable(option: str) -> str:
    """Streamlit's environment variable for ``option`` (``server.maxUploadSize`` ->
    ``STREAMLIT_SERVER_MAX_UPLOAD_SIZE``)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", option.replace(".", "_"))
    return "STREAMLIT_" + snake.upper()


def streamlit_options(port: int | None = None, address: str | None = None) -> list[str]:
    """``streamlit run`` options that apply ``app/streamlit_config.toml`` as scripts/main.sh's
    copy of it does: ``--section.option=value`` for each setting, except those set by their
    environment variable (``STREAMLIT_SERVER_PORT`` ...), which win as they do over the file;
    ``port`` and ``address``, when given, win over both."""
    chosen = {option: value for option, value in streamlit_settings().items()
              if settings_variable(option) not in os.environ}
    if port is not None:
        chosen["server.port"] = port
    if address is not None:
        chosen["server.address"] = address
    return [f"--{option}={str(value).lower() if isinstance(value, bool) else value}"
            for option, value in chosen.items()]


def import_libraries() -> None:
    """Import what the pages import (torch, piq, plotly, pandas, matplotlib's Agg canvas and
    font cache, the analyses) and keep freed memory in the heap
    (:func:`analysis.device.retain_freed_memory`)."""
    from analysis.device import retain_freed_memory

    retain_freed_memory()
    import matplotlib
    import pandas  # noqa: F401
    import piq  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    # (Streamlit sets a logger's level when it creates it: import the modules, then quieten)
    import streamlit.runtime.caching.cache_data_api  # noqa: F401
    import streamlit.runtime.scriptrunner_utils.script_run_context  # noqa: F401

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (Compare's colour bars; about 0.5 s on first use)

    import analysis.analyses.boundary_maps  # noqa: F401
    import analysis.analyses.boundary_search  # noqa: F401
    import analysis.analyses.features  # noqa: F401
    import analysis.reporting.figures  # noqa: F401
    from analysis.explore.encoders import colour_bar_png
    from app.components.background import quiet_cache_logs

    colour_bar_png(1.0, "warm-up")          # matplotlib's font cache and Agg canvas
    quiet_cache_logs()


def warm_steps(task: str | None = None, between_levels=None, survey_demo: bool = False):
    """The warm-up as (key, callable) steps, produced one at a time (a step's key may
    depend on what the steps before it built): the libraries; the cached workspace of
    ``task`` (default: every task the pages offer, but those of the collections outside
    :data:`PRELOADED_COLLECTIONS`) with the LPIPS-style metric of Compare's
    classifier; for the first task also the record tables of the default classifier pair (when
    shipped), the survey's demo study (``survey_demo``), the Boundaries page's opening view
    (its maps and boundary distances, when those tables are shipped, keyed as the page's
    prefetch keys them, the maps refined with ``between_levels`` before each level), the hover
    images of the Features page's opening t-SNE and every other classifier's opening maps.

    A missing dataset or checkpoint raises :class:`~analysis.errors.RAExplorerError` in a
    step (the pages then say what to run).
    """
    yield "libraries", import_libraries
    from analysis.explore.workspace import available_tasks, task_collections
    from app.components.boundary_cache import default_view_steps
    from app.components.common import dataset, folder, workspace
    from app.components.tsne_cache import warm_opening_view

    found: dict = {}

    def build(name: str) -> None:
        # as get_workspace calls it: the same arguments, or the pages miss this cache entry
        ws = found[name] = workspace(name, dataset(), folder(),
                                     task_collections(name, dataset(), folder()))
        for clf in ws.default_pair()[:1]:     # Compare's classifier: its LPIPS metric
            ws.metric(f"lpips-{clf}")

    yield "tasks", lambda: found.update(   # the corruption cells' workspaces build on demand
        tasks=[task] if task else available_tasks(dataset(), folder(), PRELOADED_COLLECTIONS))
    tasks = found.get("tasks", [])
    if not tasks:
        return
    first = tasks[0]
    yield ("workspace", first), lambda: build(first)
    ws = found[first]

    def tables() -> None:
        shipped = ws.shipped_classifiers()
        for clf in ws.default_pair():             # the record table, if shipped (Gallery,
            if shipped and clf in shipped:        # Boundaries' pickers): never measured here
                ws.record_table(clf)

    yield ("tables", first), tables
    if survey_demo:
        yield "survey demo", made_demo_study
    shipped = opens_on_shipped_tables(ws)
    if shipped:
        yield from default_view_steps(ws, between_levels=between_levels)
    yield ("features", first), lambda: warm_opening_view(first)
    if shipped:   # every other classifier's at that image: adding one is then a cache hit
        yield from default_view_steps(ws, others=True, between_levels=between_levels)
    for name in tasks[1:]:                        # the other tasks: models and metric only
        yield ("workspace", name), lambda n=name: build(n)


def preload(task: str | None = None) -> float:
    """Run :func:`warm_steps` now, in this thread; seconds taken. A missing dataset or
    checkpoint is not an error here: the pages say what to run."""
    from analysis.errors import RAExplorerError
    from app.components.background import quiet_cache_logs

    t0 = time.perf_counter()
    quiet_cache_logs()
    try:
        for _, step in warm_steps(task):
            step()
    except RAExplorerError:
        pass  # missing data or checkpoints: the pages say what to run
    except Exception as exc:  # noqa: BLE001 — a speed-up must never keep the app from starting
        print(f"RA Explorer: preload skipped ({type(exc).__name__}: {exc})", flush=True)
    return time.perf_counter() - t0


def wait_for_server(timeout: float = 60.0) -> bool:
    """Block until Streamlit's runtime is serving (or ``timeout`` seconds pass); whether it
    is."""
    from streamlit.runtime import Runtime, RuntimeState

    serving = (RuntimeState.NO_SESSIONS_CONNECTED, RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Runtime.exists() and Runtime.instance().state in serving:
            return True
        time.sleep(0.05)
    return False


def warm_up_behind_server(survey_demo: bool = True) -> None:
    """Submit the warm-up (:func:`warm_steps`: the tasks of the zoo and of
    :data:`PRELOADED_COLLECTIONS`, and the survey's demo study) to the
    background job :data:`app.components.background.WARM_UP`: it starts once the server
    accepts connections, runs each step only while no page runs (a page that needs a map
    the warm-up is drawing hurries it), and prints what it did."""
    from app.components.background import DEMO_DONE, LIBRARIES, WARM_UP

    t0 = time.perf_counter()
    if survey_demo:
        DEMO_DONE.clear()

    def libraries() -> None:
        # held from before the server starts: a page run waits in app/main.py until the
        # libraries are imported, never importing them beside this thread (two threads
        # importing one package with import cycles can meet a partly initialised module)
        with LIBRARIES:
            wait_for_server()
            import_libraries()

    def steps():
        steps = warm_steps(between_levels=WARM_UP.pause_point, survey_demo=survey_demo)
        next(steps)                                   # the libraries: in the first step
        try:
            yield from guarded(itertools.chain([("libraries", libraries)], steps))
        finally:
            DEMO_DONE.set()
            print(f"RA Explorer: warm-up ended {time.perf_counter() - t0:.1f} s after the "
                  "start", flush=True)

    WARM_UP.submit(steps())


def guarded(steps):
    """``steps`` with each callable made to report an unexpected error (then re-raised, which
    ends the job); a missing dataset or checkpoint ends it quietly. Either way nothing waits
    for the demo study any longer."""
    from analysis.errors import RAExplorerError
    from app.components.background import DEMO_DONE

    for key, step in steps:
        def run(step=step, key=key):
            try:
                step()
            except RAExplorerError:
                DEMO_DONE.set()
                raise
            except Exception as exc:
                print(f"RA Explorer: warm-up stopped at {key!r} ({type(exc).__name__}: "
                      f"{exc})", flush=True)
                DEMO_DONE.set()
                raise
        yield key, run


def made_demo_study() -> None:
    """:func:`demo_study`, printed; then the Survey pages waiting for it go on."""
    from app.components.background import DEMO_DONE

    try:
        print(f"RA Explorer: {demo_study()}", flush=True)
    finally:
        DEMO_DONE.set()


def demo_study() -> str:
    """Make the survey's demo study on a first start (a database without any study), so the
    Survey pages work out of the box; a sentence saying what happened."""
    try:
        from analysis.survey.db import make_engine, session_factory
        from analysis.survey.demo import DEMO_NAME, ensure_demo
        from app.components.common import dataset, folder

        t0 = time.perf_counter()
        with session_factory(make_engine())() as session:
            made = ensure_demo(session, dataset=dataset(), checkpoints=folder())
        return (f"made the survey demo study {DEMO_NAME!r} in {time.perf_counter() - t0:.1f} s"
                if made else "survey studies found, no demo study made")
    except Exception as exc:  # noqa: BLE001 — the demo must never keep the app from starting
        return f"no survey demo study ({type(exc).__name__}: {exc})"


def opens_on_shipped_tables(ws) -> bool:
    """Whether Boundaries' opening view rests on shipped record tables (its picker then costs
    nothing to warm; without them the launcher measures no table)."""
    return set(ws.default_pair()) <= set(ws.shipped_classifiers() or [])


def main(argv: list[str] | None = None) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    demo = os.environ.get("RA_SURVEY_DEMO", "1") != "0"
    from streamlit.web import cli  # first: the warm-up thread must not import it beside us

    mode = os.environ.get("RA_PRELOAD", "1")
    if mode == "first":                  # the warm-up before the server (benchmarks compare)
        print(f"RA Explorer: preloaded libraries and models in {preload():.1f} s", flush=True)
    if mode not in ("0", "first"):
        warm_up_behind_server(survey_demo=demo)
    elif demo:
        print(f"RA Explorer: {demo_study()}", flush=True)
    sys.argv = ["streamlit", "run", str(MAIN), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
