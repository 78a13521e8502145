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
from typing import Callable

import torch

from ..errors import unknown_name
from .classifier_distance import classifier_metrics
from .lpips_metric import build_lpips, lpips_available
from .pixel import psnr, ssim, universal_quality_index
from .spec import Metric, MetricSpec, MetricUnavailableError

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


def _psnr(device):
    return psnr


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


def _uqi(device):
    return universal_quality_index


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
               available=lpips_available("alex"), min_size=32),
    MetricSpec("lpips-vgg", True, (0.0, math.inf),
               "LPIPS v0.1, VGG-16 trunk (BAPPS-calibrated; needs ImageNet weights)",
               lambda device: build_lpips("vgg", device), needs_weights=True,
               available=lpips_available("vgg"), min_size=16),
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
