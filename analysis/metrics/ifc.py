"""IFC, the information fidelity criterion (Sheikh, Bovik & de Veciana, IEEE TIP 14(12), 2005).

The reference image's wavelet coefficients are modelled as a Gaussian scale mixture (GSM): in each
subband, a vector C = s U of M x M = 3 x 3 neighbouring coefficients, U ~ N(0, C_U) and a scalar
field s^2 that varies over the image. The distorted subband is D = g C + V, a gain field g and
additive Gaussian noise V ~ N(0, sigma_v^2 I). IFC is the mutual information between the
reference and distorted coefficients given s, summed over subbands (the paper's equation):

    IFC = sum over subbands k of  0.5 * sum_i sum_j log2(1 + g_i^2 s_i^2 lambda_j / (sigma_v,i^2 + 1e-10))

in bits; i runs over the 3 x 3 blocks of subband k (its borders left out, see below), j over the
9 eigenvalues lambda_j of C_U. Higher is better; the range is [0, inf). IFC(x, x) is finite only
through the reference code's tolerances (sigma_v^2 floored at 1e-15, plus 1e-10), so identical
images get a large, image-dependent value rather than a fixed maximum. There is no HVS noise
term: VIF's sigma_n^2 = 0.4 is not part of IFC.

Estimation follows the LIVE lab's reference code (``ifcvec.m`` with ``distsub_est_m``,
``refparams_vecgsm`` and ``ind2wtree``, the 2005 release), step for step:

* Images: the luminance of colour images (BT.601: 0.299 R + 0.587 G + 0.114 B), multiplied by
  255 because the reference code takes 0-255 images and its tolerances (1e-15, 1e-10) are absolute.
  All arithmetic in float64.
* Pyramid: pyrtools' spatial steerable pyramid, ``SteerablePyramidSpace(image, height=4, order=5,
  edge_type='reflect1')`` (the 'sp5' filters, 6 orientations; matlabPyrTools' ``buildSpyr(im, 4,
  'sp5Filters', 'reflect1')``), computed here for a whole batch at once from pyrtools' own
  filters (mirror padding, then FFT correlation in float64: within 1e-12 of pyrtools on 0-255
  images; tests hold it to 1e-9). Only the 8 subbands the reference
  uses enter: at each of the 4 levels the orientations pyrtools numbers 0 and 3 (the reference's
  ``subbands = [4 7 10 13 16 19 22 25]`` of ``ind2wtree``'s coarse-to-fine order); the residual
  high- and lowpass do not.
* Distortion channel, per subband (cropped to a multiple of 3 on each side): for the centre of
  every non-overlapping 3 x 3 block, a W x W window (reflected at the borders) gives the
  least-squares gain g = cov(c, d) / var(c) and sigma_v^2 = (var(d) - g cov(c, d)) / W^2, where
  var and cov are sums (not means) of squared deviations and cross-products over the window, as
  in the reference, with its special cases: var(c) < 1e-15 -> g = 0, sigma_v^2 =
  var(d); var(d) < 1e-15 -> g = 0, sigma_v^2 = 0; g < 0 -> g = 0, sigma_v^2 = var(d); then
  sigma_v^2 floored at 1e-15. W = 2^l + 1 with l = 4, 3, 2, 1 from the finest level to the
  coarsest (17, 9, 5, 3 pixels of that level).
* GSM: C_U is the covariance (mean removed, divided by the count) of ALL overlapping 3 x 3 blocks
  of the reference subband; s^2 = u^T C_U^-1 u / 9 for each non-overlapping block u (not mean
  removed); lambda_j the eigenvalues of C_U. A singular C_U (a blank subband) is inverted as a
  pseudo-inverse, where the reference's inv() would fail, and its zero directions add nothing;
  eigenvalues are clamped at 0 against rounding.
* Borders: ceil(((W - 1) / 2) / 3) blocks (3, 2, 1, 1 from finest to coarsest) are dropped on
  every side of each subband's block grid.

The reference code says of itself that it uses more subbands than the paper, handles borders
better and scales its window with the level; those choices are kept. It also departs from the
paper's equation twice, and there this module follows the paper: ``ifcvec.m`` drops the factor
0.5 and divides the sum by the number of image pixels, so its value = 2 * IFC / (H * W) for the
H x W image the pyramid sees.

Small images: the 4-level pyramid needs min(H, W) >= 72 (pyrtools' largest height for the 9-tap
lowpass; its coarsest level then has 9 pixels, one 3 x 3 block left after the border crop). The
registry enlarges smaller images by the smallest integer nearest-neighbour factor that reaches 72
(``MIN_SIZE``): 28 x 28 Fashion-MNIST -> 84 x 84 (factor 3), 64 px images -> 128 x 128 (factor 2).
:func:`information_fidelity` itself refuses images below ``MIN_SIZE``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

HEIGHT = 4                    # pyramid levels
ORIENTATIONS = (0, 3)         # pyrtools band numbers used at each level (of 6 sp5 orientations)
BLOCK = 3                     # M: side of the GSM neighbourhood
MIN_SIZE = 72                 # smallest image side the 4-level pyramid takes
SCALE = 255.0                 # [0, 1] -> the reference's 0-255 range
TOL = 1e-15                   # the reference's zero-variance tolerance in the channel estimate
SIGMA_EPS = 1e-10             # added to sigma_v^2 in the information sum
LUMA = (0.299, 0.587, 0.114)  # BT.601
CHUNK_PIXELS = 1 << 20        # a chunk holds at most this many image pixels


def window_size(level: int) -> int:
    """W of the distortion-channel window at pyramid ``level`` (0 = finest): 17, 9, 5, 3."""
    return 2 ** (HEIGHT - level) + 1


def border_blocks(level: int) -> int:
    """Blocks dropped on each side of ``level``'s block grid: ceil(((W - 1) / 2) / 3)."""
    return math.ceil((window_size(level) - 1) / 2 / BLOCK)


