"""The Boundaries instrument: the plane's points, the image pickers, the image's BDs."""

import numpy as np
import pytest
import torch

from analysis.analyses.boundary_defaults import EXTENT_MULTIPLES
from analysis.errors import RAExplorerError
from analysis.explore.plane import (
    exact_image_distances,
    extent_for,
    image_boundary_distances,
    plane_maps,
    point_predictions,
    ra_fixed_indices,
    table17_indices,
)
from analysis.explore.workspace import Workspace
from tests.conftest import SYNTH
from tests.explore.test_gallery import random_table


def test_the_point_is_x_plus_u_d_ra_plus_v_d_r(tiny_zoo):
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    plane = ws.plane(3)
    assert abs(float(plane.d_ra.norm()) - 1) < 1e-5 and abs(float(plane.d_r.norm()) - 1) < 1e-5
    assert abs(float((plane.d_ra * plane.d_r).sum())) < 1e-5          # orthogonal
    expected = plane.x + 0.7 * plane.d_ra - 0.2 * plane.d_r
    assert torch.allclose(plane.point(0.7, -0.2), expected, atol=1e-6)
    image, tops = point_predictions(plane, 0.7, -0.2, ws.models(["clf-a", "clf-b"]),
                                    ws.info.class_names)
    assert np.allclose(image, expected.clamp(0, 1)[0].numpy(), atol=1e-6)
    assert tops["clf-a"] == ws.topk("clf-a", expected)
    # the maps are drawn on the same plane: the map's class at its centre is the origin's
    maps = plane_maps(plane, ws.models(["clf-a"]), extent=1.0, resolution=33)["maps"]["clf-a"]
    origin = ws.classifiers["clf-a"](plane.x[None]).argmax(1).item()
    assert int(maps.classes[16, 16]) == origin


def test_image_bds_are_the_first_crossings_or_censored(tiny_zoo):
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    plane = ws.plane(5)
    rows = image_boundary_distances(plane, ws.models(["clf-a"]), max_dist=30.0)
    assert [(r["classifier"], r["direction"]) for r in rows] == [("clf-a", "ra"), ("clf-a", "random")]
    model = ws.classifiers["clf-a"]
    start = model(plane.x[None]).argmax(1).item()
    for row in rows:
        assert row["censored"] == (row["bd"] is None)
        if row["bd"] is not None and row["direction"] == "ra":
            beyond = plane.point(row["bd"] + 1e-3, 0)
            before = plane.point(max(row["bd"] - 2e-3, 0), 0)
            assert model(beyond[None]).argmax(1).item() != start
            assert model(before[None]).argmax(1).item() == start
    # the two directions searched in one batch give what two separate searches give
    from analysis.analyses.boundary_search import boundary_distance
    from analysis.analyses.boundary_table import image_random_directions

    d_rand = image_random_directions(plane.x.shape, [plane.index], 0)[0]
    for row, d in zip(rows, (plane.d_ra, d_rand)):
        alone = boundary_distance(model, plane.x[None], d[None], max_dist=30.0, tol=1e-3)
        assert row["censored"] == bool(alone.censored[0])
        assert row["bd"] is None or row["bd"] == pytest.approx(float(alone.dist[0]), abs=1e-6)


