"""Classifier forwards against the machine's practical peak, before and after the execution plan.

1. **Peak**: a 2048 x 2048 float32 matrix product (sgemm, 2 * 2048^3 FLOP) in this process on
   the same threads, median of ``--sgemm-repeats`` runs, measured before and after the models
   (the median of both is the reference).
2. **Forwards** (on the SR test split's first ``--images`` images, ``--batch-size`` per batch):
   every input the runner gives a classifier (clean, no processing, each SR processor's machine
   view; 14 inputs with the embedded zoo) is computed once beforehand, then for each
   classifier two loops run alternately ``--repeats`` times: *before* = eager float32 logits and
   top-1 of every input batch (what the runner did); *after* = the execution plan's
   :class:`~analysis.pipeline.execution.Predictor` (``--execution``, default auto), its top-1
   with the guard's recomputations. The plan's calibration (its first batch) is timed apart and
   not in *after*. FLOPs per image come from ``torch.utils.flop_counter.FlopCounterMode`` (a
   multiply-add counts 2). Printed per model and in total: GFLOP/s and the fraction of the
   sgemm figure, before and after, and the plan chosen. ``--profile`` adds, per model, the
   eager forward's five costliest operators (share of self CPU time) — the measured reason a
   model stays below the goal.
3. **evaluate** (``--evaluate N``): ``measure_task('sr', limit=N)`` — the runner path of
   ``python -m analysis evaluate --task sr`` — with ``RA_EXECUTION=eager`` and with the plan,
   alternately ``--evaluate-repeats`` times in this process, wall and CPU seconds and the
   speed-up; the plan is measured anew in every run (its calibration is in the time) unless
   ``--warm-plans``; says whether the two record tables are identical. The full split is
   ``--evaluate 10000``.

    python -m benchmarks.bench_inference [--images 500] [--repeats 3] [--threads N]
        [--models a,b] [--execution auto] [--profile] [--evaluate N] [--evaluate-repeats 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from analysis.config import EMBEDDED_DATASET
from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.pipeline import execution
from analysis.pipeline.execution import Predictor, top1
from analysis.pipeline.runner import input_views
from analysis.zoo.catalogue import select_models
from analysis.zoo.checkpoints import load_models

GOAL = 0.5        # of the sgemm figure, for the classifier forwards in total


def sgemm_gflops(repeats: int = 5, n: int = 2048) -> float:
    """GFLOP/s of an n x n float32 matrix product on torch's threads (median of ``repeats``)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def flops_per_image(model, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x[:1])
    return counter.get_total_flops()


@torch.inference_mode()
def runner_inputs(task, procs, n: int, batch_size: int) -> list[list[torch.Tensor]]:
    """Per batch, every machine view a classifier gets from the runner (clean first)."""
    test = load_dataset(EMBEDDED_DATASET, "test")
    batches = []
    for start in range(0, n, batch_size):
        images, _, idx = test.get_batch(torch.arange(start, min(start + batch_size, n)))
        lq = task.degrade_eval(images, idx)
        batches.append([v.machine for v in input_views(task, procs, images, lq).values()])
    return batches


def eager_pass(model, batches) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        for inputs in batches:
            for x in inputs:
                top1(model(x))
    return time.perf_counter() - start


def planned_pass(predictor: Predictor, batches) -> float:
    start = time.perf_counter()
    for inputs in batches:
        for x in inputs:
            predictor.classify(x)
    return time.perf_counter() - start