@lru_cache(maxsize=None)
def _sp5_filters_numpy() -> dict:
    from pyrtools.pyramids.filters import parse_filter

    return parse_filter("sp5_filters", normalize=False)


def sp5_filters(device=None) -> dict[str, torch.Tensor]:
    """pyrtools' 'sp5' filters as float64 correlation kernels: 'lo0' (5, 5), 'lo' (9, 9) and
    'bands' (6, 7, 7), band b being what ``SteerablePyramidSpace`` correlates with for orientation b."""
    f = _sp5_filters_numpy()
    side = int(round(math.sqrt(f["bfilts"].shape[0])))
    bands = [f["bfilts"][:, b].reshape(side, side).T for b in range(f["bfilts"].shape[1])]
    as_tensor = lambda a: torch.as_tensor(a.copy(), dtype=torch.float64, device=device)
    return {"lo0": as_tensor(f["lo0filt"]), "lo": as_tensor(f["lofilt"]),
            "bands": torch.stack([as_tensor(b) for b in bands])}


def _fft_size(n: int) -> int:
    """The smallest m >= n whose prime factors are 2, 3 and 5 (fast FFT lengths)."""
    m = n
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def _correlate(t: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Each of ``kernels`` (K, k, k), k odd, correlated with ``t`` (N, 1, H, W) under mirror
    ('reflect1') borders: (N, K, H, W).

    Computed by FFT: the padded image's circular correlation with the zero-padded kernels equals
    the linear one at the H x W positions kept (no wrap-around reaches them). Its rounding (about
    1e-13 on 0-255 images, where direct correlation gives exact zeros in flat regions) squared
    and summed over a window stays far below the channel estimate's 1e-15 tolerance, so flat
    regions still count as flat.
    """
    k = kernels.shape[-1]
    pad = k // 2
    h, w = t.shape[-2:]
    size = (_fft_size(h + 2 * pad), _fft_size(w + 2 * pad))
    padded = torch.fft.rfft2(F.pad(t, (pad, pad, pad, pad), mode="reflect"), s=size)
    spectra = torch.fft.rfft2(kernels, s=size).conj()
    return torch.fft.irfft2(padded * spectra, s=size)[..., :h, :w]


def _embed(kernel: torch.Tensor, k: int) -> torch.Tensor:
    """A (k0, k0) kernel centred in a (k, k) one of zeros (k - k0 even): the same correlation."""
    border = (k - kernel.shape[-1]) // 2
    return F.pad(kernel, (border, border, border, border))


def steerable_subbands(images: torch.Tensor, orientations=ORIENTATIONS,
                       height: int = HEIGHT) -> list[torch.Tensor]:
    """The oriented subbands of pyrtools' ``SteerablePyramidSpace(order=5, edge_type='reflect1')``.

    images: (N, 1, H, W) float64, min(H, W) >= 72 for height 4. Returns one tensor per level,
    finest first, of shape (N, len(orientations), H_l, W_l) with H_0 = H and H_{l+1} =
    ceil(H_l / 2). The residual highpass and lowpass are not computed. At each level the
    oriented filters (7 x 7) and the lowpass (9 x 9, then every second sample from (0, 0)) share
    one transform of the level's input.
    """
    filters = sp5_filters(images.device)
    k = filters["lo"].shape[-1]
    bands = [_embed(filters["bands"][b], k) for b in orientations]
    lo = _correlate(images, _embed(filters["lo0"], k)[None])
    levels = []
    for level in range(height):
        last = level + 1 == height
        out = _correlate(lo, torch.stack(bands if last else bands + [filters["lo"]]))
        levels.append(out[:, :len(bands)])
        lo = out[:, len(bands):, ::2, ::2]
    return levels


def _crop_to_blocks(t: torch.Tensor) -> torch.Tensor:
    h, w = (s // BLOCK * BLOCK for s in t.shape[-2:])
    return t[..., :h, :w]


def channel_parameters(reference: torch.Tensor, distorted: torch.Tensor,
                       window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gain g and noise variance sigma_v^2 of the distortion channel D = g C + V, per 3 x 3 block.

    reference, distorted: one subband, (N, h, w) with h, w multiples of 3. Each estimate uses the
    ``window`` x ``window`` neighbourhood (mirror borders) centred on its block's centre pixel.
    Returns (g, sigma_v^2), each (N, h / 3, w / 3), in the subband's units (sigma_v^2 squared).
    """
    n = window * window
    pad = window // 2
    stacked = torch.stack([reference, distorted, reference * reference, distorted * distorted,
                           reference * distorted], dim=1)
    padded = F.pad(stacked, (pad, pad, pad, pad), mode="reflect")
    # windows centred on pixels 1, 4, 7, ... of the unpadded subband; the box is separable
    means = F.avg_pool2d(padded[..., :, 1:], (1, window), stride=(1, BLOCK))
    means = F.avg_pool2d(means[..., 1:, :], (window, 1), stride=(BLOCK, 1))
    mean_x, mean_y, xx, yy, xy = means.unbind(1)
    cov_xy = n * (xy - mean_x * mean_y)
    ss_x = (n * (xx - mean_x * mean_x)).clamp_min(0)
    ss_y = (n * (yy - mean_y * mean_y)).clamp_min(0)

    g = cov_xy / (ss_x + TOL)
    vv = (ss_y - g * cov_xy) / n
    flat_x = ss_x < TOL
    g = torch.where(flat_x, 0.0, g)
    vv = torch.where(flat_x, ss_y, vv)
    flat_y = ss_y < TOL
    g = torch.where(flat_y, 0.0, g)
    vv = torch.where(flat_y, 0.0, vv)
    negative = g < 0
    vv = torch.where(negative, ss_y, vv)
    g = g.clamp_min(0)
    vv = torch.where(vv <= TOL, TOL, vv)
    return g, vv


def gsm_parameters(reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference subband's vector-GSM parameters: s^2 per block and C_U's eigenvalues.

    reference: (N, h, w), h and w multiples of 3. Returns s^2 (N, h / 3, w / 3) (unitless) and
    lambda (N, 9) (the subband's units squared, ascending).
    """
    n, h, w = reference.shape
    t = reference.unsqueeze(1)
    overlapping = F.unfold(t, BLOCK)                                  # (N, 9, L)
    centred = overlapping - overlapping.mean(dim=2, keepdim=True)
    cu = centred @ centred.transpose(1, 2) / overlapping.shape[2]     # (N, 9, 9)
    blocks = F.unfold(t, BLOCK, stride=BLOCK)                         # (N, 9, B)
    # C_U = V diag(lambda) V^T: s^2 = sum_j (v_j . u)^2 / lambda_j, a pseudo-inverse (lambda_j
    # at most 9 eps lambda_max left out, torch.linalg.pinv's default)
    lambdas, vectors = torch.linalg.eigh(cu)
    keep = lambdas > lambdas[:, -1:] * (BLOCK * BLOCK * torch.finfo(cu.dtype).eps)
    inverse = torch.where(keep, 1 / torch.where(keep, lambdas, 1.0), 0.0)
    ss = ((vectors.transpose(1, 2) @ blocks) ** 2 * inverse.unsqueeze(2)).sum(1) / (BLOCK * BLOCK)
    lambdas = lambdas.clamp_min(0)
    return ss.reshape(n, h // BLOCK, w // BLOCK), lambdas


def subband_information(g: torch.Tensor, vv: torch.Tensor, ss: torch.Tensor,
                        lambdas: torch.Tensor) -> torch.Tensor:
    """0.5 * sum_i sum_j log2(1 + g_i^2 s_i^2 lambda_j / (sigma_v,i^2 + 1e-10)), in bits, (N,).

    g, vv (sigma_v^2), ss (s^2): (N, a, b) over the blocks i kept; lambdas: (N, J).
    """
    snr = (g * g * ss / (vv + SIGMA_EPS)).flatten(1)                  # (N, B)
    terms = torch.log2(1 + snr.unsqueeze(2) * lambdas.unsqueeze(1))   # (N, B, J)
    return 0.5 * terms.sum(dim=(1, 2))


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(N, 1 or 3, H, W) -> (N, 1, H, W): colour images to BT.601 luminance, grayscale as is."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def _ifc_of_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    images = torch.cat([luminance(y), luminance(x)]).to(torch.float64) * SCALE
    total = torch.zeros(n, dtype=torch.float64, device=x.device)
    for level, bands in enumerate(steerable_subbands(images)):
        bands = _crop_to_blocks(bands)
        cut = border_blocks(level)
        for k in range(bands.shape[1]):
            reference, distorted = bands[:n, k], bands[n:, k]
            g, vv = channel_parameters(reference, distorted, window_size(level))
            ss, lambdas = gsm_parameters(reference)
            keep = (slice(None), slice(cut, -cut), slice(cut, -cut))
            total += subband_information(g[keep], vv[keep], ss[keep], lambdas)
    return total


def information_fidelity(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """IFC in bits of distorted ``x`` given reference ``y``: shape (N,), float64.

    x, y: (N, 1 or 3, H, W) in [0, 1] with min(H, W) >= ``MIN_SIZE`` (72); enlarge smaller
    images first (the registry does, by an integer nearest-neighbour factor). Images are computed
    in chunks of at most ``CHUNK_PIXELS`` pixels; each image's value depends on that
    image pair alone.
    """
    if min(x.shape[-2:]) < MIN_SIZE:
        raise ValueError(f"IFC's 4-level steerable pyramid needs images of at least {MIN_SIZE} "
                         f"pixels a side; got {tuple(x.shape[-2:])} (enlarge them first).")
    per_chunk = max(1, CHUNK_PIXELS // (x.shape[-1] * x.shape[-2]))
    return torch.cat([_ifc_of_batch(a, b) for a, b in zip(x.split(per_chunk), y.split(per_chunk))])
