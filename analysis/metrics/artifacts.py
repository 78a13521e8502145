"""A measured indicator of the "echo" artifacts Uelwer et al. describe for perceptual losses:
faint repeated copies of edges and ripples, i.e. error energy at high spatial frequencies.

``high_frequency_mse(x, y, cutoff)``: the part of the mean squared error between ``x`` and
``y`` carried by spatial frequencies whose radial frequency exceeds ``cutoff`` cycles per pixel
(default 0.25, half the Nyquist frequency). By Parseval's theorem it is the MSE of the error
image after an ideal high-pass filter, so 0 <= hf-mse <= mse; a plain MSE-trained model's
error is mostly a loss of high frequencies too, so compare it across models, and read it
beside MSE (a larger share of the error at high frequency means added structure, not only
blur). x, y: (N, C, H, W) in [0, 1] -> (N,), averaged over channels.
"""

from __future__ import annotations

import torch


def high_pass_mask(h: int, w: int, cutoff: float = 0.25, device=None) -> torch.Tensor:
    """(H, W) boolean mask of the DFT bins whose radial frequency exceeds ``cutoff``
    (cycles / pixel; 0.5 is Nyquist)."""
    fy = torch.fft.fftfreq(h, device=device).abs()[:, None]
    fx = torch.fft.fftfreq(w, device=device).abs()[None, :]
    return (fy ** 2 + fx ** 2).sqrt() > cutoff


def high_frequency_mse(x: torch.Tensor, y: torch.Tensor, cutoff: float = 0.25) -> torch.Tensor:
    """MSE carried by radial frequencies above ``cutoff`` cycles / pixel; (N, C, H, W) -> (N,)."""
    n, c, h, w = x.shape
    spectrum = torch.fft.fft2((x - y).double())
    mask = high_pass_mask(h, w, cutoff, x.device)
    energy = (spectrum.abs() ** 2 * mask).sum(dim=(-2, -1)) / (h * w) ** 2
    return energy.mean(1).float()
