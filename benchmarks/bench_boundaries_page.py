"""The Boundaries page's work for a new image, drawn progressively, against drawing it in one go.

1. default  On the embedded default (Fashion-MNIST, the zoo's default classifier pair,
            128 x 128 maps at the page's opening extent): for each test image, in a fresh
            thread as a Streamlit run has,
            - baseline: each classifier's adaptive map in one go (``plane_maps``) and its BDs,
              the classifiers side by side;
            - project: the page's path (``refine_maps`` on new ``progressive_map`` states,
              level by level, then the BDs side by side), with the time of its first (5 x 5)
              level, of the complete maps and of maps plus BDs.
            The two alternate image by image (baseline first on even images); the complete
            maps must be identical. Prints seconds per image, the median ratio and the load.
2. scale    The same progressive maps at ``--size`` px (default 224) with the zoo
            architectures ``--archs`` built with random weights (the time of a forward
            depends on the architecture, not on the weights), on a random RGB image and
            plane, at the page's opening resolution for that size: the time of each level
            within ``--budget`` seconds.

    python -m benchmarks.bench_boundaries_page [--images 6] [--parts default,scale]
        [--size 224] [--archs resnet20,densenet-bc] [--budget 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import torch


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


def bench_default(args) -> None:
    from analysis.explore.plane import (
        image_boundary_distances,
        plane_maps,
        progressive_map,
        refine_maps,
    )
    from analysis.explore.workspace import Workspace
    from analysis.side_by_side import run_side_by_side, workers

    ws = Workspace("sr")
    view = ws.default_view()
    names, resolution = view.classifiers, view.resolution
    print(f"1. default: {', '.join(names)}, {resolution} x {resolution} maps and BDs per new "
          f"image, {workers()} side-by-side workers; load average {os.getloadavg()[0]:.1f}")

    def baseline(i):
        plane = ws.plane(i)
        extent = view.extent * plane.ra_length / ws.plane(view.index).ra_length
        maps = run_side_by_side([lambda n=n: plane_maps(plane, ws.models([n]), extent,
                                                        resolution)["maps"][n] for n in names])
        run_side_by_side([lambda n=n: image_boundary_distances(plane, ws.models([n]))
                          for n in names])
        return [m.classes for m in maps], {}

    def project(i):
        t0 = time.perf_counter()
        plane = ws.plane(i)
        extent = view.extent * plane.ra_length / ws.plane(view.index).ra_length
        states = {n: progressive_map(extent, resolution) for n in names}
        seen = {}

        def on_level(maps):
            seen.setdefault("first", time.perf_counter() - t0)

        maps = refine_maps(plane, ws.models(names), states, on_level=on_level)
        seen["maps"] = time.perf_counter() - t0
        run_side_by_side([lambda n=n: image_boundary_distances(plane, ws.models([n]))
                          for n in names])
        return [maps[n].classes for n in names], seen

    in_a_thread(lambda: (baseline(view.index), project(view.index)))   # first-call costs
    ratios, firsts, totals, identical = [], [], [], True
    for k in range(args.images):
        i = view.index + 1 + k
        order = [("baseline", baseline), ("project", project)]
        timed = {}
        for label, fn in (order if k % 2 == 0 else order[::-1]):
            timed[label] = in_a_thread(lambda fn=fn, i=i: fn(i))
        ((old, _), t_old), ((new, seen), t_new) = timed["baseline"], timed["project"]
        same = all(torch.equal(a, b) for a, b in zip(old, new))
        identical &= same
        ratios.append(t_old / t_new)
        firsts.append(seen["first"])
        totals.append(t_new)
        print(f"   image {i}: baseline {t_old:.2f} s; progressive: first level "
              f"{seen['first']:.2f} s, maps {seen['maps']:.2f} s, maps + BDs {t_new:.2f} s "
              f"({t_old / t_new:.2f}x); identical maps: {'yes' if same else 'NO'}")
    print(f"   first level {min(firsts):.2f}-{max(firsts):.2f} s; maps + BDs "
          f"{min(totals):.2f}-{max(totals):.2f} s (median {statistics.median(totals):.2f}); "
          f"baseline / progressive {statistics.median(ratios):.2f}x (median of {len(ratios)}); "
          f"identical: {'yes' if identical else 'NO'}; load average {os.getloadavg()[0]:.1f}")


def bench_scale(args) -> None:
    from analysis.analyses.boundary_defaults import map_opening_marks, map_resolution_for
    from analysis.analyses.boundary_maps import orthogonal_direction
    from analysis.explore.plane import Plane, progressive_map, refine_maps
    from analysis.zoo import create_model

    torch.manual_seed(0)
    size = args.size
    resolution = map_resolution_for(3 * size * size)
    models = {a: create_model(a, num_classes=10, in_channels=3).eval()
              for a in args.archs.split(",")}
    x = torch.rand(3, size, size)
    d_ra = torch.randn(3, size, size)
    d_ra = d_ra / d_ra.norm()
    plane = Plane(0, x, d_ra, orthogonal_direction(d_ra, seed=1), 1.0)
    states = {a: progressive_map(4.0, resolution,
                                 opening_marks=map_opening_marks(3 * size * size))
              for a in models}
    print(f"2. scale: {', '.join(models)} (random weights) at {size} px, {resolution} x "
          f"{resolution} maps, budget {args.budget:g} s; load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    levels = []

    def on_level(maps):
        m = next(iter(maps.values()))
        levels.append((m.level, max(s.evaluations for s in maps.values()),
                       time.perf_counter() - t0))

    _, seconds = in_a_thread(lambda: refine_maps(
        plane, models, states, deadline=time.monotonic() + args.budget, on_level=on_level))
    for level, evaluations, at in levels:
        print(f"   level {level}: {evaluations} points evaluated per map, shown after {at:.2f} s")
    done = all(s.complete for s in states.values())
    print(f"   {'complete' if done else 'budget reached'} after {seconds:.2f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--parts", default="default,scale")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--archs", default="resnet20,densenet-bc")
    parser.add_argument("--budget", type=float, default=5.0)
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    if "default" in parts:
        bench_default(args)
    if "scale" in parts:
        bench_scale(args)


if __name__ == "__main__":
    main()
