"""The exact region walk against the sampled search, on the same (image, direction) pairs.

small  A random conv + BN(eval) + residual + max-pool network on 7 x 7 images (the tests'
       kind), rays with a class change within about 0.1: both methods run to the end;
       forward-pass equivalents per pair (a tangent pass counts 2) and wall time, the two
       sides interleaved over ``--repeats`` and the median ratio reported.
zoo    The Table 17 selection (bench_boundary's reader: the first ``--images`` images, resnet20
       and densenet-bc, RA and random directions). The walk runs ``--regions`` regions per pair
       (a full walk to the search's BD is out of reach: see the output), giving the cost per
       region and the L2 distance covered per region; the extrapolated cost of a full walk is
       the search's BD divided by that reach, times the cost per region.

    python -m benchmarks.bench_boundary_exact [--parts small,zoo] [--images 4] [--regions 200]

One thread (the machine's load shared by both sides); the machine is named by its sgemm
GFLOP/s, measured in this process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from analysis.analyses.boundary_exact import exact_boundary_distance, walk_model
from analysis.analyses.boundary_search import boundary_distance, linear_scan_distance, unit
from benchmarks.bench_boundary import SELECTION, load_selection
from benchmarks.bench_inference import sgemm_gflops

CLASSIFIERS = ["resnet20", "densenet-bc"]


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c),
                                  nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return torch.relu(x + self.body(x))


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(), Block(4),
                        nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(4, 6, 3),
                        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    with torch.no_grad():
        net[0].weight.mul_(20)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def small_rays(net, n: int, seed: int = 1, margin: float = 0.1):
    """Rays whose first class change (on a 0.002 scan) lies about ``margin`` ahead."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(8 * n, 1, 7, 7, generator=g)
    d = unit(torch.randn(8 * n, 1, 7, 7, generator=g))
    first, _ = linear_scan_distance(net, p, d, max_dist=4.0, step=0.002)
    keep = torch.nonzero(first > margin).flatten()[:n]
    return p[keep] + (first[keep] - margin).view(-1, 1, 1, 1) * d[keep], d[keep]


def part_small(repeats: int, n: int) -> dict:
    net = small_net()
    x, d = small_rays(net, n)
    walker = walk_model(net)
    times = {"search": [], "exact": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        s = boundary_distance(net, x, d, max_dist=1.0)
        times["search"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        e = exact_boundary_distance(net, x, d, max_dist=1.0, walker=walker)
        times["exact"].append(time.perf_counter() - t0)
    ratios = [a / b for a, b in zip(times["exact"], times["search"])]
    cert = e.extra["certificate"]
    later = int(((s.dist - e.dist) > 1e-3).sum())
    return {"pairs": len(x), "search_passes_per_pair": s.evaluations / len(x),
            "exact_passes_per_pair": e.evaluations / len(x),
            "search_ms_per_pair": 1e3 * statistics.median(times["search"]) / len(x),
            "exact_ms_per_pair": 1e3 * statistics.median(times["exact"]) / len(x),
            "time_ratio_median": statistics.median(ratios),
            "regions_median": float(cert.regions.double().median()),
            "search_later_crossings": later, "max_residual": float(cert.residual.max())}


def part_zoo(images: int, regions: int) -> dict:
    models, x, directions, _ = load_selection(SELECTION, images, CLASSIFIERS)
    out = {}
    for c in CLASSIFIERS:
        walker = walk_model(models[c])
        for dname, d in directions.items():
            t0 = time.perf_counter()
            s = boundary_distance(models[c], x, d)
            search_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            e = exact_boundary_distance(models[c], x, d, walker=walker, max_regions=regions)
            exact_s = time.perf_counter() - t0
            cert = e.extra["certificate"]
            walked = cert.regions.double().sum().item()
            reach = cert.reached.double()
            per_region = (reach / cert.regions.double()).median().item()
            bd = s.dist.double()
            full_regions = (bd / per_region).nanmean().item()
            out[f"{c}/{dname}"] = {
                "pairs": len(x), "search_passes_per_pair": s.evaluations / len(x),
                "search_s_per_pair": search_s / len(x),
                "exact_s_per_region_pair": exact_s / walked,
                "exact_passes_per_region": e.evaluations / walked,
                "l2_per_region_median": per_region, "search_bd_mean": bd.nanmean().item(),
                "regions_for_full_walk_est": full_regions,
                "full_walk_s_per_pair_est": full_regions * exact_s / walked,
                "ratio_est": full_regions * exact_s / walked / (search_s / len(x)),
                "completed": int((~cert.unfinished).sum()),
                "max_residual": float(cert.residual.max())}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="small,zoo")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rays", type=int, default=32)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--regions", type=int, default=200)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = {"sgemm_gflops": sgemm_gflops(), "threads": 1}
    parts = args.parts.split(",")
    if "small" in parts:
        result["small"] = part_small(args.repeats, args.rays)
    if "zoo" in parts:
        result["zoo"] = part_zoo(args.images, args.regions)
    result["sgemm_gflops_after"] = sgemm_gflops()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
