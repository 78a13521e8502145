"""Image-quality metrics by name: one registry, one factory, one listing.

``create_metric(name, device=None)`` returns a callable ``m(x, y) -> Tensor[N]``
for ``x`` (distorted) and ``y`` (reference) in [0, 1] of shape (N, C, H, W),
C = 1 or 3. ``list_metrics()`` describes every metric: name, lower_better,
value range, needs_weights, available (and why not) and a one-line description.

Library-backed: MS-SSIM, GMSD, VIF-p, FSIM, HaarPSI (piq), LPIPS (the lpips
package with its shipped linear layers). PSNR and SSIM compute piq's
definitions (SSIM: Gaussian window 11 taps, sigma 1.5, K1 0.01, K2 0.03,
'valid' borders, piq's average-pool downsampling by round(min side / 256))
with fewer operations: SSIM filters with the separable 1-D Gaussian, all five
local moments in one grouped pass (tests hold both equal to piq).
Hand-written: UQI (Wang & Bovik 2002; in none of the libraries), IFC (Sheikh, Bovik &
de Veciana 2005, on pyrtools' steerable pyramid: ``ifc``) and the LPIPS-style distances on the
project's own classifiers.

Grayscale and colour: piq's metrics take 1 or 3 channels (GMSD, VIF-p and
HaarPSI use the luminance of colour images, and so does IFC; FSIM uses its chromatic term only
for colour). Metrics built for RGB (LPIPS on ImageNet trunks) see a grayscale
image repeated over three channels; the project's classifiers see their own
channel count (colour -> luminance with BT.601 weights, grayscale -> repeated).

Small images: metrics with a minimum input size (SSIM 11 px, MS-SSIM 161 px at 5 scales,
VIF-p 41 px, IFC 72 px, LPIPS-AlexNet 32 px, LPIPS-VGG 16 px) see both images enlarged by the
smallest integer nearest-neighbour factor that reaches it; no pixel values are invented.

No metric downloads anything, and none runs with random weights: a metric
whose weights are absent is listed as unavailable with the sentence that
says how to supply them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..config import settings
from ..errors import InputError, RAExplorerError, unknown_name

RANGE_TOLERANCE = 1e-4   # values this far outside [0, 1] (float rounding) are clamped, not refused


class MetricUnavailableError(RAExplorerError):
    """The metric needs weights that are not on this machine; the message says how to supply them."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    lower_better: bool
    value_range: tuple[float, float]
    description: str
    build: Callable[..., Callable]           # build(device) -> fn(x, y) -> Tensor[N]
    needs_weights: bool = False
    available: Callable[[], tuple[bool, str]] = field(default=lambda: (True, ""))
    min_size: int = 0

    def describe(self) -> dict:
        ok, why = self.available()
        return {"name": self.name, "lower_better": self.lower_better,
                "range": list(self.value_range), "needs_weights": self.needs_weights,
                "available": ok, "unavailable_reason": why or None,
                "description": self.description}


