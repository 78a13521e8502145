"""Pixel-domain metrics computed here: PSNR and SSIM with piq's definitions in fewer operations
(chunked, separable Gaussian filtering), and UQI (Wang & Bovik 2002; in none of the libraries).
Images (N, C, H, W) in [0, 1]; each returns (N,)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

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


def gaussian_taps(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
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
        taps = gaussian_taps(window, sigma, x)
        moments = gaussian_blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), taps)
        return ssim_from_moments(*moments.chunk(5, dim=1), k1=k1, k2=k2)

    return in_chunks(of_batch, x, y, expansion=5)


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
