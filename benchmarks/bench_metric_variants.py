"""The two implementation choices inside the registry's PSNR and SSIM, each timed against its
alternative on the same batch (same protocol as bench_metrics: paired repeats, median ratio).

* PSNR and SSIM: chunks of the batch (``analysis.metrics.in_chunks``, what the registry
  does) vs the whole batch at once.
* SSIM, whole batch: the five local moments stacked into one tensor (what the registry
  does) vs filtered one at a time.

    python -m benchmarks.bench_metric_variants [--repeats 15]

Configurations: 32 RGB images of 192 px, 32 grey of 64 px and 256 grey of 28 px (the
embedded data). A ratio > 1 means the first variant is faster.
"""

from __future__ import annotations

import argparse
import statistics

import torch

import analysis.metrics.pixel as metrics
from benchmarks.bench_metrics import timed

CONFIGS = [(32, 3, 192), (32, 1, 64), (256, 1, 28)]


def variant(fn, **settings):
    """``fn`` run with module settings of analysis.metrics temporarily replaced."""
    def run(x, y):
        saved = {k: getattr(metrics, k) for k in settings}
        for k, v in settings.items():
            setattr(metrics, k, v)
        try:
            return fn(x, y)
        finally:
            for k, v in saved.items():
                setattr(metrics, k, v)
    return run


def ssim_one_moment_at_a_time(x, y):
    """The alternative to metrics.ssim's stacked filtering (no downsampling: sizes < 384 px)."""
    taps = metrics.gaussian_taps(11, 1.5, x)
    return metrics.ssim_from_moments(*(metrics.gaussian_blur(t, taps)
                                       for t in (x, y, x * x, y * y, x * y)))


WHOLE_BATCH = 1 << 62   # CHUNK_ELEMENTS that never splits a batch

PAIRS = [
    ("psnr", "chunked", metrics.psnr, "whole batch", variant(metrics.psnr, CHUNK_ELEMENTS=WHOLE_BATCH)),
    ("ssim", "chunked", metrics.ssim, "whole batch", variant(metrics.ssim, CHUNK_ELEMENTS=WHOLE_BATCH)),
    ("ssim", "stacked", variant(metrics.ssim, CHUNK_ELEMENTS=WHOLE_BATCH), "one at a time",
     ssim_one_moment_at_a_time),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"CPU threads {torch.get_num_threads()}, median of {args.repeats} paired repeats")
    print(f"{'metric':<6} {'batch':<14} {'first':<14} {'img/s':>10} {'second':<12} {'img/s':>10} "
          f"{'ratio':>6} {'IQR':>11}")
    for n, c, size in CONFIGS:
        torch.manual_seed(0)
        y = torch.rand(n, c, size, size)
        x = (y + 0.05 * torch.randn_like(y)).clamp(0, 1)
        for name, label_a, a, label_b, b in PAIRS:
            assert torch.allclose(a(x, y), b(x, y), atol=1e-5)
            ta, tb = [], []
            for _ in range(args.repeats):
                ta.append(timed(a, x, y))
                tb.append(timed(b, x, y))
            q1, median, q3 = statistics.quantiles([t2 / t1 for t1, t2 in zip(ta, tb)], n=4)
            print(f"{name:<6} {f'{n}x{c}x{size}px':<14} {label_a:<14} "
                  f"{n / statistics.median(ta):10.0f} {label_b:<12} {n / statistics.median(tb):10.0f} "
                  f"{median:6.2f} {q1:5.2f}-{q3:<5.2f}")


if __name__ == "__main__":
    main()
