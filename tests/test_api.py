"""The Python API at the package top (analysis/api/): the README's example, boundary distances
and maps of any nn.Module on any tensor image (checked against a linear classifier whose
boundary is known in closed form), figures from tensors saved as PNG, metrics with their
direction and range, the record table as a DataFrame, and a lazy ``import analysis``."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import analysis as ra
from analysis.analyses.boundary_table import image_random_directions
from analysis.config import PROJECT_ROOT
from analysis.data.formats.idx import fashion_mnist_dirs
from analysis.errors import InputError, RAExplorerError, UnknownNameError
from analysis.pipeline.records import RecordTable

HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() for d in fashion_mnist_dirs(None))
CHECKPOINTS = PROJECT_ROOT / "checkpoints"

# The README's example, as it is printed there.
EXAMPLE = """
import analysis as ra
clf = ra.load_model("resnet20")
x = ra.load_dataset("fashion-mnist", "test")[0][0]
print(ra.boundary_distance(clf, x))
sr = ra.process("sr-ra", ra.degrade("sr", x))
print("PSNR", ra.create_metric("psnr")(sr[None], x[None]))
"""


def tiny_net(channels: int = 3, classes: int = 5) -> nn.Module:
    """A 2-layer conv net with random weights: any classifier the API must take."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, classes, 3, padding=1), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten())


