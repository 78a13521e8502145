"""The Boundaries page's per-image work drawn two ways, and malloc's page faults.

1. images  For each test image: every chosen classifier's adaptive 128 x 128 map and its
           BDs (RA and random directions), as the page needs them for a new image, run in a
           fresh thread (Streamlit runs each page run in its own thread):
           - before: one job after another on torch's intra-op threads, the maps with the
             eager models (the baseline);
           - after: the jobs side by side (``analysis.side_by_side``: one single-threaded
             job per core), the maps with the channels-last copies (``plane_maps`` now).
           The two alternate image by image (before first on even images); maps and BDs must
           be identical. Prints seconds per image and the median ratio before / after.
2. channels  The same maps drawn with the eager models and with their channels-last copies
           (``analysis.pipeline.backends.ChannelsLast``) on one thread, alternating per map:
           seconds in all and map pixels that differ.
3. malloc  A 16-channel 3 x 3 convolution on 128 x 16 x 28 x 28, forwards timed in two fresh
           processes on one thread, with glibc's default malloc and with
           ``analysis.device.retain_freed_memory``; seconds and minor page faults.

    python -m benchmarks.bench_side_by_side [--images 6] [--classifiers resnet20,...]
        [--parts images,channels,malloc]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

CLASSIFIERS = "resnet20,densenet-bc,resnet32,vgg11-bn"

MALLOC_PROGRAM = """
import resource, sys, time, torch
from analysis.device import retain_freed_memory
torch.set_num_threads(1)
if sys.argv[1] == "retain":
    retain_freed_memory()
conv = torch.nn.Conv2d(16, 16, 3, padding=1).eval()
x = torch.randn(128, 16, 28, 28)
with torch.no_grad():
    for _ in range(5):
        conv(x)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    for _ in range(int(sys.argv[2])):
        conv(x)
    print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""


