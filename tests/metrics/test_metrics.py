import math

import numpy as np
import pytest
import torch

from analysis.errors import RAExplorerError, UnknownNameError
from analysis.metrics.pixel import universal_quality_index
from analysis.metrics.registry import METRICS, create_metric, list_metrics
from analysis.metrics.spec import MetricUnavailableError

LIBRARY = ["psnr", "ssim", "ms-ssim", "gmsd", "vif-p", "fsim", "haarpsi", "uqi", "mse"]


def image(channels=1, size=28, n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, channels, size // 4, size // 4, generator=g)
    smooth = torch.nn.functional.interpolate(base, size=(size, size), mode="bicubic")
    return (smooth * 0.7 + 0.15 + 0.05 * torch.rand(n, channels, size, size, generator=g)).clamp(0, 1)


def noisy(x, sigma, seed=1):
    return (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def best_value(name):
    return {"psnr": None, "gmsd": 0.0, "mse": 0.0}.get(name, 1.0)


@pytest.mark.parametrize("name", LIBRARY)
@pytest.mark.parametrize("channels", [1, 3])
def test_identical_images_get_the_best_value(name, channels):
    x = image(channels)
    values = create_metric(name, device="cpu")(x, x)
    assert values.shape == (3,)
    if name == "psnr":
        assert float(values.min()) >= 60
    else:
        assert torch.allclose(values, torch.full_like(values, best_value(name)), atol=1e-4)


@pytest.mark.parametrize("name", LIBRARY)
@pytest.mark.parametrize("channels", [1, 3])
def test_monotone_in_noise_level(name, channels):
    metric = create_metric(name, device="cpu")
    x = image(channels)
    scores = [float(metric(noisy(x, s), x).mean()) for s in (0.0, 0.02, 0.05, 0.1, 0.2)]
    pairs = list(zip(scores, scores[1:]))
    if METRICS[name].lower_better:
        assert all(a < b for a, b in pairs), scores
    else:
        assert all(a > b for a, b in pairs), scores


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_and_ssim_agree_with_scikit_image(channels):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    x = image(channels, size=32)
    y = noisy(x, 0.05)
    ours_psnr = create_metric("psnr", device="cpu")(y, x)
    ours_ssim = create_metric("ssim", device="cpu")(y, x)
    for i in range(len(x)):
        a, b = x[i].permute(1, 2, 0).numpy(), y[i].permute(1, 2, 0).numpy()
        ref_psnr = peak_signal_noise_ratio(a, b, data_range=1.0)
        ref_ssim = structural_similarity(a, b, data_range=1.0, channel_axis=2,
                                         gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        assert abs(float(ours_psnr[i]) - ref_psnr) < 1e-3        # dB
        # piq averages over 'valid' windows only, scikit-image crops 5 px: <= 0.01 apart
        assert abs(float(ours_ssim[i]) - ref_ssim) < 0.01


@pytest.mark.parametrize("name,function,options", [
    ("psnr", "psnr", {}), ("gmsd", "gmsd", {}),
    ("haarpsi", "haarpsi", {}), ("fsim", "fsim", {"chromatic": True})])
def test_piq_backed_metrics_equal_direct_piq_calls(name, function, options):
    import piq

    x, y = image(3, size=48), noisy(image(3, size=48), 0.05)
    direct = getattr(piq, function)(y, x, data_range=1.0, reduction="none", **options)
    assert torch.allclose(create_metric(name, device="cpu")(y, x), direct, atol=1e-6)


@pytest.mark.parametrize("channels,shape", [(1, (28, 28)), (3, (48, 61)), (1, (400, 390))])
def test_separable_ssim_equals_piq_ssim_including_its_downsampling(channels, shape):
    import piq

    torch.manual_seed(0)
    x = torch.rand(2, channels, *shape)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)   # 400 px: piq average-pools by 2 first
    # the reference in float64: float32 rounding differs by up to 1e-4 between the two
    # filter orders on low-variance windows, and both agree with the float64 value
    direct = piq.ssim(y.double(), x.double(), data_range=1.0, reduction="none").float()
    assert torch.allclose(create_metric("ssim", device="cpu")(y, x), direct, atol=1e-5)


def test_ssim_enlarges_images_below_its_window():
    import piq

    x, y = image(1, size=7), noisy(image(1, size=7), 0.05)
    up = lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")
    direct = piq.ssim(up(y).double(), up(x).double(), data_range=1.0, reduction="none").float()
    assert torch.allclose(create_metric("ssim", device="cpu")(y, x), direct, atol=1e-5)


def test_small_images_are_enlarged_by_an_integer_nearest_factor():
    import piq

    x, y = image(1, size=28), noisy(image(1, size=28), 0.05)
    up = lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")
    direct = piq.vif_p(up(y), up(x), data_range=1.0, reduction="none")
    assert torch.allclose(create_metric("vif-p", device="cpu")(y, x), direct, atol=1e-6)


def test_uqi_matches_a_hand_computed_value():
    # one 8x8 window: Q = 4 s_xy m_x m_y / ((s_x^2 + s_y^2)(m_x^2 + m_y^2)), biased moments
    rng = np.random.default_rng(0)
    a = rng.random((8, 8))
    b = np.clip(a + 0.1 * rng.standard_normal((8, 8)), 0, 1)
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(), b.var()
    cab = ((a - ma) * (b - mb)).mean()
    expected = 4 * cab * ma * mb / ((va + vb) * (ma ** 2 + mb ** 2))
    got = universal_quality_index(torch.tensor(b)[None, None], torch.tensor(a)[None, None])
    assert abs(float(got) - expected) < 1e-6
    # a mean shift alone lowers Q through the luminance term only: 2 m_x m_y / (m_x^2 + m_y^2)
    shifted = universal_quality_index(torch.tensor(a + 0.1)[None, None], torch.tensor(a)[None, None])
    assert abs(float(shifted) - 2 * (ma + 0.1) * ma / ((ma + 0.1) ** 2 + ma ** 2)) < 1e-6


def test_uqi_flat_windows():
    flat = torch.full((1, 1, 8, 8), 0.5)
    assert float(universal_quality_index(flat, flat)) == 1.0
    assert abs(float(universal_quality_index(flat * 0.5, flat)) - 0.8) < 1e-6  # 2*.25*.5/(.0625+.25)
    zero = torch.zeros(1, 1, 8, 8)
    assert float(universal_quality_index(zero, zero)) == 1.0


def test_list_metrics_describes_everything():
    specs = {m["name"]: m for m in list_metrics(folder="/nonexistent")}
    assert set(LIBRARY) | {"lpips-alex", "lpips-vgg"} <= set(specs)
    for m in specs.values():
        assert set(m) >= {"name", "lower_better", "range", "needs_weights", "available",
                          "description"}
    assert specs["psnr"]["range"] == [0.0, 80.0] and not specs["psnr"]["lower_better"]
    assert specs["gmsd"]["range"] == [0.0, math.inf] and specs["gmsd"]["lower_better"]
    assert specs["lpips-alex"]["needs_weights"]


def test_unknown_metric_lists_close_names():
    with pytest.raises(UnknownNameError, match="'ssim'"):
        create_metric("ssmi")


def test_out_of_range_input_is_one_sentence():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        create_metric("ssim", device="cpu")(x * 2, x)


def test_shape_mismatch_is_one_sentence():
    with pytest.raises(ValueError, match="same shape"):
        create_metric("psnr", device="cpu")(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 9, 9))


# ----------------------------------------------------------------------------- LPIPS

def _isolate_lpips(monkeypatch, tmp_path):
    for net in ("ALEX", "VGG"):
        monkeypatch.delenv(f"RA_LPIPS_{net}_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("RA_EXPLORER_CONFIG", str(tmp_path / "none.toml"))


def test_lpips_without_trunk_weights_is_unavailable_not_random(monkeypatch, tmp_path):
    _isolate_lpips(monkeypatch, tmp_path)
    spec = {m["name"]: m for m in list_metrics(folder=tmp_path)}["lpips-alex"]
    assert spec["available"] is False
    assert "RA_LPIPS_ALEX_WEIGHTS" in spec["unavailable_reason"]
    with pytest.raises(MetricUnavailableError, match="alexnet-owt-7be5be79.pth"):
        create_metric("lpips-alex", device="cpu")


@pytest.fixture
def fake_alexnet(monkeypatch, tmp_path):
    """torchvision's AlexNet layout with seeded weights, supplied the way a user would."""
    from torchvision.models import alexnet

    _isolate_lpips(monkeypatch, tmp_path)
    torch.manual_seed(0)
    path = tmp_path / "alexnet.pth"
    torch.save(alexnet(weights=None).state_dict(), path)
    monkeypatch.setenv("RA_LPIPS_ALEX_WEIGHTS", str(path))
    return path


def test_lpips_loads_a_supplied_trunk_and_behaves(fake_alexnet):
    import lpips as lpips_pkg

    metric = create_metric("lpips-alex", device="cpu")
    x = image(3, size=64)
    assert torch.allclose(metric(x, x), torch.zeros(3), atol=1e-6)
    scores = [float(metric(noisy(x, s), x).mean()) for s in (0.02, 0.1, 0.3)]
    assert scores[0] < scores[1] < scores[2]
    # the shipped linear layers were loaded: their weights equal the package file
    shipped = torch.load(f"{lpips_pkg.__path__[0]}/weights/v0.1/alex.pth", map_location="cpu",
                         weights_only=True)
    for k in range(5):
        assert torch.equal(metric.fn.model.lins[k].model[1].weight, shipped[f"lin{k}.model.1.weight"])
    trunk = torch.load(fake_alexnet, map_location="cpu", weights_only=True)
    assert torch.equal(metric.fn.model.net.slice1[0].weight, trunk["features.0.weight"])
    gray = create_metric("lpips-alex", device="cpu")(image(1, size=28), image(1, size=28, seed=3))
    assert gray.shape == (3,) and float(gray.min()) > 0


def test_lpips_linear_key_mismatch_is_an_error(fake_alexnet, monkeypatch, tmp_path):
    import lpips as lpips_pkg

    fake_pkg = tmp_path / "pkg"
    (fake_pkg / "weights" / "v0.1").mkdir(parents=True)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)},
               fake_pkg / "weights" / "v0.1" / "alex.pth")
    monkeypatch.setattr(lpips_pkg, "__file__", str(fake_pkg / "__init__.py"))
    with pytest.raises(RAExplorerError, match="linear layers"):
        create_metric("lpips-alex", device="cpu")