class Metric:
    """A ready metric: validates inputs, fits sizes, runs on its device, returns (N,) on CPU."""

    def __init__(self, spec: MetricSpec, fn: Callable, device: torch.device):
        self.spec = spec
        self.fn = fn
        self.device = device

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Values (N,) for distorted ``x`` and reference ``y``, both (N, 1 or 3, H, W) in [0, 1].

        Refuses (InputError, a ValueError, one sentence) anything else: non-tensors, integer
        images, other shapes, NaN and values outside [0, 1] by more than RANGE_TOLERANCE.
        """
        for t in (x, y):
            if not isinstance(t, torch.Tensor):
                raise InputError(f"Metric {self.name!r} needs torch tensors; got "
                                 f"{type(t).__name__}.")
            if not t.is_floating_point():
                raise InputError(self._range_message(f"{t.dtype} values (convert to float and "
                                                     "divide by 255 first)"))
        if (x.shape != y.shape or x.ndim != 4 or x.shape[1] not in (1, 3)
                or min(x.shape, default=0) == 0):
            raise InputError(f"Metric {self.name!r} needs two images of the same shape "
                             f"(N, 1 or 3, H, W); got {tuple(x.shape)} and {tuple(y.shape)}.")
        x = x.to(self.device, torch.float32)
        y = y.to(self.device, torch.float32)
        checked = []
        for which, t in (("distorted", x), ("reference", y)):
            low, high = (float(v) for v in torch.aminmax(t))   # NaN propagates into both
            if math.isnan(low) or math.isnan(high):
                raise InputError(f"Metric {self.name!r} got NaN values in the {which} images; "
                                 "images must be finite numbers in [0, 1].")
            if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
                raise InputError(self._range_message(f"[{low:.3g}, {high:.3g}] in the {which} "
                                                     "images"))
            checked.append(t.clamp(0, 1) if low < 0 or high > 1 else t)
        x, y = checked
        if self.spec.min_size:
            factor = math.ceil(self.spec.min_size / min(x.shape[-2:]))
            if factor > 1:
                x = F.interpolate(x, scale_factor=factor, mode="nearest")
                y = F.interpolate(y, scale_factor=factor, mode="nearest")
        with torch.inference_mode():
            try:
                return self.fn(x, y).reshape(-1).to("cpu", torch.float32)
            except AssertionError as exc:  # piq's input checks
                raise InputError(self._range_message(str(exc))) from None

    def _range_message(self, detail: str) -> str:
        return (f"Metric {self.name!r} needs images in [0, 1] of shape (N, 1 or 3, H, W); "
                f"got {detail} (clamp them first).")


# ----------------------------------------------------------------------------- piq-backed metrics

def _piq(function: str, **options) -> Callable:
    def build(device):
        import piq

        fn = getattr(piq, function)
        return lambda x, y: fn(x, y, data_range=1.0, reduction="none", **options)
    return build


def _fsim(device):
    import piq

    return lambda x, y: piq.fsim(x, y, data_range=1.0, reduction="none", chromatic=x.shape[1] == 3)


CHUNK_ELEMENTS = 1 << 18   # largest temporary of PSNR / SSIM, in values (1 MiB of float32)


def in_chunks(fn: Callable, x: torch.Tensor, y: torch.Tensor, expansion: int = 1) -> torch.Tensor:
    """``fn(x, y) -> (N,)`` over consecutive chunks of the batch, each small enough that a
    temporary of ``expansion`` times its values stays within ``CHUNK_ELEMENTS``.

    Temporaries that size are reused by the allocator, while batch-sized ones can be
    fresh memory at every call (benchmarks/bench_metric_variants.py). Valid for
    metrics computed per image only.
    """
    per_chunk = max(1, CHUNK_ELEMENTS // max(1, expansion * x[0].numel()))
    if len(x) <= per_chunk:
        return fn(x, y)
    return torch.cat([fn(a, b) for a, b in zip(x.split(per_chunk), y.split(per_chunk))])


def _psnr_of_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -10 * torch.log10((x - y).pow(2).flatten(1).mean(1) + 1e-8)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR in dB for peak 1: -10 log10(MSE + 1e-8), per image over all channels.

    The same formula and constant as piq.psnr, without its input copies; equal
    to scikit-image's peak_signal_noise_ratio(data_range=1) except for the
    1e-8 that caps identical images at 80 dB. Computed :func:`in_chunks`.
    """
    return in_chunks(_psnr_of_batch, x, y)


def _psnr(device):
    return psnr


