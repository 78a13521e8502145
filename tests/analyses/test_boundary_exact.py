import math

import pytest
import torch
from torch import nn

from analysis.analyses.boundary_exact import (
    NotPiecewiseLinear,
    exact_boundary_distance,
    measure_boundaries,
    unsupported_layer,
    walk_model,
)
from analysis.analyses.boundary_referee import compare
from analysis.analyses.boundary_search import boundary_distance, unit
from analysis.analyses.boundary_table import method_text
from analysis.errors import RAExplorerError
from analysis.zoo import create_model, list_models


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread (on a shared machine, more threads only wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _ray_logits(model, x, d, ts):
    """Logits (len(ts), K) of model at x + t d (one image x, d), in float64."""
    pts = x[None] + torch.as_tensor(ts, dtype=torch.float64).view(-1, 1, 1, 1) * d[None]
    with torch.no_grad():
        return model(pts)


def test_linear_classifier_matches_the_closed_form():
    torch.manual_seed(0)
    lin = nn.Linear(12, 5).double()
    model = nn.Sequential(nn.Flatten(), lin).eval()
    x = torch.randn(40, 3, 2, 2, dtype=torch.float64)
    d = unit(torch.randn(40, 3, 2, 2, dtype=torch.float64))
    res = exact_boundary_distance(model, x, d, max_dist=50.0)
    cert = res.extra["certificate"]
    w, b = lin.weight.detach(), lin.bias.detach()
    logits = x.flatten(1) @ w.T + b
    slopes = d.flatten(1) @ w.T
    for i in range(len(x)):
        c = int(logits[i].argmax())
        best, who = math.inf, -1
        for j in range(5):
            gap, rate = logits[i, c] - logits[i, j], slopes[i, c] - slopes[i, j]
            if j != c and rate < 0 and gap / -rate < best:
                best, who = float(gap / -rate), j
        if best > 50.0:
            assert res.censored[i] and math.isnan(res.dist[i])
            continue
        assert float(res.dist[i]) == pytest.approx(best, abs=1e-12)
        assert int(res.end_class[i]) == who and int(cert.start_class[i]) == c
        assert int(cert.regions[i]) == 1           # one affine region, no kinks
        assert float(cert.gap_slope[i]) == pytest.approx(float(slopes[i, c] - slopes[i, who]))
    assert int(res.censored.sum()) < len(x)


class Thin(nn.Module):
    """Logits of u = t for x = 0, d = the first pixel, computed on paper:
    L0 = 0, L1 = 0.01 - |u - 0.51| (beats L0 on (0.50, 0.52) only), L2 = u - 2 (beats L0 past 2).
    |a| = relu(a) + relu(-a): a ReLU network with kinks at u = 0.51 (twice)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 2).double()
        self.out = nn.Linear(2 + 4, 3).double()
        with torch.no_grad():
            self.hidden.weight.zero_()
            self.hidden.weight[0, 0], self.hidden.bias[0] = 1.0, -0.51     # u - 0.51
            self.hidden.weight[1, 0], self.hidden.bias[1] = -1.0, 0.51     # 0.51 - u
            self.out.weight.zero_()
            self.out.bias.copy_(torch.tensor([0.0, 0.01, -2.0], dtype=torch.float64))
            self.out.weight[1, 0] = self.out.weight[1, 1] = -1.0
            self.out.weight[2, 2] = 1.0                                     # + u (skip input)

    def forward(self, x):
        flat = x.flatten(1)
        return self.out(torch.cat([torch.relu(self.hidden(flat)), flat], 1))


def _thin_ray(n=1):
    x = torch.zeros(n, 1, 2, 2, dtype=torch.float64)
    d = torch.zeros_like(x)
    d[:, 0, 0, 0] = 1.0
    return x, d


def test_hand_built_relu_network_crossings_on_paper():
    model = Thin().eval()
    x, d = _thin_ray()
    res = exact_boundary_distance(model, x, d, max_dist=10.0)
    cert = res.extra["certificate"]
    assert float(res.dist[0]) == pytest.approx(0.50, abs=1e-12)
    assert int(res.start_class[0]) == 0 and int(res.end_class[0]) == 1
    assert float(cert.gap_slope[0]) == pytest.approx(-1.0)     # L0 - L1 = |u - 0.51| - 0.01
    # started past the thin stretch (x at u = 0.6), the next crossing is class 2 at u = 2, after
    # the region [0.6, 2] with no kink: one region
    res = exact_boundary_distance(model, x + 0.6 * d, d, max_dist=10.0)
    assert float(res.dist[0]) == pytest.approx(1.4, abs=1e-12)
    assert int(res.end_class[0]) == 2 and int(res.extra["certificate"].regions[0]) == 1
    # before the stretch (u = 0.3): one kink-free region up to the crossing at 0.5
    res = exact_boundary_distance(model, x + 0.3 * d, d, max_dist=10.0)
    assert float(res.dist[0]) == pytest.approx(0.2, abs=1e-12)


def test_thin_stretch_found_by_the_walk_and_stepped_over_by_the_search():
    model = Thin().eval()
    x, d = _thin_ray()
    search = boundary_distance(model, x, d)           # the defaults: geometric scan, bisection
    exact = exact_boundary_distance(model, x, d)
    assert float(exact.dist[0]) == pytest.approx(0.50, abs=1e-12)
    assert float(search.dist[0]) == pytest.approx(2.0, abs=2e-3)    # the later crossing
    assert int(search.end_class[0]) == 2 and int(exact.end_class[0]) == 1
    # after the stretch the walk has crossed its two kinks
    after = exact_boundary_distance(model, x + 0.52 * d, d)
    assert float(after.dist[0]) == pytest.approx(1.48, abs=1e-12)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c),
                                  nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return torch.relu(x + self.body(x))


def _small_conv_net(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(),
                        Block(4), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(4, 6, 3),
                        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(6, 3))
    with torch.no_grad():       # input weights that make class changes within a few L2 units,
        net[0].weight.mul_(20)  # non-trivial running statistics, then eval mode
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.double().eval()


def _near_boundary_rays(net, n, seed, margin):
    """n (x, d) with a class change about ``margin`` ahead of x: a random ray's first change
    on a coarse scan, x moved to ``margin`` before it."""
    g = torch.Generator().manual_seed(seed)
    xs, ds = [], []
    coarse = torch.arange(1, 2001, dtype=torch.float64) * 2e-3
    for _ in range(20 * n):
        if len(xs) == n:
            break
        p = torch.rand(1, 7, 7, generator=g, dtype=torch.float64)
        d = unit(torch.randn(1, 1, 7, 7, generator=g, dtype=torch.float64))[0]
        classes = _ray_logits(net, p, d, torch.cat([torch.zeros(1, dtype=torch.float64),
                                                    coarse])).argmax(1)
        changed = torch.nonzero(classes != classes[0]).flatten()
        if len(changed) and coarse[changed[0] - 1] > margin:
            xs.append(p + (float(coarse[changed[0] - 1]) - margin) * d)
            ds.append(d)
    assert len(xs) == n, "too few rays with a class change within 4 L2 units"
    return torch.stack(xs), torch.stack(ds)


def test_small_conv_bn_residual_maxpool_network_against_a_fine_scan():
    net = _small_conv_net()
    n, step, reach = 24, 1e-5, 0.04
    x, d = _near_boundary_rays(net, n, seed=1, margin=0.02)
    res = exact_boundary_distance(net, x, d, max_dist=reach)
    cert = res.extra["certificate"]
    ts = torch.arange(1, int(round(reach / step)) + 1, dtype=torch.float64) * step
    checked = 0
    for i in range(n):
        start = int(_ray_logits(net, x[i], d[i], [0.0]).argmax(1))
        classes = _ray_logits(net, x[i], d[i], ts).argmax(1)
        changed = torch.nonzero(classes != start).flatten()
        if len(changed) == 0:
            assert bool(res.censored[i])
            continue
        scan = float(ts[changed[0]])
        t = float(res.dist[i])
        assert t <= scan + 1e-12                      # never later than the scan
        assert t > scan - step - 1e-6                 # and within the scan's last gap
        # the class changes within 1e-6 after t, and not before it
        before, after = _ray_logits(net, x[i], d[i], [t - 1e-7, t + 1e-6]).argmax(1)
        assert int(before) == start and int(after) != start
        assert float(cert.residual[i]) < 1e-9
        checked += 1
    assert checked >= n - 2
    assert int(cert.regions.max()) > 1          # kinks were crossed on the way


def test_clip_is_walked_as_kinks():
    net = _small_conv_net(seed=3)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(6, 1, 7, 7, generator=g, dtype=torch.float64)
    d = unit(torch.randn(6, 1, 7, 7, generator=g, dtype=torch.float64))
    res = exact_boundary_distance(net, x, d, max_dist=3.0, clip=True)
    for i in torch.nonzero(~res.censored).flatten().tolist():
        t = float(res.dist[i])
        pts = (x[i][None] + torch.tensor([0.0, t - 1e-7, t + 1e-6], dtype=torch.float64)
               .view(-1, 1, 1, 1) * d[i][None]).clamp(0, 1)
        with torch.no_grad():
            c0, before, after = net(pts).argmax(1).tolist()
        assert before == c0 and after != c0


def test_unsupported_layers_are_named():
    gelu = nn.Sequential(nn.Flatten(), nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2))
    assert "GELU" in unsupported_layer(gelu)
    with pytest.raises(NotPiecewiseLinear, match="GELU"):
        exact_boundary_distance(gelu, torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))

    class Functional(nn.Module):          # a non-PWL function called inside a forward
        def forward(self, x):
            return torch.sigmoid(x.flatten(1))

    with pytest.raises(NotPiecewiseLinear, match="sigmoid"):
        exact_boundary_distance(Functional(), torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    bn = nn.BatchNorm2d(1, track_running_stats=False)
    assert "batch statistics" in unsupported_layer(nn.Sequential(bn))


@pytest.mark.parametrize("name", [m["name"] for m in list_models("classifier")
                                  if not m["name"].startswith("tv-")])
def test_every_small_zoo_classifier_is_walked(name):
    """Each architecture of the zoo passes the layer check and walks a few regions with a
    residual at float64 precision."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(2, 1, 28, 28)
    d = unit(torch.randn(2, 1, 28, 28))
    assert unsupported_layer(model) is None
    res = exact_boundary_distance(model, x, d, max_dist=5.0, max_regions=3)
    cert = res.extra["certificate"]
    assert bool((cert.regions >= 1).all())
    assert float(cert.residual.max()) < 1e-4


def test_torchvision_layouts_pass_the_layer_check():
    for name in [m["name"] for m in list_models("classifier") if m["name"].startswith("tv-")]:
        model = create_model(name, num_classes=10)
        assert unsupported_layer(model) is None, name
    model = create_model("tv-resnet18", num_classes=10).eval()    # max-pool 3 / 2 / padding 1
    x = torch.rand(1, 3, 32, 32)
    res = exact_boundary_distance(model, x, unit(torch.randn(1, 3, 32, 32)), max_regions=3)
    assert float(res.extra["certificate"].residual.max()) < 1e-4
    assert walk_model(model).training is False


def test_a_model_the_walk_cannot_follow_is_searched_and_says_so():
    torch.manual_seed(0)
    gelu = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 3)).eval()
    x, d = torch.rand(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    res = measure_boundaries(gelu, x, d, "exact", max_dist=5.0)
    assert res.extra["method"] == "search" and "GELU" in res.extra["fallback"]
    assert "sampled search" in res.extra["fallback"]
    exact = measure_boundaries(Thin().eval(), *_thin_ray(), "exact")
    assert exact.extra["method"] == "exact" and "fallback" not in exact.extra
    with pytest.raises(RAExplorerError, match="search or exact"):
        measure_boundaries(gelu, x, d, "bisect")


def test_the_table_and_the_referee_say_what_was_measured():
    report = {"method": "exact", "methods": {"a": "exact", "b": "exact"}, "max_dist": 30.0,
              "tol": 0.001, "schedule": "uniform", "steps": 30}
    assert method_text(report) == "Method: exact region walk to 30.0 (first crossing, float64)."
    report["methods"]["b"] = "Layer x (GELU) is not piecewise linear."
    assert "b: sampled search, uniform scan" in method_text(report)
    rows = [{"search": 1.0, "exact": 0.5, "regions": 9, "residual": 1e-6, "unfinished": False,
             "reached": 0.5},
            {"search": 0.7, "exact": 0.6995, "regions": 4, "residual": 2e-6, "unfinished": False,
             "reached": 0.6995},
            {"search": 2.0, "exact": math.nan, "regions": 100, "residual": 0.0,
             "unfinished": True, "reached": 0.3}]
    out = compare(rows, tol=1e-3)
    assert out["later"] == 1 and out["later_excess_max"] == pytest.approx(0.5)
    assert out["later_relative_max"] == pytest.approx(1.0)
    assert out["unfinished"] == 1 and out["unfinished_search_beyond_reached"] == 1
    assert out["max_residual"] == 2e-6 and out["regions_max"] == 100


@pytest.mark.parametrize("name", ["resnet20", "densenet-bc", "vgg11-bn", "mobilenetv2",
                                  "resnet20-robust"])
def test_certificate_residual_on_zoo_checkpoints(name):
    """Checked-in classifiers on test images: the walk starts just before the search's crossing
    (so it reaches one in a few dozen regions) and its certificate's residual, against a plain
    float32 forward at the crossing, is below 1e-4; the crossing is no later than the search's."""
    from analysis.data.datasets import load_dataset
    from analysis.zoo.catalogue import checkpoint_dir
    from analysis.zoo.checkpoints import load_checkpoint

    model = load_checkpoint(checkpoint_dir() / name, kind="classifier")[0].eval()
    x, _, _ = load_dataset("fashion-mnist", "test").get_batch(torch.tensor([0, 1, 2]))
    d = unit(torch.randn(x.shape, generator=torch.Generator().manual_seed(0)))
    found = boundary_distance(model, x, d, tol=1e-4)
    keep = ~found.censored
    start = x[keep] + (found.dist[keep] - 5e-4).view(-1, 1, 1, 1) * d[keep]
    res = exact_boundary_distance(model, start, d[keep], max_dist=1e-3)
    cert = res.extra["certificate"]
    assert int(keep.sum()) >= 2 and not bool(res.censored.any())
    assert float(cert.residual.max()) < 1e-4
    assert bool((res.dist <= 5e-4 + 1e-6).all())
