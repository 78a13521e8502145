"""t-SNE backends on 10k points: openTSNE vs scikit-learn, PCA to 50 dimensions first.

The points are the embedded zoo's resnet20 penultimate features of the first
10,000 Fashion-MNIST test images (falls back to 10 Gaussian clusters in 64
dimensions when the checkpoint is absent). Prints seconds per backend; the
goal is <= 60 s on this machine.

    python -m benchmarks.bench_tsne [--n 10000] [--backends opentsne,sklearn]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from analysis.analyses.features import embed


def points(n: int) -> tuple[np.ndarray, str]:
    from analysis.data.datasets import load_dataset
    from analysis.zoo.catalogue import checkpoint_dir
    from analysis.zoo.checkpoints import load_checkpoint

    path = checkpoint_dir() / "resnet20.json"
    if path.exists():
        model, _ = load_checkpoint(path)
        test = load_dataset("fashion-mnist", "test")
        feats = []
        with torch.no_grad():
            for s in range(0, n, 1000):
                x, _, _ = test.get_batch(torch.arange(s, min(s + 1000, n)))
                feats.append(model.penultimate(x))
        return torch.cat(feats).numpy(), f"resnet20 features of {n} Fashion-MNIST test images"
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (10, 64))
    return centres[np.arange(n) % 10] + rng.normal(0, 1, (n, 64)), f"{n} synthetic points"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--backends", default="opentsne,sklearn")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    x, what = points(args.n)
    print(f"{what}, {x.shape[1]} dims -> PCA 50 -> t-SNE 2-D, n_jobs={args.jobs}")
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        embed(x, seed=0, backend=backend, n_jobs=args.jobs)
        print(f"{backend:<9} {time.perf_counter() - t0:7.1f} s")


if __name__ == "__main__":
    main()
