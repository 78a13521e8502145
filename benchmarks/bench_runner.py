"""The runner's throughput against the raw forward passes of the same models, same process.

On the SR test split (the first ``--images`` images; every SR processor and every classifier of
the zoo), two loops run alternately ``--repeats`` times:

* raw: for each batch (its clean image and LQ input computed beforehand), every processor
  forward (P and T for RA with transformer) and every classifier forward on clean, no
  processing and each processor output — nothing else;
* runner: :func:`analysis.analyses.evaluate.measure_task`, i.e. the runner (with its
  degradation of each batch) feeding the record table (top-1 class and probability of every
  classifier on every input, PSNR and SSIM of every input).

Prints, per repeat, wall seconds and CPU seconds of this process (``time.process_time``) of
both loops, and the median of the per-repeat ratios raw / runner for each (goal >= 0.95: the
runner adds no measurable cost to the forward passes it must run anyway). On a machine that other
jobs share, wall time carries their load; with ``--threads 1`` the CPU-time ratio does not (one
thread has no spin-waiting to count), which is why both are printed.

    python -m benchmarks.bench_runner [--images 500] [--repeats 3] [--task sr] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from analysis.analyses.evaluate import measure_task
from analysis.config import EMBEDDED_DATASET
from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.zoo import TransformedProcessor
from analysis.zoo.catalogue import select_models
from analysis.zoo.checkpoints import load_models


def raw_inputs(task, n: int, batch_size: int):
    test = load_dataset(EMBEDDED_DATASET, "test")
    batches = []
    for start in range(0, n, batch_size):
        images, labels, idx = test.get_batch(torch.arange(start, min(start + batch_size, n)))
        batches.append((images, task.degrade_eval(images, idx)))
    return batches


@torch.inference_mode()
def raw_pass(task, batches, procs, clfs) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    for clean, lq in batches:
        inputs = [clean, task.upsample(lq, clean.shape[-2:])]
        for proc in procs.values():
            if isinstance(proc, TransformedProcessor):
                inputs.append(proc.transformer(proc.processor(lq)))
            else:
                inputs.append(proc(lq))
        for x in inputs:
            for clf in clfs.values():
                clf(x).argmax(1)
    return time.perf_counter() - t0, time.process_time() - c0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="sr")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    task = create_task(args.task)
    clf_cards, proc_cards = select_models(task.spec, EMBEDDED_DATASET)
    clfs, procs = load_models(clf_cards, "cpu"), load_models(proc_cards, "cpu")
    batches = raw_inputs(task, args.images, args.batch_size)
    print(f"task {task.spec}, {args.images} test images, {len(procs)} processors, "
          f"{len(clfs)} classifiers, {torch.get_num_threads()} threads")
    wall_ratios, cpu_ratios = [], []
    for r in range(args.repeats):
        raw, raw_cpu = raw_pass(task, batches, procs, clfs)
        t0, c0 = time.perf_counter(), time.process_time()
        measure_task(args.task, limit=args.images, batch_size=args.batch_size, device="cpu",
                     progress=False)
        runner, runner_cpu = time.perf_counter() - t0, time.process_time() - c0
        wall_ratios.append(raw / runner)
        cpu_ratios.append(raw_cpu / runner_cpu)
        print(f"repeat {r + 1}: raw forwards {raw:7.2f} s wall {raw_cpu:7.2f} s CPU   "
              f"runner + record table {runner:7.2f} s wall {runner_cpu:7.2f} s CPU   "
              f"ratio wall {raw / runner:.3f} CPU {raw_cpu / runner_cpu:.3f}", flush=True)
    print(f"median ratio raw / runner: wall {statistics.median(wall_ratios):.3f}, "
          f"CPU {statistics.median(cpu_ratios):.3f}")


if __name__ == "__main__":
    main()
