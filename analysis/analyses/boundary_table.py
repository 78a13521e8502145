"""The Table 17 analog: BD and IBD along RA and random directions, on the test split.

x is the plain processor's output and x_RA the RA processor's output for the
same LQ input (both clamped to [0, 1], the images that are classified);
d_RA = (x_RA - x) / ||x_RA - x||, and the random direction of image i is a
Gaussian seeded by (seed, i), shared by all classifiers. By default only the
images with Rs(x) = Rt(x) != label are used (the paper's protocol).

Under torchrun (WORLD_SIZE > 1; gloo on CPU, nccl on GPU) the images are
sharded across processes by position and the per-image records gathered on
rank 0, so the table is the same as with one process.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from ..config import EMBEDDED_DATASET
from ..data.datasets import normal_dataset
from ..data.folders import zoo_advice
from ..data.sampling import Sample
from ..data.tasks import index_seed, task_slug
from ..device import fit_batch
from ..errors import RAExplorerError
from ..outputs.result_files import result_files
from ..pipeline.partial import PartialStore
from ..pipeline.runner import gather_objects, processor_views
from ..pipeline.runner import world as runner_world
from ..pipeline.setting import Setting
from ..zoo.catalogue import find_checkpoints, locate
from ..zoo.checkpoints import load_checkpoint
from .boundary_defaults import (
    FIRST_STEP,
    GROWTH,
    IMAGES,
    MAX_DIST,
    MAX_DIST_RULE,
    METHOD,
    NEAREST,
    NEAREST_ATTACK,
    NEAREST_STEPS,
    OVERSHOOT,
    PERCEPTUAL,
    SCAN_STEPS,
    SCHEDULE,
    TOL,
    search_range,
)
from .boundary_exact import MAX_REGIONS, measure_boundaries
from .boundary_nearest import LIBRARY as NEAREST_LIBRARY
from .boundary_nearest import (
    attack_budget,
    default_perceptual,
    nearest_boundary,
    perceptual_distances,
    perceptual_metric,
)
from .boundary_search import (
    describe_schedule,
    random_directions,
    schedule_points,
    schedule_settings,
    unit,
)
from .boundary_stats import bootstrap_ci, estimate_text, num_text, summarize  # noqa: F401
from .boundary_units import DIRECTIONS, nearest_lines, nearest_table, perceptual_lines

PERCEPTUAL_DIRECTIONS = (*DIRECTIONS, "nearest")


@torch.no_grad()
def processed_pair(task, plain_model, ra_model, images: torch.Tensor, indices: torch.Tensor, device):
    """(x, d_RA, ||x_RA - x||) for clean test images (N, C, H, W) with their dataset indices.

    x and x_RA are the plain and RA processors' outputs for the task's seeded
    degradation of each image, clamped to [0, 1]; d_RA is the unit direction
    from x to x_RA (zero where they coincide); the length is on the CPU.
    """
    lq = task.degrade_eval(images, indices, seed=0).to(device)
    return plain_ra_geometry(processor_views(plain_model, lq).machine,
                             processor_views(ra_model, lq).machine)


def plain_ra_geometry(x: torch.Tensor, x_ra: torch.Tensor):
    """(x, d_RA, ||x_RA - x|| on the CPU) from the two processors' machine views."""
    return x, unit(x_ra - x), (x_ra - x).flatten(1).norm(dim=1).cpu()


def image_random_directions(shape, indices, seed: int = 0, device=None) -> torch.Tensor:
    """The random direction of each dataset index: a unit Gaussian seeded by (seed, index)."""
    return random_directions(shape, [index_seed(int(i), seed) for i in indices], device=device)


