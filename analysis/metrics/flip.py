"""NVIDIA's FLIP (Andersson et al. 2020), a perceptual difference map, by ``flip-evaluator``.

FLIP models how a person flipping between two images perceives their differences (colour
and edge/point features, contrast sensitivity at ``ppd`` pixels per degree of visual angle;
67 ppd is the library's default: a 0.7 m viewing distance on a 24" 4K monitor). Values lie in
[0, 1], 0 for identical images. Grey images are given to FLIP as three equal channels.
"""

from __future__ import annotations

import numpy as np
import torch

DEFAULT_PPD = 67.0


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) in [0, 1] -> (H, W, 3) float32, C-contiguous."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0))


def flip_map(test: np.ndarray, reference: np.ndarray, ppd: float = DEFAULT_PPD) -> np.ndarray:
    """(H, W) float32 FLIP error map in [0, 1] of ``test`` against ``reference`` (each (H, W)
    or (H, W, C), values in [0, 1], sRGB / grey)."""
    import flip_evaluator

    error, _, _ = flip_evaluator.evaluate(_as_rgb(reference), _as_rgb(test), "LDR",
                                          applyMagma=False, computeMeanError=False,
                                          parameters={"ppd": float(ppd)})
    return np.asarray(error, dtype=np.float32).reshape(error.shape[0], error.shape[1])


def mean_flip(x: torch.Tensor, y: torch.Tensor, ppd: float = DEFAULT_PPD) -> torch.Tensor:
    """Mean FLIP error per image: ``x`` (distorted) against ``y`` (reference), (N, C, H, W) in
    [0, 1] -> (N,)."""
    xs = x.detach().cpu().permute(0, 2, 3, 1).numpy()
    ys = y.detach().cpu().permute(0, 2, 3, 1).numpy()
    return torch.tensor([float(flip_map(a, b, ppd).mean()) for a, b in zip(xs, ys)],
                        dtype=torch.float32)