def test_lpips_wrong_trunk_file_is_an_error(monkeypatch, tmp_path):
    _isolate_lpips(monkeypatch, tmp_path)
    path = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, path)
    monkeypatch.setenv("RA_LPIPS_ALEX_WEIGHTS", str(path))
    with pytest.raises(RAExplorerError, match="not torchvision's ImageNet alex"):
        create_metric("lpips-alex", device="cpu")


# ----------------------------------------------------------------------------- our classifiers

def test_classifier_lpips_variants_are_registered_and_behave(tiny_zoo):
    specs = {m["name"]: m for m in list_metrics(folder=tiny_zoo)}
    assert "lpips-clf-a" in specs and "rlpips-clf-robust" in specs
    assert "lpips-clf-robust" not in specs
    assert "uncalibrated" in specs["rlpips-clf-robust"]["description"]
    for name in ("lpips-clf-a", "rlpips-clf-robust"):
        metric = create_metric(name, device="cpu", folder=tiny_zoo)
        x = image(1)
        assert torch.allclose(metric(x, x), torch.zeros(3), atol=1e-6)
        scores = [float(metric(noisy(x, s), x).mean()) for s in (0.02, 0.1, 0.3)]
        assert scores[0] < scores[1] < scores[2]
        colour = metric(image(3), image(3, seed=2))  # colour input, grayscale classifier
        assert colour.shape == (3,)