@torch.no_grad()
def collect_records(task: str, classifiers: list[str], dataset: str = EMBEDDED_DATASET,
                    folder=None, plain: str | None = None, ra: str | None = None,
                    limit: int | None = IMAGES, pair: tuple[str, str] | None = None,
                    all_images: bool = False, max_dist: float | None = MAX_DIST,
                    tol: float = TOL,
                    steps: int = SCAN_STEPS, clip: bool = False, seed: int = 0,
                    schedule: str = SCHEDULE, first_step: float = FIRST_STEP,
                    growth: float = GROWTH, method: str = METHOD,
                    max_regions: int = MAX_REGIONS, nearest: bool = NEAREST,
                    attack: str = NEAREST_ATTACK, attack_steps: int = NEAREST_STEPS,
                    overshoot: float = OVERSHOOT, perceptual: str | None = PERCEPTUAL,
                    device: str | None = None, batch_size: int | None = None,
                    progress: bool = True,
                    resume: bool | None = None) -> tuple[list[dict], dict]:
    """Per-image predictions and BDs of ``classifiers`` along both directions.

    ``method``: "search" (the sampled scan) or "exact" (the region walk,
    :mod:`analysis.analyses.boundary_exact`; a classifier it cannot follow is searched, and
    ``settings["methods"]`` says which method measured each classifier, with the reason;
    ``max_regions``: the walk's limit per pair).
    With "exact", each record's ``certificate`` holds, per classifier and direction, the
    regions crossed and the largest residual.

    ``nearest``: also the nearest-boundary distance of every classifier
    (:func:`analysis.analyses.boundary_nearest.nearest_boundary` with ``attack``,
    ``attack_steps``, ``overshoot``; an upper bound), per record under ``nearest``.
    ``perceptual``: the classifier metric (``lpips-<c>``) measuring each crossing point's
    distance from x, per record under ``perceptual`` (classifier -> direction, ``nearest``
    too); None: the first classifier's own (the pair's source), ``"none"``: left out.

    With ``pair`` and not ``all_images``, BDs are only searched on the images
    that the pair selects. ``schedule`` and its parameters (``first_step`` and
    ``growth``, or ``steps``) choose the coarse scan of
    :func:`analysis.analyses.boundary_search.boundary_distance`; ``max_dist`` None: the range
    scaled with the dataset's images (:func:`~analysis.analyses.boundary_defaults.max_dist_for`).
    ``batch_size`` (images searched together; None: 250, or fewer for large images, 13 at
    224x224x3: :data:`BD_BATCH_VALUES`) is also the unit of ``resume`` (None: no partial
    results; False: kept per batch, :mod:`analysis.pipeline.partial`; True: go on from those
    an interrupted run of the same settings kept). The progress bar (images) moves with every
    forward call of every search, with tqdm's estimate of the time left.
    Returns (records sorted by index, settings; ``searches`` and ``censored`` count the
    (image, classifier, direction) searches and those without a crossing).
    """
    setting = Setting(task, dataset, folder, device)
    scaled = max_dist is None
    info = setting.info
    max_dist = search_range(max_dist, info.channels * info.size ** 2)
    search = {"max_dist": max_dist, "tol": tol, "steps": steps, "schedule": schedule,
              "first_step": first_step, "growth": growth, "clip": clip}
    used: dict[str, str] = {}
    schedule_points(schedule, max_dist, steps, first_step, growth)  # bad settings fail before any work
    the_task = setting.task
    name = the_task.name
    plain, ra = plain or f"{name}-plain", ra or f"{name}-ra"
    dev = setting.device
    rank, world = runner_world()
    if dev.type == "cuda" and world > 1:
        dev = setting.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    base = setting.folder
    models, digests = {}, {}
    for n in [plain, ra, *classifiers]:
        if not (base / f"{n}.json").exists():
            model = {plain: "plain", ra: "ra"}.get(n, "classifier")
            advice = zoo_advice(setting.dataset, base, the_task.spec, (model,),
                                n if model == "classifier" else (classifiers or ["resnet20"])[0],
                                what="it")
            raise RAExplorerError(f"The checkpoint {n!r} is not in {base}; {advice}, or pass "
                                  "another name.")
        kind = "processor" if n in (plain, ra) else "classifier"
        models[n], card = load_checkpoint(locate(n, base), device=dev, kind=kind)   # clash: refused
        setting.check_fits(n, models[n], kind)
        digests[n] = card["weights"]["sha256"]
    if perceptual is None and classifiers:
        perceptual = default_perceptual(classifiers[0], base)
    metric = (perceptual_metric(perceptual, base, device=dev)
              if perceptual and perceptual != "none" else None)
    nearest_seconds, nearest_evaluations = 0.0, 0
    test = setting.test
    n_total = len(test) if limit is None else min(limit, len(test))
    batch_size = batch_size or fit_batch(info.channels * info.size ** 2, 250, BD_BATCH_VALUES)
    partial = None if resume is None else PartialStore(
        "bd", {"task": the_task.spec, "dataset": normal_dataset(setting.dataset),
               "models": digests, "classifiers": list(classifiers),
               "pair": list(pair) if pair else None, "all_images": all_images, **search,
               "method": method, "max_regions": max_regions, "seed": seed,
               "limit": repr(limit), "batch_size": batch_size, "world_size": world,
               "nearest": [nearest, attack, attack_steps, overshoot], "perceptual": perceptual},
        resume, rank=rank)
    records = []
    for part in (partial.done.values() if partial is not None else ()):
        records += part["records"]
        used.update(part["used"])
        nearest_seconds += part.get("nearest_seconds", 0.0)
        nearest_evaluations += part.get("nearest_evaluations", 0)
    bar = _SearchBar(f"boundaries {the_task.spec}", progress and rank == 0)
    pair_models = {plain: models[plain], ra: models[ra]}
    nb = ({"attack": attack, "steps": attack_steps, "clip": clip, "tol": tol,
           "overshoot": overshoot} if nearest else None)
    for batch in setting.batches(pair_models, progress=False, on_progress=bar.images,
                                 batch_size=batch_size, limit=limit, seed=0,
                                 include_clean=False, skip=partial.done if partial else ()):
        found = _search_batch(batch, models, classifiers, plain, ra, pair, all_images, seed,
                              dev, method, max_regions, search, bar, nb, metric)
        records += found["records"]
        used.update(found["used"])
        nearest_seconds += found["nearest_seconds"]
        nearest_evaluations += found["nearest_evaluations"]
        if partial is not None:
            partial.save(batch.number, found)
    bar.close()
    records = sorted(gather_objects(records, world), key=lambda r: r["index"])
    used = {k: v for part in gather_objects([used], world) for k, v in part.items()}
    settings = {"task": the_task.spec, "dataset": dataset, "plain": plain, "ra": ra,
                "limit": n_total, "tol": tol,
                **({"sampled": True} if isinstance(limit, Sample) and n_total < len(test) else {}),
                **schedule_settings(schedule, max_dist, steps, first_step, growth),
                "max_dist_rule": MAX_DIST_RULE if scaled else "given",
                "searches": sum(len(r["bd"]) * len(DIRECTIONS) for r in records),
                "censored": sum(math.isnan(v) for r in records for c in r["bd"].values()
                                for v in c.values()),
                "clip": clip, "seed": seed, "all_images": all_images, "world_size": world,
                "method": method, "methods": used,
                "nearest": ({"attack": attack, "steps": attack_steps, "tol": tol, "clip": clip,
                             **({"overshoot": overshoot} if attack == "deepfool" else {}),
                             "budget": attack_budget(attack, attack_steps, tol, overshoot, clip),
                             "library": NEAREST_LIBRARY,
                             "seconds": nearest_seconds, "evaluations": nearest_evaluations}
                            if nearest else None),
                "perceptual": perceptual if metric is not None else None,
                "units": "L2 distance in [0,1]-pixel units; rms = L2 / sqrt(C*H*W)"}
    settings["provenance"] = setting.provenance(
        n_images=n_total, checkpoints=digests, seeds={"degradation": 0, "directions": seed},
        world_size=world)
    if partial is not None:
        partial.finish()
    return records, settings


