"""Throughput of create_metric(...) vs direct piq / scikit-image calls on the same batch.

Prints one line per metric: images/s through the registry, images/s through
the library, and their ratio (goal >= 1.0). Timings alternate between the two
in one process; each repeat times one registry call and one baseline call back to back,
and the ratio reported is the median of the per-repeat ratios (robust to load that drifts
during the run), with the interquartile range of those ratios as its spread.

    python -m benchmarks.bench_metrics [--n 32] [--size 192] [--channels 3] [--repeats 7]

BENCHMARKS.md quotes two configurations: 32 RGB images of 192 x 192 (the default) and the
embedded dataset's own format, ``--n 256 --size 28 --channels 1``. Metrics that need a
larger image than ``--size`` (MS-SSIM, VIF-p; the registry upsamples for them, piq refuses)
have no direct baseline there and are skipped.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import piq
import torch

from analysis.metrics.registry import METRICS, create_metric

DIRECT = {
    "psnr": lambda x, y: piq.psnr(x, y, data_range=1.0, reduction="none"),
    "ssim": lambda x, y: piq.ssim(x, y, data_range=1.0, reduction="none"),
    "ms-ssim": lambda x, y: piq.multi_scale_ssim(x, y, data_range=1.0, reduction="none"),
    "gmsd": lambda x, y: piq.gmsd(x, y, data_range=1.0, reduction="none"),
    "vif-p": lambda x, y: piq.vif_p(x, y, data_range=1.0, reduction="none"),
    "fsim": lambda x, y: piq.fsim(x, y, data_range=1.0, reduction="none",
                                  chromatic=x.shape[1] == 3),
    "haarpsi": lambda x, y: piq.haarpsi(x, y, data_range=1.0, reduction="none"),
}


def skimage_psnr(x, y):
    from skimage.metrics import peak_signal_noise_ratio
    a, b = x.permute(0, 2, 3, 1).numpy(), y.permute(0, 2, 3, 1).numpy()
    return np.array([peak_signal_noise_ratio(b[i], a[i], data_range=1.0) for i in range(len(a))])


def skimage_ssim(x, y):
    from skimage.metrics import structural_similarity
    a, b = x.permute(0, 2, 3, 1).numpy(), y.permute(0, 2, 3, 1).numpy()
    return np.array([structural_similarity(b[i], a[i], data_range=1.0, channel_axis=2,
                                           gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False) for i in range(len(a))])


def timed(fn, x, y) -> float:
    t0 = time.perf_counter()
    fn(x, y)
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    y = torch.rand(args.n, args.channels, args.size, args.size)
    x = (y + 0.05 * torch.randn_like(y)).clamp(0, 1)
    pairs = [(name, name, fn) for name, fn in DIRECT.items()
             if METRICS[name].min_size <= args.size]
    pairs += [("psnr", "skimage psnr", skimage_psnr), ("ssim", "skimage ssim", skimage_ssim)]
    print(f"batch: {args.n} images of {args.channels} channel(s), {args.size}x{args.size}, CPU threads "
          f"{torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'metric':<9} {'baseline':<14} {'registry img/s':>15} {'baseline img/s':>15} "
          f"{'ratio':>7} {'IQR':>11}")
    for name, label, direct in pairs:
        metric = create_metric(name, device="cpu")
        metric(x, y), direct(x, y)  # warm-up
        ours, base = [], []
        for _ in range(args.repeats):
            ours.append(timed(metric, x, y))
            base.append(timed(direct, x, y))
        ours_rate = args.n / statistics.median(ours)
        base_rate = args.n / statistics.median(base)
        ratios = [b / o for o, b in zip(ours, base)]   # per repeat, registry speed / baseline
        q1, median, q3 = statistics.quantiles(ratios, n=4)
        print(f"{name:<9} {label:<14} {ours_rate:15.1f} {base_rate:15.1f} {median:7.2f} "
              f"{q1:5.2f}-{q3:<5.2f}")


if __name__ == "__main__":
    main()
