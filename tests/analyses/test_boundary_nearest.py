import math

import pytest
import torch
from torch import nn

from analysis.analyses.boundary_exact import exact_boundary_distance
from analysis.analyses.boundary_nearest import (
    ATTACKS,
    attack_budget,
    default_perceptual,
    nearest_boundary,
    perceptual_distances,
    perceptual_metric,
)
from analysis.analyses.boundary_search import random_directions
from analysis.errors import RAExplorerError
from tests.conftest import SYNTH


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _linear(k: int = 4, shape=(1, 4, 4), seed: int = 0):
    torch.manual_seed(seed)
    lin = nn.Linear(math.prod(shape), k)
    return nn.Sequential(nn.Flatten(), lin).eval(), lin


def _closed_form(lin: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """min over j != c of (L_c - L_j) / ||w_c - w_j||: the nearest boundary of a linear map."""
    with torch.no_grad():
        logits = lin(x.flatten(1)).double()
        w = lin.weight.double()
    c = logits.argmax(1)
    out = []
    for i in range(len(x)):
        gaps = [(logits[i, c[i]] - logits[i, j]) / (w[c[i]] - w[j]).norm()
                for j in range(lin.out_features) if j != c[i]]
        out.append(min(gaps))
    return torch.stack(out)


@pytest.mark.parametrize("attack", ATTACKS)
def test_linear_classifier_nearest_boundary_is_the_closed_form(attack):
    # two classes: NB = |w.x + b| / ||w|| with w, b the logit difference's
    model, lin = _linear(k=2)
    x = torch.rand(12, 1, 4, 4)
    res = nearest_boundary(model, x, attack=attack, steps=100, tol=1e-4)
    w = (lin.weight[0] - lin.weight[1]).detach().double()
    b = float(lin.bias[0] - lin.bias[1])
    truth = (x.flatten(1).double() @ w + b).abs() / w.norm()
    assert torch.allclose(truth, _closed_form(lin, x))
    assert not res.censored.any()
    assert torch.all(res.dist.double() >= truth - 1e-4)      # a point of another class
    assert torch.allclose(res.dist.double(), truth, rtol=1e-3, atol=2e-4)
    # the refined point is at most the attack's own point, and of another class
    assert torch.all(res.dist <= res.extra["attack_l2"] + 1e-6)
    pts = x + res.dist.view(-1, 1, 1, 1) * res.extra["direction"]
    with torch.no_grad():
        assert torch.all(model(pts).argmax(1) == res.end_class)
        assert torch.all(res.end_class != model(x).argmax(1))
    assert res.extra["method"] == "attack" and res.extra["steps"] == 100
    assert res.evaluations >= len(x)


@pytest.mark.parametrize("attack", ATTACKS)
def test_many_classes_the_attack_is_an_upper_bound(attack):
    """With K > 2 an untargeted attack may cross into a class that is not the nearest one:
    never below the closed form; DeepFool (which compares every class's linearised distance)
    and FMN are tight on most images."""
    model, lin = _linear(k=6, seed=2)
    x = torch.rand(20, 1, 4, 4)
    res = nearest_boundary(model, x, attack=attack, steps=100, tol=1e-4)
    truth = _closed_form(lin, x)
    assert torch.all(res.dist.double() >= truth - 1e-4)
    tight = (res.dist.double() - truth).abs() <= 1e-3 * truth + 2e-4
    if attack in ("deepfool", "fmn"):
        assert tight.float().mean() >= 0.8


def test_nearest_boundary_is_never_above_bd_along_any_direction():
    """DeepFool is exact on a linear map (it compares every class's distance), so its bound is
    the minimum: never above the BD along any direction. DDN is only an upper bound with more
    than two classes (above) and may exceed the BD along a near-optimal direction."""
    model, lin = _linear(k=3, seed=1)
    x = torch.rand(6, 1, 4, 4)
    nb = nearest_boundary(model, x, attack="deepfool", steps=100, tol=1e-4).dist.double()
    for seed in range(5):
        d = random_directions(x.shape[1:], [seed * 100 + i for i in range(len(x))])
        bd = exact_boundary_distance(model, x, d, max_dist=1e3).dist.double()
        ok = ~torch.isnan(bd)
        assert ok.any()
        assert torch.all(nb[ok] <= bd[ok] + 1e-4)
    # along the nearest direction itself BD equals it
    d = lin.weight.detach()[0] - lin.weight.detach()[1]
    assert torch.all(nb <= exact_boundary_distance(
        model, x, d.view(1, 1, 4, 4).expand_as(x).clone(), max_dist=1e3).dist.double().nan_to_num(
            math.inf) + 1e-4)


def test_clipped_attack_stays_in_the_unit_box_and_bad_settings_are_refused():
    model, _ = _linear()
    x = torch.rand(4, 1, 4, 4)
    res = nearest_boundary(model, x, steps=20, clip=True)
    ok = ~res.censored
    pts = x[ok] + res.dist[ok].view(-1, 1, 1, 1) * res.extra["direction"][ok]
    assert pts.min() >= -1e-5 and pts.max() <= 1 + 1e-5
    assert "clipped to [0, 1]" in res.extra["budget"] and "100" not in res.extra["budget"]
    assert "overshoot 0.02" in attack_budget("deepfool", 50, 1e-3)
    with pytest.raises(RAExplorerError, match="nearest-boundary attack"):
        nearest_boundary(model, x, attack="cw")
    with pytest.raises(RAExplorerError, match="steps >= 1"):
        nearest_boundary(model, x, steps=0)


def test_a_constant_classifier_is_censored():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([1.0, 0.0, 0.0]))
    res = nearest_boundary(model, torch.rand(3, 1, 4, 4), steps=5)
    assert res.censored.all() and torch.isnan(res.dist).all()
    assert torch.all(res.end_class == -1)


def test_lpips_unit_bd_is_zero_at_x_and_grows_along_the_ray(tiny_zoo):
    assert default_perceptual("clf-a", tiny_zoo, SYNTH) == "lpips-clf-a"
    assert default_perceptual("clf-robust", tiny_zoo, SYNTH) == "rlpips-clf-robust"
    metric = perceptual_metric("lpips-clf-a", tiny_zoo, SYNTH, "cpu")
    torch.manual_seed(0)
    x = torch.rand(8, 1, 28, 28)
    d = random_directions(x.shape[1:], range(8))
    values = [perceptual_distances(metric, x, d, torch.full((8,), t))
              for t in (0.0, 0.5, 2.0, 8.0)]
    assert torch.allclose(values[0], torch.zeros(8), atol=1e-6)
    for a, b in zip(values, values[1:]):
        assert torch.all(b > a)
    # censored crossings stay NaN; points outside [0, 1] are measured (unclipped search)
    out = perceptual_distances(metric, x, d, torch.tensor([math.nan] + [30.0] * 7))
    assert math.isnan(out[0]) and torch.isfinite(out[1:]).all()
    with pytest.raises(RAExplorerError, match="perceptual distance"):
        perceptual_metric("psnr", tiny_zoo, SYNTH)
    with pytest.raises(RAExplorerError, match="nobody"):
        default_perceptual("nobody", tiny_zoo, SYNTH)