BD_BATCH_VALUES = 1 << 21   # image values per batch of images searched together (13 at 224 px)


class _SearchBar:
    """A tqdm bar of images on stderr that moves within a batch with every search step."""

    def __init__(self, desc: str, enabled: bool):
        self.bar = tqdm(desc=desc, file=sys.stderr, disable=not enabled, unit="img")
        self.done = 0          # images of finished batches

    def images(self, done: int, total: int) -> None:
        """The runner's callback: ``done`` images finished of ``total``."""
        self.bar.total = total
        self.done = done
        self._show(done)

    def within(self, batch: int, searches: int, search: int, step: int, steps: int) -> None:
        """Step ``step`` of ``steps`` of search ``search`` of ``searches`` on ``batch`` images."""
        self._show(self.done + batch * (search + step / max(steps, 1)) / max(searches, 1))

    def _show(self, n: float) -> None:
        self.bar.n = round(n, 2)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _search_batch(batch, models, classifiers, plain, ra, pair, all_images, seed, dev, method,
                  max_regions, search, bar: _SearchBar, nb: dict | None = None,
                  metric=None) -> dict:
    """{"records": the batch's per-image records, "used": classifier -> method,
    "nearest_seconds", "nearest_evaluations"} of one batch. ``nb``: the nearest-boundary
    attack's options (None: not measured); ``metric``: the perceptual metric of the crossing
    points (None: not measured)."""
    labels, indices = batch.labels, batch.indices
    x, d_ra, ra_len = plain_ra_geometry(batch.views[plain].machine, batch.views[ra].machine)
    preds = {c: models[c](x).argmax(1).cpu() for c in classifiers}
    keep = ra_len > 0
    if pair and not all_images:
        keep &= (preds[pair[0]] == preds[pair[1]]) & (preds[pair[0]] != labels)
    sel = torch.nonzero(keep).flatten()
    out = {"records": [], "used": {}, "nearest_seconds": 0.0, "nearest_evaluations": 0}
    records, used = out["records"], out["used"]
    if len(sel) == 0:
        return out
    d_rand = image_random_directions(x.shape[1:], indices[sel], seed, dev)
    directions = {"random": d_rand, "ra": d_ra[sel.to(dev)]}
    bds, certs, nbs, lps = {}, {}, {}, {}
    xs = x[sel.to(dev)]
    searches = len(classifiers) * len(directions)
    for k, (c, dname) in enumerate(itertools.product(classifiers, directions)):
        def step(done, steps, k=k):
            bar.within(len(indices), searches, k, done, steps)
        res = measure_boundaries(models[c], xs, directions[dname], method,
                                 max_regions=max_regions, on_step=step, **search)
        bds[(c, dname)] = res.dist
        used[c] = res.extra.get("fallback", res.extra["method"])
        if "certificate" in res.extra:
            certs[(c, dname)] = res.extra["certificate"]
        if metric is not None:
            lps[(c, dname)] = perceptual_distances(metric, xs, directions[dname], res.dist)
    for c in (classifiers if nb is not None else ()):
        found = nearest_boundary(models[c], xs, nb["attack"], nb["steps"], nb["clip"], nb["tol"],
                                 nb["overshoot"])
        nbs[c] = found.dist
        out["nearest_seconds"] += found.extra["seconds"]
        out["nearest_evaluations"] += found.evaluations
        if metric is not None:
            lps[(c, "nearest")] = perceptual_distances(metric, xs, found.extra["direction"],
                                                       found.dist)
    dims = x[0].numel()
    for k, i in enumerate(sel.tolist()):
        records.append({
                "index": int(indices[i]), "label": int(labels[i]),
                "pred": {c: int(preds[c][i]) for c in classifiers},
                "ra_length": float(ra_len[i]),
                "bd": {c: {dname: float(bds[(c, dname)][k]) for dname in DIRECTIONS}
                       for c in classifiers},
                **({"nearest": {c: float(nbs[c][k]) for c in classifiers}} if nbs else {}),
                **({"perceptual": {c: {dname: float(lps[(c, dname)][k])
                                       for dname in PERCEPTUAL_DIRECTIONS if (c, dname) in lps}
                                   for c in classifiers}} if lps else {}),
                **({"certificate": {f"{c}/{dname}": cert.row(k)
                                    for (c, dname), cert in certs.items()}} if certs else {}),
                "dims": dims})
    return out