def test_the_exact_walk_of_an_image_reports_regions_and_matches_the_walk(tiny_zoo):
    from analysis.analyses.boundary_exact import MAX_REGIONS

    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    plane = ws.plane(5)
    torch.manual_seed(0)
    dims = plane.x.numel()
    # two small ReLU networks (a zoo classifier crosses tens of thousands of regions per unit)
    nets = {name: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(dims, width),
                                      torch.nn.ReLU(), torch.nn.Linear(width, 10)).eval()
            for name, width in (("mlp-a", 12), ("mlp-b", 24))}
    seen = []
    rows = exact_image_distances(plane, nets,
                                 on_progress=lambda done, cap: seen.append((done, cap)))
    assert [(r["classifier"], r["direction"]) for r in rows] == [
        ("mlp-a", "ra"), ("mlp-a", "random"), ("mlp-b", "ra"), ("mlp-b", "random")]
    assert all(r["method"] == "exact" and r["regions"] >= 1 for r in rows)
    assert rows == (image_boundary_distances(plane, {"mlp-a": nets["mlp-a"]}, method="exact")
                    + image_boundary_distances(plane, {"mlp-b": nets["mlp-b"]}, method="exact"))
    # one report per region step, growing, the second classifier's after the first's cap
    assert len(seen) >= max(r["regions"] for r in rows)
    assert all(cap == 2 * MAX_REGIONS for _, cap in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == MAX_REGIONS + max(r["regions"] for r in rows[2:])


def test_table17_selection_equals_a_brute_force_recount():
    t = random_table()
    found = table17_indices(t, t, "p-plain", "c1", "c2")
    expected = [int(t.index[r]) for r in range(len(t))
                if t.pred[("p-plain", "c1")][r] == t.pred[("p-plain", "c2")][r] != t.label[r]]
    assert sorted(found.tolist()) == sorted(expected) and len(found) > 0
    # two tables that cover different images are matched by dataset index
    part = random_table()
    keep = np.arange(0, len(part), 2)
    for key in list(part.pred):
        part.pred[key] = part.pred[key][keep]
    part.index, part.label = part.index[keep], part.label[keep]
    t2 = random_table()
    t2.pred[("p-plain", "c2")] = t.pred[("p-plain", "c2")]
    got = set(table17_indices(part, t2, "p-plain", "c1", "c2").tolist())
    rows = {int(i): r for r, i in enumerate(t2.index)}
    assert got == {int(part.index[r]) for r in range(len(part))
                   if part.pred[("p-plain", "c1")][r] == t2.pred[("p-plain", "c2")][rows[int(part.index[r])]]
                   != part.label[r]}


def test_ra_fixed_it_and_the_pickers(tiny_zoo):
    t = random_table()
    fixed = set(ra_fixed_indices(t, "p-plain", "p-ra", "c1").tolist())
    assert fixed == {int(t.index[r]) for r in range(len(t))
                     if t.pred[("p-ra", "c1")][r] == t.label[r] != t.pred[("p-plain", "c1")][r]}
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    every, what = ws.picker_indices("by index", ["clf-a"])
    assert len(every) == len(ws.test) and what == "every test image"
    chosen, what = ws.picker_indices("Table 17 selection", ["clf-a", "clf-b"])
    assert "clf-a(x) = clf-b(x) != label" in what
    with pytest.raises(RAExplorerError, match="needs two classifiers"):
        ws.picker_indices("Table 17 selection", ["clf-a"])
    with pytest.raises(RAExplorerError, match="Unknown image picker"):
        ws.picker_indices("odd", ["clf-a", "clf-b"])


def test_extent_follows_the_ra_length():
    assert extent_for(4.0, 0.25) == pytest.approx(1.0)
    assert extent_for(1.0, 0.0) == 0.05                       # never a zero-width map
    ratios = np.diff(np.log(EXTENT_MULTIPLES))
    assert np.all(ratios > 0) and ratios.max() / ratios.min() < 1.4   # log-spaced steps


def test_the_maps_drawn_with_the_channels_last_copies_are_the_eager_models_maps(tiny_zoo):
    from analysis.analyses.boundary_maps import adaptive_decision_map

    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    for index in (1, 4):
        plane = ws.plane(index)
        drawn = plane_maps(plane, ws.models(["clf-a", "clf-b"]), extent=2.0,
                           resolution=33)["maps"]
        for name, dmap in drawn.items():
            eager = adaptive_decision_map(ws.classifiers[name], plane.x, plane.d_ra, plane.d_r,
                                          2.0, 33, coarse_step=8, batch_size=128)
            assert torch.equal(dmap.classes, eager.classes), (index, name)
            assert dmap.evaluations == eager.evaluations