def in_a_thread(fn):
    """``fn()`` run in a new thread (as a Streamlit page run is); its result and seconds."""
    out = {}

    def body():
        start = time.perf_counter()
        out["result"] = fn()
        out["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return out["result"], out["seconds"]


def image_jobs(ws, index: int, names: list[str], resolution: int, eager: bool):
    from analysis.analyses.boundary_defaults import EXTENT_MULTIPLE
    from analysis.analyses.boundary_maps import adaptive_decision_map
    from analysis.explore.plane import extent_for, image_boundary_distances, plane_maps

    plane = ws.plane(index)
    extent = extent_for(EXTENT_MULTIPLE, plane.ra_length)

    def eager_map(name):
        return adaptive_decision_map(ws.classifiers[name], plane.x, plane.d_ra, plane.d_r,
                                     extent, resolution, coarse_step=8, batch_size=128).classes

    def page_map(name):
        return plane_maps(ws.plane(index), ws.models([name]), extent,
                          resolution)["maps"][name].classes

    draw = eager_map if eager else page_map
    return ([lambda n=n: draw(n) for n in names]
            + [lambda n=n: image_boundary_distances(plane, ws.models([n])) for n in names])


def bench_images(args) -> None:
    from analysis.explore.workspace import Workspace
    from analysis.side_by_side import run_side_by_side, workers

    names = args.classifiers.split(",")
    ws = Workspace("sr")
    print(f"1. {len(names)} classifiers' {args.resolution} x {args.resolution} maps and BDs "
          f"per image, {torch.get_num_threads()} intra-op threads, {workers()} side-by-side "
          "workers")
    for name in names:                                   # first-call costs out of the way
        in_a_thread(lambda n=name: [job() for job in image_jobs(ws, 0, [n], 16, True)])
        run_side_by_side(image_jobs(ws, 0, [name, name], 16, False))
    ratios, identical = [], True
    for index in range(args.images):
        def before(i=index):
            return [job() for job in image_jobs(ws, i, names, args.resolution, True)]

        def after(i=index):
            return run_side_by_side(image_jobs(ws, i, names, args.resolution, False))

        order = [("before", before), ("after", after)]
        timed = {}
        for label, fn in (order if index % 2 == 0 else order[::-1]):
            timed[label] = in_a_thread(fn)
        (old, t_old), (new, t_new) = timed["before"], timed["after"]
        k = len(names)
        same = (all(torch.equal(a, b) for a, b in zip(old[:k], new[:k])) and old[k:] == new[k:])
        identical &= same
        ratios.append(t_old / t_new)
        print(f"   image {index}: before {t_old:.2f} s, after {t_new:.2f} s "
              f"({t_old / t_new:.2f}x), identical: {'yes' if same else 'NO'}")
    print(f"   median ratio before / after: {statistics.median(ratios):.2f}x over "
          f"{len(ratios)} images; maps and BDs identical: {'yes' if identical else 'NO'}")


def bench_channels(args) -> None:
    from analysis.analyses.boundary_defaults import EXTENT_MULTIPLE
    from analysis.analyses.boundary_maps import adaptive_decision_map
    from analysis.explore.plane import extent_for
    from analysis.explore.workspace import Workspace
    from analysis.pipeline.backends import channels_last_copy

    names = args.classifiers.split(",")
    ws = Workspace("sr")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    seconds = {"eager": 0.0, "channels-last": 0.0}
    differ = total = 0
    try:
        for index in range(args.images):
            plane = ws.plane(index)
            extent = extent_for(EXTENT_MULTIPLE, plane.ra_length)
            for k, name in enumerate(names):
                models = {"eager": ws.classifiers[name],
                          "channels-last": channels_last_copy(ws.classifiers[name])}
                order = list(models) if (index + k) % 2 == 0 else list(models)[::-1]
                maps = {}
                for label in order:
                    start = time.perf_counter()
                    maps[label] = adaptive_decision_map(
                        models[label], plane.x, plane.d_ra, plane.d_r, extent, args.resolution,
                        coarse_step=8, batch_size=128).classes
                    seconds[label] += time.perf_counter() - start
                differ += int((maps["eager"] != maps["channels-last"]).sum())
                total += maps["eager"].numel()
    finally:
        torch.set_num_threads(threads)
    print(f"2. channels-last maps, one thread, {args.images} images x {len(names)} classifiers: "
          f"eager {seconds['eager']:.2f} s, channels-last {seconds['channels-last']:.2f} s "
          f"({seconds['eager'] / seconds['channels-last']:.2f}x); {differ:,} of {total:,} map "
          "pixels differ")


def bench_malloc(args) -> None:
    print(f"3. malloc: {args.forwards} forwards of a 3 x 3 convolution on 128 x 16 x 28 x 28, "
          "one thread, a fresh process each")
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    rows = {}
    for label in ("default", "retain", "default", "retain"):
        out = subprocess.run([sys.executable, "-c", MALLOC_PROGRAM, label, str(args.forwards)],
                             capture_output=True, text=True, check=True, env=env,
                             cwd=ROOT)
        seconds, faults = out.stdout.split()
        rows.setdefault(label, []).append((float(seconds), int(faults)))
    for label, runs in rows.items():
        print(f"   {label:8s} " + ", ".join(f"{s:.2f} s ({f:,} minor faults)" for s, f in runs))
    ratio = (statistics.median(s for s, _ in rows["default"])
             / statistics.median(s for s, _ in rows["retain"]))
    print(f"   ratio default / retain: {ratio:.2f}x")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--classifiers", default=CLASSIFIERS)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--forwards", type=int, default=200)
    parser.add_argument("--parts", default="images,channels,malloc")
    args = parser.parse_args(argv)
    from analysis.device import retain_freed_memory

    retain_freed_memory()                    # as the app does, for both ways of part 1
    parts = args.parts.split(",")
    if "images" in parts:
        bench_images(args)
    if "channels" in parts:
        bench_channels(args)
    if "malloc" in parts:
        bench_malloc(args)


if __name__ == "__main__":
    main()