def linear_net(w: torch.Tensor, b: float = 0.0) -> nn.Module:
    """Logits (w.x + b, -(w.x + b)): class 0 where w.x + b > 0; the boundary is the hyperplane
    w.x + b = 0."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(w.numel(), 2))
    with torch.no_grad():
        net[1].weight.copy_(torch.stack([w.flatten(), -w.flatten()]))
        net[1].bias.copy_(torch.tensor([b, -b]))
    return net


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
def test_the_readme_example_prints_a_bd_and_a_metric(capsys, monkeypatch):
    monkeypatch.setenv("RA_CHECKPOINTS", str(CHECKPOINTS))
    exec(EXAMPLE, {})
    out = capsys.readouterr().out
    assert "BoundaryDistances: 1 image" in out and "RMS per pixel" in out, out
    bd = float(out.split("BD ")[1].split(" L2")[0])
    assert 0 < bd < ra.bd_max_dist(28 * 28) == ra.BD_MAX_DIST == 30.0
    psnr = float(out.split("PSNR tensor([")[1].split("]")[0])
    assert 10 < psnr < 80


def test_bd_of_a_linear_classifier_is_its_distance_to_the_hyperplane():
    torch.manual_seed(1)
    w = torch.randn(1, 6, 6)
    net = linear_net(w)
    x = torch.rand(4, 1, 6, 6)
    d = torch.randn(4, 1, 6, 6)
    d = d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    # x + t d crosses w.x = 0 at t = -w.x / w.d (a crossing only for t > 0)
    wx, wd = (w * x).flatten(1).sum(1), (w * d).flatten(1).sum(1)
    exact = -wx / wd
    res = ra.boundary_distance(net, x, d, max_dist=50.0)
    for i in range(4):
        if 0 < exact[i] <= 50:
            assert not res.censored[i] and exact[i] <= res.l2[i] < exact[i] + ra.BD_TOL
            assert res.rms[i] == pytest.approx(float(res.l2[i]) / 6)
            assert int(res.end_class[i]) == 1 - int(res.start_class[i])
        else:
            assert res.censored[i] and math.isnan(res.l2[i])
    assert res.max_dist == 50.0 and len(res.to_frame()) == 4
    text = repr(res)
    assert text.startswith("BoundaryDistances: 4 images, along the given direction")
    walked = ra.boundary_distance(net, x, d, max_dist=50.0, method="exact")
    for i in range(4):
        if 0 < exact[i] <= 50:
            assert float(walked.l2[i]) == pytest.approx(float(exact[i]), abs=1e-5)
    assert walked.settings["method"] == "exact" and "walked exactly" in repr(walked)


def test_nearest_boundary_of_a_linear_classifier_is_its_distance_to_the_hyperplane():
    torch.manual_seed(2)
    w = torch.randn(1, 6, 6)
    net = linear_net(w, 0.3)
    x = torch.rand(5, 1, 6, 6)
    truth = ((w * x).flatten(1).sum(1) + 0.3).abs() / w.norm()
    nb = ra.nearest_boundary(net, x, tol=1e-4)
    assert nb.settings["attack"] == ra.NB_ATTACK == "ddn" and nb.settings["steps"] == ra.NB_STEPS
    assert torch.allclose(nb.l2, truth, rtol=1e-3, atol=2e-4)
    text = repr(nb)
    assert text.startswith("BoundaryDistances: 5 images, nearest boundary, by Foolbox DDN, "
                           "100 steps, unclipped") and "NB <=" in text
    assert nb.perceptual is None              # a module: no perceptual metric of its own
    # BD along any direction is never below it
    bd = ra.boundary_distance(net, x, seed=4, max_dist=50.0, method="exact")
    ok = ~bd.censored
    assert torch.all(nb.l2[ok] <= bd.l2[ok] + 1e-4)
    with pytest.raises(UnknownNameError, match="perceptual distance"):
        ra.boundary_distance(net, x, perceptual="psnr")


def test_bd_of_a_zoo_classifier_by_name_comes_with_its_own_perceptual_units(monkeypatch):
    monkeypatch.setenv("RA_CHECKPOINTS", str(CHECKPOINTS))
    torch.manual_seed(0)
    x = torch.rand(2, 1, 28, 28)
    res = ra.boundary_distance("resnet20", x, seed=1)
    assert res.perceptual_metric == "lpips-resnet20"
    ok = ~res.censored
    assert torch.all(res.perceptual[ok] > 0) and torch.isnan(res.perceptual[~ok]).all()
    assert "lpips-resnet20" in repr(res) and "lpips-resnet20" in res.to_frame()
    assert ra.boundary_distance("resnet20", x, seed=1, perceptual="none").perceptual is None


def test_bd_towards_an_image_and_along_the_default_random_direction():
    w = torch.ones(1, 4, 4)
    net = linear_net(w)
    x = torch.full((1, 4, 4), 0.75)        # w.x = 12 > 0: class 0
    target = torch.full((1, 4, 4), 0.25)   # the straight line to it meets w.x = 0 at x = 0 (L2 3)
    towards = ra.boundary_distance(net, x, towards=target)
    assert float(towards.l2[0]) == pytest.approx(3.0, abs=ra.BD_TOL)
    assert "towards the given images" in repr(towards)
    # the default direction of image i is the bd table's random direction of test image i
    d = image_random_directions((1, 4, 4), [0, 1], seed=3)
    net = linear_net(d[0], b=-float((d[0] * x).sum()) - 2.0)   # along d[0]: the class flips at 2
    two = ra.boundary_distance(net, torch.stack([x, x]), seed=3)
    assert float(two.l2[0]) == pytest.approx(2.0, abs=ra.BD_TOL) and "seed 3" in repr(two)
    assert float(two.l2[1]) != pytest.approx(2.0, abs=0.1)     # image 1: another direction
    with pytest.raises(InputError, match="direction or towards"):
        ra.boundary_distance(net, x, torch.ones(1, 4, 4), towards=target)
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        ra.boundary_distance(net, x * 4)


def test_a_boundary_map_of_a_tiny_module_is_its_prediction_on_the_plane():
    net = tiny_net()
    x = torch.rand(3, 12, 12)
    m = ra.boundary_map({"tiny": net, "again": net}, x, resolution=12, extent=4.0)
    classes = m.maps["tiny"].classes
    assert classes.shape == (12, 12) and m.agreement["tiny"]["again"] == 1.0
    assert float(m.d1.flatten() @ m.d2.flatten()) == pytest.approx(0, abs=1e-5)
    us, vs = m.maps["tiny"].us, m.maps["tiny"].vs
    assert float(us[0]) == -4.0 and float(vs[-1]) == 4.0
    with torch.no_grad():
        for i, j in [(0, 0), (5, 7), (11, 3), (6, 6)]:
            point = x + us[j] * m.d1 + vs[i] * m.d2
            assert int(net(point[None]).argmax(1)) == int(classes[i, j])
    assert "tiny, again on 12 x 12 points" in repr(m)


def test_a_boundary_maps_figure_for_a_tiny_module_and_a_tensor_saved_as_png(tmp_path):
    net = tiny_net()
    x = torch.rand(3, 16, 16)
    fig = ra.figure("boundary-maps", x, classifiers=[net], resolution=16, labels=[2],
                    class_names=list("abcde"), towards=torch.rand(3, 16, 16))
    written = ra.save_figure(fig, tmp_path / "maps.png", dpi=100)
    assert [p.name for p in written] == ["maps.png", "maps.csv"]
    image = Image.open(io.BytesIO(written[0].read_bytes()))
    assert image.format == "PNG" and image.size[0] == round(6.75 * 100)   # the default width
    maps = [r for r in fig.rows if r["panel"] == "map"]
    assert len(maps) == 16 * 16 and {r["classifier"] for r in maps} == {"Sequential"}
    strip = [r for r in fig.rows if r["panel"] in ("x", "towards")]
    assert len(strip) == 2 and all(r["label"] == "c" for r in strip)
    star = [r for r in fig.rows if r["panel"] == "towards marker"]
    assert len(star) == 1 and star[0]["u"] > 0 and star[0]["v"] == 0.0
    titles = [ax.get_title() for ax in fig.figure.axes if ax.get_visible()]
    assert titles[0].startswith("#0 x\n") and titles[-1] == "Sequential"


def test_an_examples_figure_from_tensors_shows_them_pixel_for_pixel(tmp_path):
    net = tiny_net(channels=1)
    clean, small = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 4, 4)
    fig = ra.figure("examples", {"clean": clean, "small": small}, classifier=net,
                    labels=[0, 1], dpi=100, width=3.25)
    png = np.asarray(Image.open(ra.save_figure(fig, tmp_path / "ex.png", dpi=100)[0]).convert("L"))
    scale = fig.extra["grid"]["scale"]
    for (r, c), images in {(1, 0): clean[1, 0], (0, 1): small[0, 0]}.items():
        want = np.round(images.numpy() * 255).astype(np.uint8)
        k = scale * 8 // want.shape[-1]
        want = np.repeat(np.repeat(want, k, 0), k, 1)
        x, y = fig.extra["grid"]["boxes"][(r, c)]
        assert (png[y:y + want.shape[0], x:x + want.shape[1]] == want).all()
    assert {r["column"] for r in fig.rows} == {"clean", "small"} and len(fig.rows) == 4
    with pytest.raises(InputError, match="result files"):
        ra.figure("lambda", {"clean": clean})


def test_load_model_by_name_path_or_module():
    net = tiny_net()
    assert ra.load_model(net) is net
    by_name = ra.load_model("resnet20", "cpu", folder=CHECKPOINTS)
    by_path = ra.load_model(CHECKPOINTS / "resnet20.json", "cpu")
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(by_name(x), by_path(x)) and by_name(x).shape == (2, 10)
    with pytest.raises(UnknownNameError, match="resnet20"):
        ra.load_model("resnet2O", folder=CHECKPOINTS)
    with pytest.raises(InputError, match="No checkpoint card"):
        ra.load_model(CHECKPOINTS / "nowhere" / "resnet20")


def test_degrade_and_process_keep_the_shape_they_are_given():
    x = torch.rand(1, 28, 28)
    lq = ra.degrade("sr", x)
    assert lq.shape == (1, 7, 7)
    batch = ra.degrade(ra.create_task("denoise", sigma=0.2), torch.stack([x, x]), indices=[3, 3])
    assert torch.equal(batch[0], batch[1])                       # seeded per index
    out = ra.process(ra.load_model(CHECKPOINTS / "sr-plain", "cpu"), lq)
    assert out.shape == (1, 28, 28) and 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(InputError, match="'human' or 'machine'"):
        ra.process(nn.Identity(), lq, view="both")


def test_metrics_by_name_with_direction_and_range():
    psnr = ra.create_metric("psnr", "cpu")
    assert psnr.lower_better is False and psnr.value_range == (0.0, 80.0)
    x = torch.rand(2, 1, 16, 16)
    assert psnr(x, x.clone()).shape == (2,)
    listed = {m["name"]: m for m in ra.list_metrics()}
    assert listed["gmsd"]["lower_better"] and listed["ssim"]["range"] == [0.0, 1.0]


def test_records_is_the_record_table_one_row_per_image_input_and_classifier():
    path = PROJECT_ROOT / "results" / "records_sr_scale4.parquet"
    table = RecordTable.load(path)
    df = ra.records("sr", "fashion-mnist", results=PROJECT_ROOT / "results")
    assert len(df) == len(table) * len(table.pred) and df.attrs["task"] == "sr:scale=4"
    accuracy = df.groupby(["input", "classifier"], observed=True).correct.mean()
    assert accuracy[("sr-ra", "resnet20")] == pytest.approx(table.correct("sr-ra", "resnet20").mean())
    clean = df[df.input == "clean"]
    assert clean.psnr.isna().all() and not df[df.input == "sr-ra"].psnr.isna().any()
    with pytest.raises(RAExplorerError, match="python -m analysis evaluate"):
        ra.records("jpeg:quality=50", results=PROJECT_ROOT / "results")


def test_import_analysis_loads_neither_torch_nor_the_package():
    code = ("import sys, analysis; print('torch' in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith('analysis')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True).stdout
    assert out.strip() == "False ['analysis']"


def test_every_exported_name_resolves():
    assert set(ra.__all__) >= {"load_model", "load_dataset", "create_task", "degrade", "process",
                               "boundary_distance", "boundary_map", "create_metric",
                               "list_metrics", "figure", "records", "__version__"}
    import analysis.api

    assert set(ra.__all__) == {"__version__", *analysis.api.__all__}
    for name in ra.__all__:
        assert getattr(ra, name) is not None, name
        assert name in dir(ra)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = ra.nothing_here