def profile_reason(model, x: torch.Tensor, top: int = 5) -> str:
    """The eager forward's costliest operators on ``x``: name and share of self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model(x)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events) or 1
    events.sort(key=lambda e: -e.self_cpu_time_total)
    return ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f} % ({e.count} calls)"
                     for e in events[:top])


def forwards(args, task, clfs, procs) -> None:
    batches = runner_inputs(task, procs, args.images, args.batch_size)
    n_inputs = len(batches[0])
    images = args.images * n_inputs
    peak_before = sgemm_gflops(args.sgemm_repeats)
    print(f"sgemm 2048 x 2048 float32: {peak_before:.1f} GFLOP/s (before)", flush=True)
    rows, total = [], {"flop": 0.0, "before": 0.0, "after": 0.0, "calibration": 0.0}
    for name, model in clfs.items():
        flop = flops_per_image(model, batches[0][0]) * images
        before, after = [], []
        calibration = 0.0
        predictor = None
        for _ in range(args.repeats):
            execution.clear_plans()
            predictor = Predictor(model, args.execution, disk=False)
            start = time.perf_counter()
            predictor.classify(batches[0][0])              # calibration (its first batch)
            calibration = time.perf_counter() - start
            before.append(eager_pass(model, batches))
            after.append(planned_pass(predictor, batches))
        b, a = statistics.median(before), statistics.median(after)
        rows.append((name, flop, b, a, calibration, predictor.summary()))
        for key, value in (("flop", flop), ("before", b), ("after", a),
                           ("calibration", calibration)):
            total[key] += value
        print(f"  {name}: {flop / images / 1e6:.1f} MFLOP/image, eager {b:.2f} s, "
              f"plan {a:.2f} s, calibration {calibration:.2f} s", flush=True)
        if args.profile:
            print(f"    eager's costliest operators: {profile_reason(model, batches[0][1])}")
    peak_after = sgemm_gflops(args.sgemm_repeats)
    peak = statistics.median([peak_before, peak_after])
    print(f"sgemm 2048 x 2048 float32: {peak_after:.1f} GFLOP/s (after); reference "
          f"{peak:.1f} GFLOP/s\n")
    print(f"{args.images} images x {n_inputs} inputs, {torch.get_num_threads()} threads; "
          f"GFLOP/s (fraction of sgemm)")
    print(f"{'model':<18} {'eager':>16} {'plan':>16} {'speed-up':>9}  plan chosen")
    for name, flop, b, a, _, summary in rows:
        print(f"{name:<18} {flop / b / 1e9:8.1f} ({flop / b / 1e9 / peak:5.1%}) "
              f"{flop / a / 1e9:8.1f} ({flop / a / 1e9 / peak:5.1%}) {b / a:8.2f}x  {summary}")
    tb, ta = total["flop"] / total["before"] / 1e9, total["flop"] / total["after"] / 1e9
    print(f"{'total':<18} {tb:8.1f} ({tb / peak:5.1%}) {ta:8.1f} ({ta / peak:5.1%}) "
          f"{total['before'] / total['after']:8.2f}x  calibration {total['calibration']:.1f} s "
          f"in all; goal {GOAL:.0%} of sgemm in total: {'met' if ta / peak >= GOAL else 'not met'}")


def evaluate_side_by_side(args) -> None:
    import os
    import tempfile

    from analysis.analyses.evaluate import measure_task

    print(f"\nevaluate --task sr on the first {args.evaluate} test images "
          f"(batch {args.batch_size}), eager vs plan ({args.execution or 'auto'}), alternately:")
    times = {"eager": [], "plan": []}
    tables = {}
    for r in range(args.evaluate_repeats):
        for label, policy in (("eager", "eager"), ("plan", args.execution or "auto")):
            if label == "plan" and not args.warm_plans:   # measured anew, not read from disk
                execution.clear_plans()
                os.environ["RA_RUNS"] = tempfile.mkdtemp(prefix="bench-inference-")
            t0, c0 = time.perf_counter(), time.process_time()
            table, _, _ = measure_task("sr", limit=args.evaluate, batch_size=args.batch_size,
                                       device="cpu", progress=False, execution=policy)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            times[label].append(wall)
            tables[label] = table
            print(f"  repeat {r + 1} {label:<5}: {wall:8.1f} s wall {cpu:8.1f} s CPU "
                  f"({args.evaluate / wall:.1f} images/s)", flush=True)
    e, p = statistics.median(times["eager"]), statistics.median(times["plan"])
    same = all(tables["eager"].pred[k].tobytes() == tables["plan"].pred[k].tobytes()
               and tables["eager"].prob[k].tobytes() == tables["plan"].prob[k].tobytes()
               for k in tables["eager"].pred)
    plans = "; ".join(f"{n} {d['backend']}" + (f"/{d['chunk']}" if d["chunk"] else "")
                      for n, d in tables["plan"].provenance["execution"].items())
    print(f"median: eager {e:.1f} s, plan {p:.1f} s: {e / p:.2f}x faster (goal 1.5x on the "
          f"full split); record tables identical: {'yes' if same else 'NO'}; plans: {plans}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sgemm-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--models", default=None, help="classifiers, comma-separated (default: all)")
    parser.add_argument("--execution", default=None,
                        help="the plan's policy (default: $RA_EXECUTION or auto)")
    parser.add_argument("--profile", action="store_true",
                        help="print each model's costliest eager operators")
    parser.add_argument("--evaluate", type=int, default=0, metavar="N",
                        help="also time evaluate --task sr on N images, eager vs plan")
    parser.add_argument("--evaluate-repeats", type=int, default=1)
    parser.add_argument("--warm-plans", action="store_true",
                        help="evaluate: keep the plans between runs (calibration not timed)")
    parser.add_argument("--skip-forwards", action="store_true",
                        help="only the evaluate comparison")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    execution.parse_policy(args.execution)            # a bad policy fails before any work
    task = create_task("sr")
    clf_cards, proc_cards = select_models(task.spec, EMBEDDED_DATASET)
    if args.models:
        wanted = args.models.split(",")
        clf_cards = [c for c in clf_cards if c["name"] in wanted]
    clfs, procs = load_models(clf_cards, "cpu"), load_models(proc_cards, "cpu")
    print(f"task {task.spec}: {len(procs)} processors, {len(clfs)} classifiers, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    if not args.skip_forwards:
        forwards(args, task, clfs, procs)
    if args.evaluate:
        evaluate_side_by_side(args)


if __name__ == "__main__":
    main()