def pair_table(records: list[dict], source: str, target: str, all_images: bool = False,
               seed: int = 0) -> dict:
    """Mean / median BD(Rs), BD(Rt) and IBD per direction, with bootstrap CIs and counts."""
    chosen = [r for r in records if all_images or (
        r["pred"][source] == r["pred"][target] and r["pred"][source] != r["label"])]
    table = {"source": source, "target": target, "selected": len(chosen), "directions": {}}
    for dname in DIRECTIONS:
        s = [r["bd"][source][dname] for r in chosen]
        t = [r["bd"][target][dname] for r in chosen]
        ibd = [abs(a - b) if not (math.isnan(a) or math.isnan(b)) else math.nan
               for a, b in zip(s, t)]
        dims = chosen[0]["dims"] if chosen else 1
        entry = {"bd_source": summarize(s, seed), "bd_target": summarize(t, seed),
                 "ibd": summarize(ibd, seed)}
        for stats in entry.values():
            stats["mean_rms"] = stats["mean"] / math.sqrt(dims)
        table["directions"][dname] = entry
    if all("nearest" in r for r in chosen) and chosen:
        table["nearest"] = nearest_table(chosen, source, target, seed)
    if all("perceptual" in r for r in chosen) and chosen:
        table["perceptual"] = {
            dname: {f"bd_{role}": summarize([r["perceptual"][c].get(dname, math.nan)
                                             for r in chosen], seed)
                    for role, c in (("source", source), ("target", target))}
            for dname in PERCEPTUAL_DIRECTIONS if dname in chosen[0]["perceptual"][source]}
    return table


def boundary_report(task: str, source: str, target: str | None = None, matrix: bool = False,
                    folder=None, **options) -> dict:
    """The Table 17 analog for one pair, or (``matrix``) for every pair of zoo classifiers."""
    dataset = options.get("dataset", EMBEDDED_DATASET)
    all_images = options.get("all_images", False)
    if matrix:
        names = [c["name"] for c in find_checkpoints(folder, kind="classifier", dataset=dataset)]
        records, settings = collect_records(task, names, folder=folder, **options)
        pairs = [pair_table(records, s, t, all_images, options.get("seed", 0))
                 for s, t in itertools.permutations(names, 2)]
        return {**settings, "classifiers": names, "pairs": pairs}
    if not target:
        raise RAExplorerError("Pass --target (or --matrix for every pair of classifiers).")
    records, settings = collect_records(task, [source, target], folder=folder,
                                        pair=(source, target), **options)
    return {**settings, "classifiers": [source, target],
            "pairs": [pair_table(records, source, target, all_images, options.get("seed", 0))],
            "records": records}


