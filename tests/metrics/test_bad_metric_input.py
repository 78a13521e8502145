"""Bad metric inputs (non-tensors, integer images, shapes, NaN, out of range): one sentence each."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis.errors import RAExplorerError


def _img(*shape, fill=None):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    if fill is not None:
        x[0, 0, 0, 0] = fill
    return x


METRIC_CASES = {
    "NaN": (lambda: (_img(1, 1, 16, 16, fill=float("nan")), _img(1, 1, 16, 16)), "NaN values"),
    "NaN in the reference": (lambda: (_img(1, 1, 16, 16), _img(1, 1, 16, 16, fill=float("nan"))),
                             "reference"),
    "infinity": (lambda: (_img(1, 1, 16, 16, fill=float("inf")), _img(1, 1, 16, 16)), "in [0, 1]"),
    "above 1": (lambda: (_img(1, 1, 16, 16) * 2, _img(1, 1, 16, 16)), "in [0, 1]"),
    "below 0": (lambda: (_img(1, 1, 16, 16) - 0.5, _img(1, 1, 16, 16)), "in [0, 1]"),
    "0-255 floats": (lambda: (_img(1, 1, 16, 16) * 255, _img(1, 1, 16, 16) * 255), "in [0, 1]"),
    "uint8 images": (lambda: ((_img(1, 1, 16, 16) * 255).to(torch.uint8),) * 2, "torch.uint8"),
    "shapes differ": (lambda: (_img(1, 1, 16, 16), _img(1, 1, 17, 16)), "same shape"),
    "no batch axis": (lambda: (_img(1, 16, 16), _img(1, 16, 16)), "same shape"),
    "two channels": (lambda: (_img(1, 2, 16, 16), _img(1, 2, 16, 16)), "1 or 3"),
    "empty batch": (lambda: (torch.rand(0, 1, 16, 16), torch.rand(0, 1, 16, 16)), "same shape"),
    "numpy arrays": (lambda: (np.zeros((1, 1, 16, 16)), np.zeros((1, 1, 16, 16))), "torch tensors"),
}


@pytest.mark.parametrize("metric", ["psnr", "ssim", "gmsd"])
@pytest.mark.parametrize("case", list(METRIC_CASES))
def test_bad_metric_input_is_one_sentence(case, metric):
    from analysis.metrics.registry import create_metric

    make, match = METRIC_CASES[case]
    with pytest.raises(RAExplorerError) as info:
        create_metric(metric, device="cpu")(*make())
    assert match in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError)       # callers that caught ValueError still do


def test_metric_tolerates_float_rounding_at_the_ends():
    from analysis.metrics.registry import create_metric

    x = _img(1, 1, 16, 16)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 1.0, 0.0
    y = x.clone()
    y[0, 0, 0, 0], y[0, 0, 0, 1] = 1 + 1e-6, -1e-6         # clamped, not refused
    assert float(create_metric("psnr", device="cpu")(x, y)) > 60
