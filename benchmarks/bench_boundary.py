"""Boundary-analysis benchmarks, each a ratio measured in one run.

1. Forward passes per BD: coarse scan + bisection vs a fine linear scan at the
   same precision (goal >= 10x fewer).
2. Map points per second vs raw batched inference of the same model on the
   same number of images (goal >= 0.9x).
3. Adaptive refinement vs the full grid at 128 x 128: evaluations and
   agreement (goal >= 4x fewer at >= 99 % agreement).

Uses the embedded zoo's classifier (default resnet20) on Fashion-MNIST test
images; prints one line per benchmark.

    python -m benchmarks.bench_boundary [--classifier resnet20] [--images 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from analysis.analyses.boundary import (
    adaptive_decision_map,
    agreement,
    boundary_distance,
    decision_map,
    linear_scan_distance,
    orthogonal_direction,
    random_directions,
)
from analysis.data.datasets import load_dataset
from analysis.zoo.checkpoints import checkpoint_dir, load_checkpoint


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier", default="resnet20")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--maps", type=int, default=4)
    parser.add_argument("--parts", default="1,2,3", help="which benchmarks to run")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, _ = load_checkpoint(checkpoint_dir() / args.classifier)
    test = load_dataset("fashion-mnist", "test")
    x, _, idx = test.get_batch(torch.arange(args.images))
    d = random_directions(x.shape[1:], idx.tolist())
    print(f"classifier {args.classifier}, {args.images} Fashion-MNIST test images, "
          f"CPU threads {torch.get_num_threads()}")

    parts = set(args.parts.split(","))
    if "1" in parts:
        bd_benchmark(model, x, d, args.tol)
    if "2" in parts:
        map_benchmark(model, x, d)
    if "3" in parts:
        adaptive_benchmark(model, x, d, args.maps)


def bd_benchmark(model, x, d, tol):
    ours = boundary_distance(model, x, d, max_dist=30.0, tol=tol, steps=30)
    found = ~ours.censored
    reach = float(ours.dist[found].max()) + 2 * tol
    fine, fine_evals = linear_scan_distance(model, x[found], d[found], max_dist=reach, step=tol)
    ours_found = boundary_distance(model, x[found], d[found], max_dist=30.0, tol=tol, steps=30)
    same = float((ours_found.dist - fine).abs().max())
    print(f"1. BD search: {ours_found.evaluations / int(found.sum()):.1f} forward passes per BD vs "
          f"{fine_evals / int(found.sum()):.1f} for a fine scan at step {tol} "
          f"-> {fine_evals / ours_found.evaluations:.1f}x fewer (max |difference| {same:.4f}; "
          f"{int(ours.censored.sum())} censored at 30)")



def map_benchmark(model, x, d):
    x0 = x[0]
    d1 = d[0]
    d2 = orthogonal_direction(d1, seed=1)
    raw_batch = x0[None].repeat(128 * 128, 1, 1, 1) + 0.01 * torch.randn(128 * 128, *x0.shape)
    map_times, raw_times = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        decision_map(model, x0, d1, d2, extent=10.0, resolution=128, batch_size=1024)
        map_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, len(raw_batch), 1024):
                model(raw_batch[s:s + 1024]).argmax(1)
        raw_times.append(time.perf_counter() - t0)
    map_rate = 128 * 128 / statistics.median(map_times)
    raw_rate = 128 * 128 / statistics.median(raw_times)
    print(f"2. 2-D map: {map_rate:.0f} points/s vs {raw_rate:.0f} images/s raw batched inference "
          f"-> ratio {map_rate / raw_rate:.2f}")



def adaptive_benchmark(model, x, d, maps):
    ratios, agreements = [], []
    for i in range(maps):
        d1 = d[i]
        d2 = orthogonal_direction(d1, seed=100 + i)
        full = decision_map(model, x[i], d1, d2, extent=10.0, resolution=128)
        fast = adaptive_decision_map(model, x[i], d1, d2, extent=10.0, resolution=128)
        ratios.append(full.evaluations / fast.evaluations)
        agreements.append(agreement(full.classes, fast.classes))
    print(f"3. adaptive 128x128: {statistics.mean(ratios):.1f}x fewer evaluations "
          f"(range {min(ratios):.1f}-{max(ratios):.1f}), agreement with the full grid "
          f"{100 * min(agreements):.2f} % at worst over {maps} maps")


if __name__ == "__main__":
    main()
