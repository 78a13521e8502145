"""Decision maps drawn level by level (MapRefinement): the same map as the adaptive one once
complete, a full-size map at every level, a stop at a deadline, the opening grid and the
opening resolution by image size."""

import time

import pytest
import torch
from torch import nn

from analysis.analyses.boundary_defaults import (
    MAP_RESOLUTIONS,
    map_opening_marks,
    map_resolution_for,
)
from analysis.analyses.boundary_maps import (
    MapRefinement,
    adaptive_decision_map,
    opening_step,
    orthogonal_direction,
)
from analysis.explore.map_view import refinement_note


def _plane():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 5)).eval()
    x = torch.rand(1, 8, 8)
    d1 = torch.randn(1, 8, 8)
    d1 = d1 / d1.norm()
    return model, x, d1, orthogonal_direction(d1, seed=2)


def test_a_progressive_map_ends_as_the_adaptive_map_and_shows_every_level_in_full():
    model, x, d1, d2 = _plane()
    one_go = adaptive_decision_map(model, x, d1, d2, extent=8.0, resolution=65, coarse_step=8)
    state = MapRefinement(8.0, 65, coarse_step=8, first_step=opening_step(65, 8))
    assert opening_step(65, 8) == 16           # 0, 16, 32, 48, 64: a 5 x 5 first grid
    shown, spacings = [], []
    while state.step(model, x, d1, d2):
        snap = state.snapshot()
        assert snap.classes.shape == (65, 65) and int(snap.classes.min()) >= 0
        shown.append(snap.level)
        spacings.append(snap.spacing)
    assert shown == list(range(1, len(shown) + 1)) and len(shown) <= state.levels
    final = state.snapshot()
    assert final.complete and final.spacing == 1
    assert torch.equal(final.classes, one_go.classes)
    assert final.evaluations == one_go.evaluations
    assert spacings == sorted(spacings, reverse=True)      # finer and finer
    first = MapRefinement(8.0, 65, first_step=16)
    first.step(model, x, d1, d2)
    assert first.evaluations == 25 and not first.snapshot().complete


def test_refine_stops_after_the_level_that_passes_the_deadline_and_goes_on_later():
    model, x, d1, d2 = _plane()
    state = MapRefinement(8.0, 65, first_step=16)
    state.refine(model, x, d1, d2, deadline=time.monotonic() - 1)
    assert state.level == 1 and not state.complete
    calls = []
    state.refine(model, x, d1, d2, between_levels=lambda: calls.append(state.level))
    assert state.complete and calls == list(range(1, state.level))


def test_the_opening_resolution_scales_with_the_image_size():
    assert map_resolution_for(28 * 28) == map_resolution_for(32 * 32 * 3) == 128
    assert map_resolution_for(64 * 64 * 3) == 64
    assert map_resolution_for(224 * 224 * 3) == 32 == MAP_RESOLUTIONS[0]
    assert opening_step(128) == 32 and opening_step(32) == 8
    assert map_opening_marks(28 * 28) == 5 and map_opening_marks(224 * 224 * 3) == 3
    assert opening_step(32, marks=3) == 16                 # 0, 16, 31
    with pytest.raises(ValueError):
        map_resolution_for(0)


def test_the_refinement_note_states_the_budget_and_the_level_reached():
    model, x, d1, d2 = _plane()
    state = MapRefinement(8.0, 65, first_step=16)
    state.step(model, x, d1, d2)
    note = refinement_note({"a": state.snapshot()}, 2.0, 0.31)
    assert note.startswith("Time budget of 2 s reached after 0.31 s at level 1 of at most ")
    assert "16 of the 65 x 65 grid points" in note
    state.refine(model, x, d1, d2)
    assert refinement_note({"a": state.snapshot()}, 2.0, 0.5).startswith(
        "Maps complete in 0.50 s: 65 x 65 points")
