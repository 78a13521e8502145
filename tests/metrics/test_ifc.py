"""IFC (analysis.metrics.ifc): the pyramid against pyrtools, the estimates and the information sum
against an independent numpy transcription of the reference code, and the metric's behaviour."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import analysis.metrics.ifc as ifc
from analysis.metrics.registry import METRICS, create_metric, list_metrics


def image(channels=1, size=28, n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, channels, size // 4, size // 4, generator=g)
    smooth = F.interpolate(base, size=(size, size), mode="bicubic")
    return (smooth * 0.7 + 0.15 + 0.05 * torch.rand(n, channels, size, size, generator=g)).clamp(0, 1)


def noisy(x, sigma, seed=1):
    return (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def blurred(x):
    taps = torch.tensor([1.0, 4, 6, 4, 1]) / 16
    k = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k, groups=x.shape[1])


# ----------------------------------------------------------------------------- numpy reference port

def ifcvec_numpy(imorg: np.ndarray, imdist: np.ndarray) -> float:
    """ifcvec.m transcribed line by line (column-major blocks, inv(), eig(), corrDn windows), on
    pyrtools' own pyramid: sum(num) / prod(size(imorg)), no factor 0.5, as the MATLAB returns."""
    import pyrtools as pt
    from pyrtools.pyramids.c.wrapper import corrDn

    M = 3
    org = pt.pyramids.SteerablePyramidSpace(imorg, height=4, order=5, edge_type="reflect1")
    dist = pt.pyramids.SteerablePyramidSpace(imdist, height=4, order=5, edge_type="reflect1")
    # ind2wtree's subbands [4 7 10 13 16 19 22 25] = (level, band) below; lev = ceil((sub-1)/6)
    chosen = [(3, 3, 1), (3, 0, 1), (2, 3, 2), (2, 0, 2), (1, 3, 3), (1, 0, 3), (0, 3, 4), (0, 0, 4)]
    tol = 1e-15
    total = 0.0
    for level, band, lev in chosen:
        y, yn = org.pyr_coeffs[(level, band)], dist.pyr_coeffs[(level, band)]
        winsize = 2 ** lev + 1
        win = np.ones((winsize, winsize))
        newsize = (np.array(y.shape) // M) * M
        y, yn = y[:newsize[0], :newsize[1]].copy(), yn[:newsize[0], :newsize[1]].copy()
        corr = lambda im, w: corrDn(im, w, "reflect1", step=(M, M), start=(1, 1))
        mean_x, mean_y = corr(y, win / win.sum()), corr(yn, win / win.sum())
        cov_xy = corr(y * yn, win) - win.sum() * mean_x * mean_y
        ss_x = corr(y ** 2, win) - win.sum() * mean_x ** 2
        ss_y = corr(yn ** 2, win) - win.sum() * mean_y ** 2
        ss_x[ss_x < 0] = 0
        ss_y[ss_y < 0] = 0
        g = cov_xy / (ss_x + tol)
        vv = (ss_y - g * cov_xy) / win.sum()
        g[ss_x < tol] = 0
        vv[ss_x < tol] = ss_y[ss_x < tol]
        g[ss_y < tol] = 0
        vv[ss_y < tol] = 0
        vv[g < 0] = ss_y[g < 0]
        g[g < 0] = 0
        vv[vv <= tol] = tol
        # refparams_vecgsm: all overlapping blocks for C_U, non-overlapping ones for s^2
        rows = [y[k:y.shape[0] - (M - k - 1), j:y.shape[1] - (M - j - 1)].reshape(-1, order="F")
                for j in range(M) for k in range(M)]
        temp = np.array(rows)
        mcu = temp.mean(axis=1, keepdims=True)
        cu = (temp - mcu) @ (temp - mcu).T / temp.shape[1]
        temp = np.array([y[k::M, j::M].reshape(-1, order="F") for j in range(M) for k in range(M)])
        ss = (np.linalg.inv(cu) @ temp * temp).sum(0) / (M * M)
        ss = ss.reshape(newsize // M, order="F")
        lam = np.linalg.eigvalsh(cu)
        offset = math.ceil((winsize - 1) / 2 / M)
        crop = (slice(offset, -offset), slice(offset, -offset))
        g, vv, ss = g[crop], vv[crop], ss[crop]
        for j in range(len(lam)):
            total += np.log2(1 + g * g * ss * lam[j] / (vv + 1e-10)).sum()
    return total / imorg.size


def test_pyramid_equals_pyrtools_steerable_pyramid_space():
    import pyrtools as pt

    x = image(1, size=80, n=2, seed=3).double() * 255
    x = x[..., :, :75]                                      # non-square, odd width
    levels = ifc.steerable_subbands(x, orientations=range(6))
    assert [tuple(t.shape[-2:]) for t in levels] == [(80, 75), (40, 38), (20, 19), (10, 10)]
    for i in range(2):
        pyr = pt.pyramids.SteerablePyramidSpace(x[i, 0].numpy(), height=4, order=5,
                                                edge_type="reflect1")
        for level, bands in enumerate(levels):
            for b in range(6):
                np.testing.assert_allclose(bands[i, b].numpy(), pyr.pyr_coeffs[(level, b)],
                                           rtol=0, atol=1e-9)


def test_ifc_equals_the_numpy_port_of_ifcvec():
    x, y = noisy(image(1, size=24, n=1), 0.05), image(1, size=24, n=1)
    up = lambda t: F.interpolate(t, scale_factor=3, mode="nearest")   # 72 x 72
    ours = float(ifc.information_fidelity(up(x), up(y)))
    reference = ifcvec_numpy(up(y)[0, 0].double().numpy() * 255, up(x)[0, 0].double().numpy() * 255)
    # ifcvec.m = 2 * IFC / (H * W): the paper's factor 0.5 and no division by the pixel count
    assert ours == pytest.approx(reference * 72 * 72 / 2, rel=1e-9)
    assert ours > 0


def test_subband_information_hand_computed():
    # one kept block: g = 2, s^2 = 1.5, sigma_v^2 + 1e-10 = 3, eigenvalues 1 and 7:
    # g^2 s^2 / sigma_v^2 = 2, so 0.5 * (log2(1 + 2) + log2(1 + 14)) = 0.5 * log2(45) bits
    g, ss = torch.full((1, 1, 1), 2.0, dtype=torch.float64), torch.full((1, 1, 1), 1.5, dtype=torch.float64)
    vv = torch.full((1, 1, 1), 3.0 - 1e-10, dtype=torch.float64)
    lambdas = torch.tensor([[1.0, 7.0]], dtype=torch.float64)
    value = float(ifc.subband_information(g, vv, ss, lambdas))
    assert value == pytest.approx(0.5 * math.log2(45), rel=1e-12)   # = 2.746 bits
    assert abs(value - 0.5 * math.log(45)) > 0.5 and abs(value - math.log2(45)) > 1


def test_one_subband_estimates_by_hand_on_a_tiny_subband():
    """g, sigma_v^2, s^2 and lambda of a 6 x 6 subband, each block's window written out (window
    3: the block's own 3 x 3 pixels, no border involved), against the module."""
    rng = np.random.default_rng(0)
    c = rng.normal(size=(6, 6))
    d = 0.5 * c + 0.3 * rng.normal(size=(6, 6))
    g, vv = ifc.channel_parameters(torch.tensor(c)[None], torch.tensor(d)[None], window=3)
    ss, lambdas = ifc.gsm_parameters(torch.tensor(c)[None])
    blocks = [(0, 0), (0, 3), (3, 0), (3, 3)]
    for (r, k) in blocks:
        a, b = c[r:r + 3, k:k + 3].ravel(), d[r:r + 3, k:k + 3].ravel()
        cov = ((a - a.mean()) * (b - b.mean())).sum()
        var_a, var_b = ((a - a.mean()) ** 2).sum(), ((b - b.mean()) ** 2).sum()
        gain = cov / var_a
        assert float(g[0, r // 3, k // 3]) == pytest.approx(gain, rel=1e-10)
        assert float(vv[0, r // 3, k // 3]) == pytest.approx((var_b - gain * cov) / 9, rel=1e-10)
    patches = np.array([c[i:i + 3, j:j + 3].ravel() for i in range(4) for j in range(4)])
    cu = np.cov(patches.T, bias=True)
    np.testing.assert_allclose(lambdas[0].numpy(), np.linalg.eigvalsh(cu), rtol=1e-10)
    for (r, k) in blocks:
        u = c[r:r + 3, k:k + 3].ravel()
        assert float(ss[0, r // 3, k // 3]) == pytest.approx(u @ np.linalg.solve(cu, u) / 9, rel=1e-8)


# ----------------------------------------------------------------------------- behaviour

def test_identical_images_get_the_largest_value():
    metric = create_metric("ifc", device="cpu")
    x = image(1, n=1, seed=5)
    same = float(metric(x, x))
    distorted = {"noise 0.01": noisy(x, 0.01), "noise 0.05": noisy(x, 0.05), "blur": blurred(x),
                 "contrast 0.8": 0.8 * x + 0.1, "quantised to 8 levels": torch.round(x * 7) / 7,
                 "shifted and clipped": (x + 0.2).clamp(0, 1)}
    for name, d in distorted.items():
        value = float(metric(d, x))
        assert 0 <= value < same, (name, value, same)


@pytest.mark.parametrize("channels", [1, 3])
def test_monotone_decreasing_in_gaussian_noise(channels):
    metric = create_metric("ifc", device="cpu")
    x = image(channels, n=2)
    scores = [float(metric(noisy(x, s), x).mean()) for s in (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    assert scores[-1] > 0


def test_batched_equals_per_image_and_chunks_do_not_matter(monkeypatch):
    metric = create_metric("ifc", device="cpu")
    y = image(1, n=5, seed=2)
    x = torch.cat([noisy(y[:2], 0.03), blurred(y[2:4]), y[4:]])
    batched = metric(x, y)
    single = torch.cat([metric(x[i:i + 1], y[i:i + 1]) for i in range(5)])
    assert batched.shape == (5,) and batched.dtype == torch.float32
    assert torch.allclose(batched, single, rtol=1e-6)
    monkeypatch.setattr(ifc, "CHUNK_PIXELS", 2 * 84 * 84)   # 2 images per chunk
    assert torch.allclose(metric(x, y), batched, rtol=1e-6)


def test_registry_lists_and_builds_ifc():
    specs = {m["name"]: m for m in list_metrics(folder="/nonexistent")}
    assert specs["ifc"]["range"] == [0.0, math.inf] and not specs["ifc"]["lower_better"]
    assert specs["ifc"]["available"] and not specs["ifc"]["needs_weights"]
    assert METRICS["ifc"].min_size == ifc.MIN_SIZE == 72
    metric = create_metric("ifc", device="cpu")
    for channels in (1, 3):
        x = image(channels, n=4)
        values = metric(noisy(x, 0.05), x)
        assert values.shape == (4,) and torch.isfinite(values).all() and (values >= 0).all()


def test_registry_enlarges_small_images_and_uses_luminance():
    x = image(3, n=2)
    y = noisy(x, 0.05)
    up = lambda t: F.interpolate(ifc.luminance(t), scale_factor=3, mode="nearest")   # 28 -> 84
    direct = ifc.information_fidelity(up(y), up(x)).float()
    assert torch.allclose(create_metric("ifc", device="cpu")(y, x), direct, rtol=1e-6)


def test_too_small_images_are_refused_by_the_function():
    with pytest.raises(ValueError, match="at least 72"):
        ifc.information_fidelity(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64))


def test_blank_reference_carries_no_information():
    blank = torch.full((1, 1, 28, 28), 0.5)
    assert float(create_metric("ifc", device="cpu")(noisy(blank, 0.1), blank)) == 0.0