def _gaussian_taps(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussian, shape (size,); its outer product is piq's 2-D window."""
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    taps = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return taps / taps.sum()


def gaussian_blur(t: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Each channel of ``t`` (N, C, H, W) filtered by the separable window ``taps`` (K,),
    'valid' borders: shape (N, C, H - K + 1, W - K + 1)."""
    g, k = t.shape[1], len(taps)
    t = F.conv2d(t, taps.view(1, 1, 1, -1).expand(g, 1, 1, k), groups=g)
    return F.conv2d(t, taps.view(1, 1, -1, 1).expand(g, 1, k, 1), groups=g)


def ssim_from_moments(mu_x, mu_y, xx, yy, xy, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per image (N,) from the local moments E[x], E[y], E[x^2], E[y^2], E[xy], each of
    shape (N, C, h, w): the SSIM map averaged over pixels, then channels."""
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    c1, c2 = k1 ** 2, k2 ** 2
    cs = (2 * (xy - mu_xy) + c2) / ((xx - mu_xx) + (yy - mu_yy) + c2)
    ssim_map = (2 * mu_xy + c1) / (mu_xx + mu_yy + c1) * cs
    return ssim_map.mean(dim=(-1, -2)).mean(dim=1)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per image, shape (N,), for x, y in [0, 1] of shape (N, C, H >= 11, W >= 11).

    piq.ssim's definition (Wang et al. 2004 with a Gaussian window, 'valid'
    borders, mean over pixels then channels, average-pool downsampling by
    round(min(H, W) / 256) when that exceeds 1), computed with the separable
    Gaussian (two 1-D passes instead of an 11 x 11 convolution) over the five
    local moments x, y, x^2, y^2, xy stacked into one tensor (measured faster
    than filtering them one at a time: benchmarks/bench_metric_variants.py),
    :func:`in_chunks` of the batch.
    """
    def of_batch(x, y):
        factor = max(1, round(min(x.shape[-2:]) / 256))
        if factor > 1:
            x, y = F.avg_pool2d(x, factor), F.avg_pool2d(y, factor)
        taps = _gaussian_taps(window, sigma, x)
        moments = gaussian_blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), taps)
        return ssim_from_moments(*moments.chunk(5, dim=1), k1=k1, k2=k2)

    return in_chunks(of_batch, x, y, expansion=5)


def _ssim(device):
    return ssim


def _ifc(device):
    from .ifc import information_fidelity

    return information_fidelity


def _mse(device):
    return lambda x, y: (x - y).pow(2).flatten(1).mean(1)


def _flip(device):
    from .flip import mean_flip

    return mean_flip


def _hf_mse(device):
    from .artifacts import high_frequency_mse

    return high_frequency_mse


# ----------------------------------------------------------------------------- UQI (Wang & Bovik 2002)

def universal_quality_index(x: torch.Tensor, y: torch.Tensor, window: int = 8) -> torch.Tensor:
    """UQI: mean over sliding ``window`` x ``window`` windows (stride 1) and channels of

        Q = 4 s_xy m_x m_y / ((s_x^2 + s_y^2) (m_x^2 + m_y^2)),

    with s the (biased, 1/n) standard deviations and covariance within the
    window. Where the denominator vanishes: both factors zero -> Q = 1 (two
    identical flat windows); only the variance factor zero -> Q = 2 m_x m_y /
    (m_x^2 + m_y^2); only the mean factor zero -> Q = 2 s_xy / (s_x^2 + s_y^2).
    x, y: (N, C, H, W) -> (N,).
    """
    n, c, h, w = x.shape
    k = min(window, h, w)
    x, y = x.double(), y.double()  # flat windows must give exactly zero variance
    pool = lambda t: F.avg_pool2d(t, k, stride=1)
    mx, my = pool(x), pool(y)
    vx = (pool(x * x) - mx * mx).clamp_min(0)
    vy = (pool(y * y) - my * my).clamp_min(0)
    cxy = pool(x * y) - mx * my
    var_sum, mean_sq = vx + vy, mx * mx + my * my
    eps = 1e-12
    zero_var, zero_mean = var_sum <= eps, mean_sq <= eps
    q = 4 * cxy * mx * my / (var_sum * mean_sq).clamp_min(eps)
    q = torch.where(zero_var & ~zero_mean, 2 * mx * my / mean_sq.clamp_min(eps), q)
    q = torch.where(~zero_var & zero_mean, 2 * cxy / var_sum.clamp_min(eps), q)
    q = torch.where(zero_var & zero_mean, torch.ones_like(q), q)
    return q.flatten(1).mean(1).float()


def _uqi(device):
    return universal_quality_index


# ----------------------------------------------------------------------------- LPIPS (lpips package)

LPIPS_TRUNKS = {  # net -> torchvision's file name of the ImageNet trunk weights
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
}


def lpips_trunk_path(net: str) -> Path | None:
    """Where the ImageNet trunk of ``lpips-<net>`` is: env var, config file, or torch hub cache."""
    candidates = [os.environ.get(f"RA_LPIPS_{net.upper()}_WEIGHTS"),
                  settings().get("lpips", {}).get(net)]
    torch_home = os.environ.get("TORCH_HOME", os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"))
    candidates.append(os.path.join(torch_home, "hub", "checkpoints", LPIPS_TRUNKS[net]))
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def _lpips_available(net: str) -> Callable[[], tuple[bool, str]]:
    def check():
        if lpips_trunk_path(net):
            return True, ""
        return False, (f"lpips-{net} needs torchvision's ImageNet {net} weights "
                       f"({LPIPS_TRUNKS[net]}), which are not on this machine; put the file in "
                       f"~/.cache/torch/hub/checkpoints/ or set RA_LPIPS_{net.upper()}_WEIGHTS "
                       "to its path (or [lpips] in ra-explorer.toml).")
    return check


def build_lpips(net: str, device, trunk_path: Path | None = None):
    """The lpips package's LPIPS with its shipped linear layers and a local ImageNet trunk.

    Both loads are strict: a missing or unexpected key is an error, never a
    silently random layer.
    """
    import warnings

    import lpips

    trunk_path = trunk_path or lpips_trunk_path(net)
    if trunk_path is None:
        raise MetricUnavailableError(_lpips_available(net)()[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lpips passes torchvision's deprecated 'pretrained'
        model = lpips.LPIPS(net=net, pretrained=False, pnet_rand=True, verbose=False)
    lin_path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    lin_state = torch.load(lin_path, map_location="cpu", weights_only=True)
    result = model.load_state_dict(lin_state, strict=False)
    def aliased(key):  # lpips keeps lin0..lin4 twice: as attributes and in the list 'lins'
        parts = key.split(".")
        return parts[0] == "lins" and ".".join([f"lin{parts[1]}"] + parts[2:]) in lin_state

    lin_missing = [k for k in result.missing_keys if k.startswith("lin") and not aliased(k)]
    if lin_missing or result.unexpected_keys:
        raise RAExplorerError(f"The LPIPS linear layers in {lin_path} do not fit lpips-{net}: "
                              f"missing {lin_missing[:3]}, unexpected {result.unexpected_keys[:3]}.")
    trunk = torch.load(trunk_path, map_location="cpu", weights_only=True)
    mapped = {}
    for key in model.net.state_dict():
        _, index, param = key.split(".")            # sliceK.IDX.param
        source = f"features.{index}.{param}"
        if source not in trunk or trunk[source].shape != model.net.state_dict()[key].shape:
            raise RAExplorerError(f"{trunk_path} is not torchvision's ImageNet {net} "
                                  f"(no tensor {source} of the right shape).")
        mapped[key] = trunk[source]
    model.net.load_state_dict(mapped, strict=True)
    model = model.to(device).eval()

    def fn(x, y):
        if x.shape[1] == 1:
            x, y = x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1)
        return model(x, y, normalize=True)  # normalize: [0, 1] -> [-1, 1]
    fn.model = model
    return fn


# ----------------------------------------------------------------------------- distances on our classifiers

def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.repeat(1, 3, 1, 1)
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def feature_distance(classifier, x: torch.Tensor, y: torch.Tensor, layers=None) -> torch.Tensor:
    """LPIPS-style distance with unit weights (uncalibrated), shape (N,).

    At each layer, features are normalised to unit L2 norm over channels at
    every position; the squared difference is summed over channels, averaged
    over positions, and the layers are averaged.
    """
    layers = list(layers or classifier.feature_names)
    fx, fy = classifier.features(x, layers), classifier.features(y, layers)
    total = 0
    for name in layers:
        a = fx[name] / (fx[name].norm(dim=1, keepdim=True) + 1e-10)
        b = fy[name] / (fy[name].norm(dim=1, keepdim=True) + 1e-10)
        total = total + (a - b).pow(2).sum(1).flatten(1).mean(1)
    return total / len(layers)


def _classifier_metric(card: dict):
    def build(device):
        from ..zoo.checkpoints import load_checkpoint

        model, _ = load_checkpoint(card["path"], device=device)
        channels = model.mean.shape[1]
        return lambda x, y: feature_distance(model, match_channels(x, channels),
                                             match_channels(y, channels))
    return build


def classifier_metrics(folder=None, dataset: str | None = None) -> dict[str, MetricSpec]:
    """``lpips-<classifier>`` for every classifier checkpoint, ``rlpips-<c>`` for robust ones."""
    from ..zoo.catalogue import find_checkpoints

    specs = {}
    filters = {"dataset": dataset} if dataset else {}
    for card in find_checkpoints(folder, kind="classifier", **filters):
        robust = bool((card.get("training") or {}).get("adversarial"))
        prefix = "rlpips" if robust else "lpips"
        name = f"{prefix}-{card['name']}"
        kind = "adversarially robust " if robust else ""
        specs[name] = MetricSpec(
            name, True, (0.0, 2.0),
            f"uncalibrated LPIPS-style distance (unit weights, not BAPPS-trained) on the "
            f"{kind}classifier {card['name']} ({card['arch']}, {card.get('dataset')})",
            _classifier_metric(card))
    return specs


# ----------------------------------------------------------------------------- the registry

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in [
    MetricSpec("psnr", False, (0.0, 80.0), "peak signal-to-noise ratio in dB (peak 1; piq's "
               "formula, capped at 80 dB)", _psnr),
    MetricSpec("ssim", False, (0.0, 1.0), "SSIM, Gaussian window 11 / sigma 1.5 (piq's "
               "definition, separable filtering)", _ssim, min_size=11),
    MetricSpec("ms-ssim", False, (0.0, 1.0), "multi-scale SSIM, 5 scales (piq)",
               _piq("multi_scale_ssim"), min_size=161),
    MetricSpec("gmsd", True, (0.0, math.inf), "gradient magnitude similarity deviation (piq)",
               _piq("gmsd")),
    MetricSpec("vif-p", False, (0.0, math.inf), "pixel-domain visual information fidelity (piq)",
               _piq("vif_p"), min_size=41),
    MetricSpec("ifc", False, (0.0, math.inf), "information fidelity criterion in bits (Sheikh, "
               "Bovik & de Veciana 2005; pyrtools' sp5 steerable pyramid, 4 levels x 2 "
               "orientations, 3x3 GSM blocks; luminance)", _ifc, min_size=72),
    MetricSpec("fsim", False, (0.0, 1.0), "feature similarity index (piq)", _fsim),
    MetricSpec("haarpsi", False, (0.0, 1.0), "Haar wavelet perceptual similarity (piq)",
               _piq("haarpsi")),
    MetricSpec("uqi", False, (-1.0, 1.0), "universal quality index, 8x8 windows (Wang & Bovik 2002)",
               _uqi),
    MetricSpec("mse", True, (0.0, 1.0), "mean squared error on [0, 1] pixels", _mse),
    MetricSpec("hf-mse", True, (0.0, 1.0), "the part of the MSE at radial frequencies above "
               "0.25 cycles/pixel (an indicator of echo / ringing artifacts)", _hf_mse),
    MetricSpec("flip", True, (0.0, 1.0), "NVIDIA's FLIP, mean of its perceptual difference map "
               "(67 pixels per degree; flip-evaluator)", _flip),
    MetricSpec("lpips-alex", True, (0.0, math.inf),
               "LPIPS v0.1, AlexNet trunk (BAPPS-calibrated; needs ImageNet weights)",
               lambda device: build_lpips("alex", device), needs_weights=True,
               available=_lpips_available("alex"), min_size=32),
    MetricSpec("lpips-vgg", True, (0.0, math.inf),
               "LPIPS v0.1, VGG-16 trunk (BAPPS-calibrated; needs ImageNet weights)",
               lambda device: build_lpips("vgg", device), needs_weights=True,
               available=_lpips_available("vgg"), min_size=16),
]}


def all_specs(folder=None, dataset: str | None = None) -> dict[str, MetricSpec]:
    return {**METRICS, **classifier_metrics(folder, dataset)}


def list_metrics(folder=None, dataset: str | None = None) -> list[dict]:
    """One description per metric (static ones, then those on the zoo's classifiers)."""
    return [spec.describe() for spec in all_specs(folder, dataset).values()]


def create_metric(name: str, device: str | torch.device | None = None, folder=None) -> Metric:
    """Build metric ``name`` on ``device`` (default: CUDA if present, else CPU)."""
    from ..device import pick_device

    specs = all_specs(folder)
    if name not in specs:
        raise unknown_name("metric", name, list(specs))
    spec = specs[name]
    ok, why = spec.available()
    if not ok:
        raise MetricUnavailableError(why)
    dev = pick_device(device if device is None else str(device))
    return Metric(spec, spec.build(dev), dev)