def test_feature_distance_hand_computed_on_a_one_layer_case():
    from analysis.metrics.classifier_distance import feature_distance

    class OneLayer(torch.nn.Module):
        feature_names = ["id"]

        def features(self, x, layers):
            return {"id": x}

    x = torch.tensor([[[[3.0]], [[4.0]]]])          # unit vector (0.6, 0.8)
    y = torch.tensor([[[[1.0]], [[0.0]]]])          # unit vector (1, 0)
    expected = (0.6 - 1) ** 2 + 0.8 ** 2
    assert abs(float(feature_distance(OneLayer(), x, y)) - expected) < 1e-6


@pytest.mark.parametrize("name", ["ssim", "gmsd", "uqi", "psnr"])
def test_out_of_range_is_refused_by_every_backend(name):
    x = torch.rand(1, 1, 48, 48)
    with pytest.raises(ValueError, match=r"needs images in \[0, 1\]"):
        create_metric(name, device="cpu")(x + 1.5, x)


def test_psnr_in_chunks_equals_psnr_of_the_whole_batch(monkeypatch):
    import analysis.metrics.pixel as metrics

    x, y = image(3, size=20, n=7), noisy(image(3, size=20, n=7), 0.05)
    whole = -10 * torch.log10((x - y).pow(2).flatten(1).mean(1) + 1e-8)
    monkeypatch.setattr(metrics, "CHUNK_ELEMENTS", 3 * 20 * 20 * 2)   # 2 images per chunk
    assert torch.equal(metrics.psnr(x, y), whole)


def test_teacher_feature_distance_is_registered_zero_on_identical_images_and_grows(tiny_zoo):
    specs = {m["name"]: m for m in list_metrics(folder=tiny_zoo)}
    assert {"fd-clf-a", "fd-clf-b", "fd-clf-robust"} <= set(specs)
    assert specs["fd-clf-a"]["lower_better"] and "penultimate" in specs["fd-clf-a"]["description"]
    metric = create_metric("fd-clf-a", device="cpu", folder=tiny_zoo)
    x = image(1)
    assert torch.equal(metric(x, x), torch.zeros(3))
    scores = [float(metric(noisy(x, s), x).mean()) for s in (0.02, 0.1, 0.3)]
    assert 0 < scores[0] < scores[1] < scores[2]


def test_teacher_feature_distance_is_the_mean_absolute_penultimate_difference():
    from analysis.metrics.classifier_distance import teacher_feature_distance

    class Penultimate(torch.nn.Module):      # features: the per-channel mean and max
        def penultimate(self, x):
            return torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)

    x = torch.zeros(2, 1, 4, 4)
    y = torch.zeros(2, 1, 4, 4)
    y[0, 0, 0, 0] = 0.8                       # mean 0.05, max 0.8 -> (0.05 + 0.8) / 2
    y[1] = 0.5                                # mean 0.5, max 0.5 -> 0.5
    got = teacher_feature_distance(Penultimate(), x, y)
    assert torch.allclose(got, torch.tensor([0.425, 0.5]))
