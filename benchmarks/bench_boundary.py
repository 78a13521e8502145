"""Boundary-analysis benchmarks on the Table 17 selection, each figure measured in one run.

bd     Forward passes per BD and agreement with a fine scan, over the Table 17
       selection (sr x4 test images where resnet20 and densenet-bc agree on a
       wrong class; both classifiers, RA and random directions). The reference
       is the first crossing of a 0.005 grid found by a 0.05 scan refined at
       0.005 (every point it visits is on the 0.005 grid). A search agrees on a
       pair when both are censored, or its distance lies in the reference's
       bracket (f - 0.005, f] widened by tol above. The default search's
       disagreements are settled by a full 0.005 scan of those pairs. Compared:
       the default geometric search and the uniform one (30 steps to 30).
full   The full 0.005 linear scan (no coarse level) run outright on the first
       ``--full-scan-images`` images (default all), vs the default search.
maps   Adaptive refinement vs the full grid at 128 x 128 around selected images
       (RA direction and an orthogonal random one), at several extents
       (zoomed-out maps have thin regions): evaluations and agreement.
speed  Map points per second vs raw batched inference of the same number of images.

    python -m benchmarks.bench_boundary [--parts bd,maps] [--images N] [--out details.json]

The selection is read from the Table 17 result (``--selection``; its records
are the selected images) and re-checked: each image's predictions are
recomputed and must agree on a wrong class.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

from analysis.analyses.boundary_maps import (
    adaptive_decision_map,
    agreement,
    decision_map,
    orthogonal_direction,
)
from analysis.analyses.boundary_search import _predict, boundary_distance, linear_scan_distance
from analysis.analyses.boundary_table import image_random_directions, processed_pair
from analysis.data.datasets import load_dataset
from analysis.data.folders import results_dir
from analysis.data.tasks import create_task
from analysis.zoo.catalogue import checkpoint_dir
from analysis.zoo.checkpoints import load_checkpoint

SELECTION = results_dir() / "boundaries_sr_scale4_resnet20_densenet-bc.json"
EPS = 1e-5  # float32 distances against float grid points


def load_selection(path: Path, images: int | None, classifiers: list[str]):
    """x, d_RA, random directions and indices of the selected images, re-checked."""
    doc = json.loads(Path(path).read_text())
    indices = torch.tensor([r["index"] for r in doc["records"]][:images])
    models = {n: load_checkpoint(checkpoint_dir() / n)[0].eval()
              for n in [doc["plain"], doc["ra"], *classifiers]}
    clean, labels, indices = load_dataset(doc["dataset"], "test").get_batch(indices)
    with torch.no_grad():
        x, d_ra, _ = processed_pair(create_task(doc["task"]), models[doc["plain"]], models[doc["ra"]],
                                    clean, indices, "cpu")
        preds = [models[c](x).argmax(1) for c in classifiers]
    assert all(torch.equal(p, preds[0]) for p in preds) and (preds[0] != labels).all(), \
        "the selection does not match the checkpoints"
    d_rand = image_random_directions(x.shape[1:], indices, doc.get("seed", 0))
    return models, x, {"ra": d_ra, "random": d_rand}, indices


@torch.no_grad()
def two_level_scan(model, x, d, max_dist: float, coarse: float = 0.05, fine: float = 0.005):
    """First crossing of the ``fine`` grid inside the first ``coarse`` bracket with a class change.

    Returns (dist (N,), NaN where censored; evaluations).
    """
    first, evaluations = linear_scan_distance(model, x, d, max_dist=max_dist, step=coarse)
    start = _predict(model, x, 1024)
    dist = first.clone()
    active = torch.nonzero(~torch.isnan(first)).flatten()
    for k in range(1, int(round(coarse / fine))):
        if len(active) == 0:
            break
        t = first[active] - coarse + k * fine
        pred = _predict(model, x[active] + t.view(-1, 1, 1, 1) * d[active], 1024)
        evaluations += len(active)
        crossed = pred != start[active]
        dist[active[crossed]] = t[crossed]
        active = active[~crossed]
    return dist, evaluations


def agrees(dist: torch.Tensor, ref: torch.Tensor, fine: float, tol: float) -> torch.Tensor:
    """Per pair: both censored, or dist in (ref - fine, ref + tol]."""
    both_cens = torch.isnan(dist) & torch.isnan(ref)
    inside = (dist > ref - fine - EPS) & (dist <= ref + tol + EPS)
    return both_cens | torch.nan_to_num(inside.float()).bool()


SEARCHES = {"geometric": {},                                     # the default: gap max(0.02, 0.25 t)
            "uniform 30 steps": {"schedule": "uniform", "steps": 30}}


def bd_benchmark(models, x, dirs, indices, classifiers, args, details):
    fine, tol = 0.005, args.tol
    totals = {name: {"passes": 0, "agree": 0} for name in SEARCHES}
    totals["reference"] = {"passes": 0}
    settled = {"earlier": 0, "earlier_confirmed": 0, "later": 0, "later_confirmed": 0}
    n = 0
    for clf in classifiers:
        for dname, d in dirs.items():
            t0 = time.perf_counter()
            ref, ref_evals = two_level_scan(models[clf], x, d, args.max_dist)
            runs = {name: boundary_distance(models[clf], x, d, max_dist=args.max_dist, tol=tol, **kw)
                    for name, kw in SEARCHES.items()}
            line = {"classifier": clf, "direction": dname, "pairs": len(x),
                    "reference_passes": ref_evals, "reference_censored": int(torch.isnan(ref).sum())}
            for name, res in runs.items():
                ok = agrees(res.dist, ref, fine, tol)
                totals[name]["passes"] += res.evaluations
                totals[name]["agree"] += int(ok.sum())
                line[name] = {"passes": res.evaluations, "agree": int(ok.sum()),
                              "censored": int(res.censored.sum()),
                              "largest_overstatement": float(torch.nan_to_num(
                                  res.dist - ref, nan=0.0).max())}
            totals["reference"]["passes"] += ref_evals
            n += len(x)
            # settle the default search's disagreements with a full 0.005 scan of those pairs
            geo = runs["geometric"].dist
            line["disagreements"] = []
            for i in torch.nonzero(~agrees(geo, ref, fine, tol)).flatten().tolist():
                reach = max(v for v in (float(geo[i]), float(ref[i]), 0.0) if not math.isnan(v))
                truth, _ = linear_scan_distance(models[clf], x[i:i + 1], d[i:i + 1],
                                                max_dist=reach + fine, step=fine)
                earlier = math.isnan(ref[i]) or (not math.isnan(geo[i]) and geo[i] < ref[i])
                confirmed = bool(agrees(geo[i:i + 1], truth, fine, tol)[0])
                key = "earlier" if earlier else "later"
                settled[key] += 1
                settled[f"{key}_confirmed"] += confirmed
                line["disagreements"].append({"index": int(indices[i]), "geometric": float(geo[i]),
                                              "reference": float(ref[i]), "full_scan": float(truth[0]),
                                              "geometric_agrees_with_full_scan": confirmed})
            line["seconds"] = round(time.perf_counter() - t0, 1)
            details["bd"].append(line)
            print(f"   {clf:<12} {dname:<6} {len(x)} pairs: passes per BD "
                  + ", ".join(f"{k} {runs[k].evaluations / len(x):.1f}" for k in SEARCHES)
                  + f", reference {ref_evals / len(x):.1f}; agreeing pairs "
                  + ", ".join(f"{k} {line[k]['agree']}" for k in SEARCHES)
                  + f"; {line['seconds']} s", flush=True)
    details["bd_summary"] = {"pairs": n, "totals": totals, "settled": settled}
    ref_passes = totals["reference"]["passes"]
    print(f"1. BD search over {n} pairs (reference: 0.05 scan refined at 0.005, "
          f"{ref_passes / n:.1f} passes per BD):")
    for name in SEARCHES:
        t = totals[name]
        print(f"   {name}: {t['passes'] / n:.1f} passes per BD ({ref_passes / t['passes']:.2f}x fewer "
              f"than the reference), {100 * t['agree'] / n:.2f} % of pairs within tol of its first "
              f"crossing")
    print(f"   geometric disagreements: {settled['earlier']} earlier than the reference "
          f"({settled['earlier_confirmed']} confirmed by a full 0.005 scan), {settled['later']} later "
          f"({settled['later_confirmed']} agree with the full scan)")


def full_scan_benchmark(models, x, dirs, indices, classifiers, args, details):
    """The full 0.005 linear scan (no coarse level) run outright, vs the default search."""
    fine, tol = 0.005, args.tol
    k = len(x) if args.full_scan_images is None else min(args.full_scan_images, len(x))
    full = {"evaluations": 0, "geometric": 0, "pairs": 0, "agree": 0, "censored": 0}
    for clf in classifiers:
        for dname, d in dirs.items():
            t0 = time.perf_counter()
            fs, fs_evals = linear_scan_distance(models[clf], x[:k], d[:k], max_dist=args.max_dist,
                                                step=fine)
            ours = boundary_distance(models[clf], x[:k], d[:k], max_dist=args.max_dist, tol=tol)
            ok = agrees(ours.dist, fs, fine, tol)
            full["evaluations"] += fs_evals
            full["geometric"] += ours.evaluations
            full["pairs"] += k
            full["agree"] += int(ok.sum())
            full["censored"] += int(torch.isnan(fs).sum())
            details["full"].append({"classifier": clf, "direction": dname, "pairs": k,
                                    "full_scan_passes": fs_evals, "geometric_passes": ours.evaluations,
                                    "agree": int(ok.sum()),
                                    "disagree": [(int(indices[i]), float(ours.dist[i]), float(fs[i]))
                                                 for i in torch.nonzero(~ok).flatten().tolist()],
                                    "seconds": round(time.perf_counter() - t0, 1)})
            print("   " + json.dumps(details["full"][-1]), flush=True)
    p = full["pairs"]
    details["full_summary"] = full
    print(f"2. full 0.005 linear scan on {k} images ({p} pairs, {full['censored']} censored at "
          f"{args.max_dist}): {full['evaluations'] / p:.1f} passes per BD vs geometric "
          f"{full['geometric'] / p:.1f} -> {full['evaluations'] / full['geometric']:.1f}x fewer; "
          f"{100 * full['agree'] / p:.2f} % of pairs within tol of the full scan's first crossing")


def maps_benchmark(models, x, dirs, indices, classifiers, args, details):
    variants = {f"coarse {c}" + (" + neighbours" if nb else ""): {"coarse_step": c, "neighbours": nb}
                for c, nb in args.map_variants}
    rows = {v: {"ratios": [], "agreements": []} for v in variants}
    if args.map_images:
        wanted = [int(v) for v in args.map_images.split(",")]
        chosen = [indices.tolist().index(v) for v in wanted]
    else:
        chosen = list(range(min(args.maps, len(x))))
    for clf in classifiers:
        for i in chosen:
            d1 = dirs["ra"][i]
            d2 = orthogonal_direction(d1, seed=int(indices[i]))
            for extent in args.extents:
                full = decision_map(models[clf], x[i], d1, d2, extent, args.resolution)
                line = {"classifier": clf, "index": int(indices[i]), "extent": extent,
                        "classes": len(set(full.classes.flatten().tolist())),
                        "smallest_class_points": smallest_class(full.classes)}
                for name, kw in variants.items():
                    fast = adaptive_decision_map(models[clf], x[i], d1, d2, extent, args.resolution,
                                                 **kw)
                    rows[name]["ratios"].append(full.evaluations / fast.evaluations)
                    rows[name]["agreements"].append(agreement(full.classes, fast.classes))
                    line[name] = {"evaluations": fast.evaluations,
                                  "agreement": rows[name]["agreements"][-1]}
                details["maps"].append(line)
                print("   " + json.dumps(line), flush=True)
    n = len(next(iter(rows.values()))["ratios"])
    for name, r in rows.items():
        print(f"3. adaptive {args.resolution}x{args.resolution}, {name}: "
              f"{statistics.mean(r['ratios']):.1f}x fewer evaluations "
              f"(range {min(r['ratios']):.1f}-{max(r['ratios']):.1f}); agreement with the full grid "
              f"mean {100 * statistics.mean(r['agreements']):.2f} %, worst "
              f"{100 * min(r['agreements']):.2f} %, {sum(a >= 0.99 for a in r['agreements'])} of {n} "
              f"maps >= 99 %")


def smallest_class(classes: torch.Tensor) -> int:
    """Grid points of the rarest class present on a map."""
    counts = torch.bincount(classes.flatten())
    return int(counts[counts > 0].min())


def speed_benchmark(model, x, d):
    x0, d1 = x[0], d[0]
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
    print(f"4. 2-D map: {map_rate:.0f} points/s vs {raw_rate:.0f} images/s raw batched inference "
          f"-> ratio {map_rate / raw_rate:.2f}")


def _variant(text: str) -> tuple[int, bool]:
    step, _, nb = text.partition("+")
    return int(step), nb == "n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="bd,full,maps", help="comma list of bd, full, maps, speed")
    parser.add_argument("--selection", default=str(SELECTION), help="Table 17 result JSON")
    parser.add_argument("--classifiers", default="resnet20,densenet-bc")
    parser.add_argument("--images", type=int, default=None, help="first N selected images (all)")
    parser.add_argument("--max-dist", type=float, default=30.0)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--full-scan-images", type=int, default=None,
                        help="part full: first N images for the full 0.005 linear scan (all)")
    parser.add_argument("--maps", type=int, default=4, help="images per classifier for the maps")
    parser.add_argument("--map-images", default=None,
                        help="comma list of dataset indices for the maps (default: the first --maps)")
    parser.add_argument("--extents", default="3,10,30", help="map half-widths, [0,1]-pixel L2")
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--map-variants", default="8,8+n,4+n",
                        help="coarse steps of the adaptive maps; +n: refine next to mixed cells")
    parser.add_argument("--out", default=None, help="write per-pair and per-map details here")
    args = parser.parse_args(argv)
    args.extents = [float(e) for e in args.extents.split(",")]
    args.map_variants = [_variant(v) for v in args.map_variants.split(",")]
    classifiers = args.classifiers.split(",")
    parts = set(args.parts.split(","))
    torch.manual_seed(0)
    models, x, dirs, indices = load_selection(args.selection, args.images, classifiers)
    print(f"{len(x)} selected images of {args.selection}; classifiers {', '.join(classifiers)}; "
          f"max_dist {args.max_dist}, tol {args.tol}; CPU threads {torch.get_num_threads()}",
          flush=True)
    details = {"args": {k: v for k, v in vars(args).items()}, "bd": [], "full": [], "maps": []}
    if "bd" in parts:
        bd_benchmark(models, x, dirs, indices, classifiers, args, details)
    if "full" in parts:
        full_scan_benchmark(models, x, dirs, indices, classifiers, args, details)
    if "maps" in parts:
        maps_benchmark(models, x, dirs, indices, classifiers, args, details)
    if "speed" in parts:
        speed_benchmark(models[classifiers[0]], x, dirs["random"])
    if args.out:
        Path(args.out).write_text(json.dumps(details, indent=1) + "\n")


if __name__ == "__main__":
    main()