def empty_selection_note(report: dict) -> str | None:
    """A sentence for pairs on which no image qualified (the table's rows then show 0 images
    and no estimates), pointing to ``--all-images``; None when every pair has images."""
    empty = [f"{p['source']} / {p['target']}" for p in report["pairs"] if p["selected"] == 0]
    if not empty:
        return None
    if report.get("all_images"):
        return f"No test image was measured for {', '.join(empty)}."
    return (f"No test image qualified for {', '.join(empty)}: none of the {report['limit']} "
            "images has Rs(x) = Rt(x) != label (both classifiers agreeing on a wrong class). "
            "Rerun with --all-images to measure every image: python -m analysis bd "
            f"--task {report['task']} --source {report['pairs'][0]['source']} --target "
            f"{report['pairs'][0]['target']} --all-images")


def censored_note(report: dict) -> str | None:
    """A sentence when searches ended censored: how many, the range that was hit (the default
    rule or the given value) and the ``--max-dist`` that doubles it; None when none was."""
    censored, searches = report.get("censored", 0), report.get("searches", 0)
    if not censored:
        return None
    reach = report["max_dist"]
    why = (f"the default range {report['max_dist_rule']} = {reach:g}"
           if report.get("max_dist_rule", "given") != "given" else f"the range --max-dist {reach:g}")
    return (f"{censored} of {searches} searches found no class change within {why} "
            "([0,1]-pixel L2), so their BD is censored and left out of the means; raise the "
            f"range with --max-dist, e.g. --max-dist {2 * reach:g}.")


def method_text(report: dict) -> str:
    """One sentence saying how the BDs were measured (per classifier where methods differ)."""
    search = f"{describe_schedule(report)}, then bisection to {report['tol']}"
    exact = f"exact region walk to {report['max_dist']} (first crossing, float64)"
    used = report.get("methods") or {}
    if report.get("method", "search") == "search" or not used:
        return f"Search: {search}."
    if all(how == "exact" for how in used.values()):
        return f"Method: {exact}."
    return "Methods: " + "; ".join(
        f"{c}: {exact if how == 'exact' else 'sampled search, ' + search + ' (' + how + ')'}"
        for c, how in used.items()) + "."


def format_boundary_report(report: dict) -> str:
    which = ("a seeded class-stratified sample of" if report.get("sampled") else "first")
    lines = [f"Boundary distances on task {report['task']} ({report['dataset']} test split, {which} "
             f"{report['limit']} images; x = {report['plain']} output, d_RA towards "
             f"{report['ra']}). Units: {report['units']}. Clipping to [0, 1]: "
             f"{'on' if report['clip'] else 'off (paper)'}. {method_text(report)} Selection: "
             + ("all images." if report["all_images"] else "Rs(x) = Rt(x) != label."), ""]
    lines += ["| source | target | images | direction | BD(Rs) mean [95% CI] | BD(Rt) mean [95% CI] | "
              "IBD mean [95% CI] | IBD median [95% CI] | censored (Rs / Rt) |",
              "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for p in report["pairs"]:
        for dname in DIRECTIONS:
            e = p["directions"][dname]
            lines.append(
                f"| {p['source']} | {p['target']} | {p['selected']} | {dname} | "
                f"{estimate_text(e['bd_source'], 'mean')} | {estimate_text(e['bd_target'], 'mean')} | "
                f"{estimate_text(e['ibd'], 'mean')} | {estimate_text(e['ibd'], 'median')} | "
                f"{e['bd_source']['censored']} / {e['bd_target']['censored']} |")
    lines += nearest_lines(report) + perceptual_lines(report)
    note = censored_note(report)
    return "\n".join(lines + ([] if note is None else ["", note]))


def save_boundary_report(report: dict, out_dir: Path | None = None) -> list[Path]:
    first = report["pairs"][0]
    who = "matrix" if len(report["pairs"]) > 1 else f"{first['source']}_{first['target']}"
    json_path, md_path = result_files(out_dir, f"boundaries_{task_slug(report['task'])}_{who}",
                                       report.get("dataset"))
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(format_boundary_report(report) + "\n")
    return [json_path, md_path]
