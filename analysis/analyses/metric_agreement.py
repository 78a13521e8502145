"""Per-image agreement of image-quality metrics with recognition, the RA-visibility index of each
metric, and decision-margin consistency between classifiers, for one task in one runner pass.

For the first N (or a class-stratified sample of N) test images, every input (clean, no
processing, each processor of the task) and every classifier, the pass records per image the
classifier's logits on the machine view, reduced to

* the true-class probability p_y (softmax of the logits at the label),
* the logit margin z_y - max_{k != y} z_k (positive iff the classifier is right, ties aside),
* whether the top-1 class is the label,
* the confidence max_k softmax_k (used as a no-reference score ``confidence-<classifier>``),

and every quality metric of the registry on the human view against the clean image.

Orientation. A metric's *oriented score* is its value where higher is better and its negation
where lower is better (distances: ``lower_better`` in the registry), so for every metric a
positive Spearman rho / an AUROC above 0.5 means "the better the image by this metric, the
better the classifier does": the metric tracks recognition.

Agreement (per processed input, per classifier and pooled over the classifiers): Spearman's rho
of the oriented score with p_y and with the margin, and the AUROC of the oriented score for
"the classifier is right"; each with a percentile-bootstrap 95 % CI over images (pooled: an
image is drawn with the rows of every classifier).

RA visibility (per metric, per processor that is neither the plain one nor a seed replicate of
it): delta = mean oriented score of the processor minus that of the task's plain processor on the
same images (paired bootstrap CI), and index = |delta| / floor. The floor is how much the metric
moves between two plain processors trained with different seeds: with the plain processor's seed
replicates in the pass (``<plain>-seed<N>`` of the ``seeds/`` collection, named among the
processors), the root mean square over every pair of those plain processors of their paired mean
difference (for three seeds: sqrt(2) x the SD of the three means). An index near 1 or below: the
metric moves no more between plain and RA than between two plain training runs. Without
replicates the floor falls back to the bootstrap SD of the plain processor's mean (sampling
noise only, a lower bound of the across-seed floor, so the index is then an upper bound); the
row's ``floor_source`` says which. Delta, floor and index are computed on the same bootstrap
resamples, so the index's CI carries the image-sampling uncertainty of both; it does not carry
that of a floor estimated from a few training runs (three plain processors give three pairs).

Decision-margin consistency (per input including clean): Pearson's r between the per-image logit
margins of every pair of classifiers, with a bootstrap CI.

The classifier forwards run float32 eager (the logits are needed, not only the top-1 class of
the execution plans of :mod:`analysis.pipeline.execution`).
"""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..metrics.registry import create_metric, list_metrics
from ..outputs.result_files import write_result
from ..pipeline.runner import CLEAN, NO_PROCESSING, ProcessedBatch, gather_objects, world
from ..pipeline.setting import Setting
from ..zoo.catalogue import (
    model_digests,
    no_checkpoints_message,
)
from .agreement_stats import (
    N_BOOT,
    auroc_of_ranks,
    bootstrap_values,
    interval,
    midranks,
    weighted_pearson,
    with_ci,
)
from .quality import default_metrics
from .seed_spread import card_seed
from .visibility import default_replicates, plain_reference, seed_replicates, visibility_rows

POOLED = "pooled"
TARGETS = ("prob", "margin", "correct", "confidence")
# MIQA (machine-oriented IQA, 2.5 M degraded images, 75 models): SRCC of human-oriented
# metrics with classification success, as quoted in issue 36 (their setting, not ours)
MIQA_CLASSIFICATION_SRCC = {"psnr": 0.24, "ssim": 0.30, "lpips": 0.32, "dists": 0.39}


def logit_summary(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-image p_y, margin z_y - max_{k != y} z_k, correctness and max softmax, each (B,),
    of ``logits`` (B, K) for ``labels`` (B,)."""
    logits = logits.float()
    labels = labels.to(logits.device).long()
    prob = logits.softmax(1)
    true = logits.gather(1, labels[:, None])[:, 0]
    other = logits.scatter(1, labels[:, None], -math.inf).amax(1)
    return {"prob": prob.gather(1, labels[:, None])[:, 0].cpu().numpy().astype(np.float64),
            "margin": (true - other).cpu().numpy().astype(np.float64),
            "correct": (logits.argmax(1) == labels).cpu().numpy(),
            "confidence": prob.amax(1).cpu().numpy().astype(np.float64)}


class AgreementSink:
    """Per image: every classifier's logit summary on every input's machine view, and every
    metric of ``metrics`` (name -> ``m(x, y) -> Tensor[N]``) on every processed input's human
    view against the clean image. Under torchrun, :meth:`gather` joins the ranks in plan order."""

    def __init__(self, classifiers: dict[str, torch.nn.Module], metrics: dict):
        self.classifiers = classifiers
        self.metrics = metrics
        self.parts: list[tuple[int, dict]] = []
        self.values: dict = {}

    @torch.inference_mode()
    def add(self, batch: ProcessedBatch) -> None:
        part = {"label": batch.labels.numpy(), "index": batch.indices.numpy()}
        for inp, views in batch.views.items():
            for name, clf in self.classifiers.items():
                for key, vals in logit_summary(clf(views.machine), batch.labels).items():
                    part[(key, inp, name)] = vals
            if inp != CLEAN:
                for m, metric in self.metrics.items():
                    part[("metric", inp, m)] = metric(views.human, batch.clean).numpy().astype(
                        np.float64)
        self.parts.append((batch.number, part))

    def gather(self, world_size: int = 1) -> AgreementSink:
        """Join the parts (of every rank) in plan order into ``values``: key -> (N,)."""
        parts = [p for _, p in sorted(gather_objects(self.parts, world_size), key=lambda p: p[0])]
        self.values = {k: np.concatenate([p[k] for p in parts]) for k in (parts[0] if parts else {})}
        return self

    def n_images(self) -> int:
        return len(self.values.get("label", ()))


class AgreementResult(dict):
    """The result document (a dict, written as JSON) with the per-image values beside it in
    ``images`` (a DataFrame, written as Parquet by :func:`save_agreement`)."""

    images = None


def per_image_frame(values: dict, metrics: list[str], inputs: list[str],
                    classifiers: list[str]):
    """One row per image: ``index``, ``label``; per processed input ``metric|<input>|<m>``
    (float32, the metric's own orientation); per input ``margin|``, ``prob|``,
    ``confidence|<input>|<classifier>`` (float32) and ``correct|<input>|<classifier>``
    (bool)."""
    import pandas as pd

    columns = {"index": values["index"].astype(np.int64), "label": values["label"].astype(np.int64)}
    for inp in inputs:
        if inp != CLEAN:
            columns.update({f"metric|{inp}|{m}": values[("metric", inp, m)].astype(np.float32)
                            for m in metrics})
        for c in classifiers:
            columns.update({f"{t}|{inp}|{c}": values[(t, inp, c)].astype(
                bool if t == "correct" else np.float32) for t in TARGETS})
    return pd.DataFrame(columns)


def images_name(task_spec: str) -> str:
    """``agreement_<task>_images.parquet``: the per-image table beside the result."""
    return f"agreement_{task_slug(task_spec)}_images.parquet"


def recognition_statistics(score, prob, margin, correct, w) -> np.ndarray:
    """(B, 3): Spearman of ``score`` with ``prob`` and with ``margin``, AUROC of ``score`` for
    ``correct`` (all (n,)), under counts ``w`` (B, n); the score is ranked once."""
    ranks = midranks(score, w)
    return np.stack([weighted_pearson(ranks, midranks(prob, w), w),
                     weighted_pearson(ranks, midranks(margin, w), w),
                     auroc_of_ranks(ranks, correct, w)], 1)


def agreement_rows(values: dict, metric_specs: dict[str, bool], inputs: list[str],
                   classifiers: list[str], n_boot: int = N_BOOT, seed: int = 0) -> list[dict]:
    """One row per (metric, processed input, classifier or ``pooled``): Spearman of the oriented
    score with p_y and with the margin, AUROC for correctness, accuracy. ``metric_specs``:
    metric name -> lower_better; ``values``: the sink's arrays (``("metric", input, name)``
    and ``(target, input, classifier)``), with ``confidence-<c>`` scores added by
    :func:`agreement_analysis`."""
    n = len(values["label"])
    k = len(classifiers)
    rows = []
    for inp in inputs:
        target = {t: [values[(t, inp, c)] for c in classifiers] for t in ("prob", "margin",
                                                                           "correct")}
        for m, lower_better in metric_specs.items():
            score = -values[("metric", inp, m)] if lower_better else values[("metric", inp, m)]
            groups = [(c, score, target["prob"][j], target["margin"][j], target["correct"][j], 1)
                      for j, c in enumerate(classifiers)]
            if k > 1:
                groups.append((POOLED, np.tile(score, k), np.concatenate(target["prob"]),
                               np.concatenate(target["margin"]),
                               np.concatenate(target["correct"]), k))
            for clf, x, prob, margin, correct, repeat in groups:
                full, boots = bootstrap_values(recognition_statistics, x, prob, margin, correct,
                                               n=n, repeat=repeat, n_boot=n_boot, seed=seed)
                rows.append({"metric": m, "input": inp, "classifier": clf,
                             "accuracy": float(np.mean(correct)),
                             **{key: interval(float(full[j]), boots[:, j]) for j, key in
                                enumerate(("spearman_prob", "spearman_margin", "auroc"))}})
    return rows


def margin_consistency_rows(values: dict, inputs: list[str], classifiers: list[str],
                            n_boot: int = N_BOOT, seed: int = 0) -> list[dict]:
    """Per input and pair of classifiers: Pearson's r of their per-image logit margins."""
    n = len(values["label"])
    return [{"input": inp, "a": a, "b": b,
             "pearson": with_ci(weighted_pearson, values[("margin", inp, a)],
                                values[("margin", inp, b)], n=n, n_boot=n_boot, seed=seed)}
            for inp in inputs for a, b in combinations(classifiers, 2)]


def agreement_analysis(values: dict, metric_specs: dict[str, bool], classifiers: list[str],
                       inputs: list[str], reference: str | None, n_boot: int = N_BOOT,
                       seed: int = 0, replicates: list[str] = ()) -> dict:
    """The three tables of the module docstring from the sink's ``values``; the classifiers'
    confidences join the metrics as ``confidence-<classifier>`` (higher is better);
    ``replicates``: the plain processors of other seeds behind the visibility floor."""
    processed = [i for i in inputs if i != CLEAN]
    values = dict(values)
    specs = dict(metric_specs)
    for c in classifiers:
        specs[f"confidence-{c}"] = False
        for inp in processed:
            values[("metric", inp, f"confidence-{c}")] = values[("confidence", inp, c)]
    others = [i for i in processed if i not in (NO_PROCESSING, reference, *replicates)]
    return {"agreement": agreement_rows(values, specs, processed, classifiers, n_boot, seed),
            "visibility": visibility_rows(values, specs, reference, others, n_boot, seed,
                                          replicates),
            "margin_consistency": margin_consistency_rows(values, inputs, classifiers, n_boot,
                                                          seed)}


DEFINITIONS = {
    "orientation": "oriented score = metric value where higher is better, its negation where "
                   "lower is better; positive rho / AUROC > 0.5: the metric tracks recognition",
    "spearman_prob": "Spearman rho of the oriented score with the true-class softmax probability",
    "spearman_margin": "Spearman rho of the oriented score with the logit margin z_y - max z_k≠y",
    "auroc": "AUROC of the oriented score for 'the classifier's top-1 is the label'",
    "pooled": "the rows of every classifier together; the bootstrap draws an image with all of "
              "its rows",
    "confidence": "confidence-<c>: classifier c's max softmax on the processed image "
                  "(no reference; with c itself it predicts its own success)",
    "visibility": "delta: mean oriented score of the processor minus the plain processor's on "
                  "the same images (paired bootstrap CI); index: |delta| / floor, floor "
                  "(floor_source 'seeds') = RMS over pairs of plain processors trained with "
                  "different seeds of their paired mean difference: index <= 1 means the "
                  "metric moves no more between plain and RA than between two plain training "
                  "runs; floor_source 'sampling' (no seed replicates in the pass) = bootstrap "
                  "SD of the plain mean, a lower bound of the across-seed floor, so the index "
                  "is then an upper bound; delta, floor and index share the resamples, so the "
                  "CI is over images only: it does not carry the uncertainty of a floor "
                  "estimated from a few training runs (three plain processors: three pairs)",
    "margin_consistency": "Pearson r of two classifiers' per-image logit margins on one input",
    "ci95": "percentile bootstrap over images, 95 %",
}


def metric_agreement(task: str, dataset: str | None = None, folder=None, metrics=None,
                     classifiers=None, processors=None, limit=None, n_boot: int = N_BOOT,
                     batch_size: int = 250, device: str | None = None, seed: int = 0,
                     data_root: str | None = None, progress: bool = True,
                     on_progress=None) -> dict:
    """One runner pass over the first ``limit`` test images of ``task`` (or a
    :class:`~analysis.data.sampling.Sample`; all if None), then :func:`agreement_analysis`.

    ``metrics``: registry names (default: every available one for the dataset); ``classifiers``,
    ``processors``: names (default: the zoo's for the dataset / task, and the plain processor's
    seed replicates of the ``seeds/`` collection for the visibility floor,
    :func:`default_replicates`). Returns the result document (:data:`DEFINITIONS` included)."""
    setting = Setting(task, dataset, folder, device, data_root)
    clf_cards, proc_cards = setting.select(processors, classifiers)
    if not clf_cards:
        raise RAExplorerError(no_checkpoints_message("classifier", setting.dataset, folder))
    if processors is None:
        proc_cards += default_replicates(proc_cards, setting)
    names = list(metrics) if metrics else default_metrics(folder, setting.dataset)
    described = {m["name"]: m for m in list_metrics(folder, setting.dataset)}
    unknown = [m for m in names if m not in described]
    if unknown:
        create_metric(unknown[0], folder=folder)    # raises the registry's unknown-name error
    sink = AgreementSink(setting.load(clf_cards),
                         {m: create_metric(m, device=setting.device, folder=folder)
                          for m in names})
    setting.run(setting.load(proc_cards), [sink], desc=f"agreement {setting.task.spec}",
                progress=progress, on_progress=on_progress, batch_size=batch_size, limit=limit,
                seed=seed)
    _, size = world()
    sink.gather(size)
    clfs = [c["name"] for c in clf_cards]
    inputs = [CLEAN, NO_PROCESSING, *(c["name"] for c in proc_cards)]
    reference = plain_reference(proc_cards, setting.task.name)
    replicates = seed_replicates(proc_cards, reference)
    tables = agreement_analysis(sink.values, {m: described[m]["lower_better"] for m in names},
                                clfs, inputs, reference, n_boot, seed, replicates)
    cards = {c["name"]: c for c in proc_cards}
    result = AgreementResult({
        "task": setting.task.spec, "dataset": setting.dataset, "split": "test",
        "n_images": sink.n_images(), "seed": seed, "n_boot": n_boot,
        "sample": "stratified" if hasattr(limit, "seed") else "first",
        "metrics": [described[m] for m in names]
                   + [{"name": f"confidence-{c}", "lower_better": False,
                       "description": f"max softmax of {c} on the processed image"} for c in clfs],
        "classifiers": clfs,
        "inputs": [{"name": i, "method": cards.get(i, {}).get("method"),
                    "lambda": cards.get(i, {}).get("lambda"),
                    "seed": card_seed(cards[i]) if i in cards else None} for i in inputs],
        "plain_reference": reference, "plain_replicates": replicates,
        "definitions": DEFINITIONS,
        "miqa_classification_srcc": MIQA_CLASSIFICATION_SRCC,
        **tables,
        "provenance": setting.provenance(n_images=sink.n_images(),
                                         checkpoints=model_digests(clf_cards, proc_cards),
                                         seeds={"degradation": seed, "bootstrap": seed},
                                         world_size=size),
    })
    result.images = per_image_frame(sink.values, names, inputs, clfs) if sink.n_images() else None
    return result


def _ci(stat: dict, digits: int = 2) -> str:
    if stat["value"] is None or math.isnan(stat["value"]):
        return "-"
    low, high = stat["ci95"]
    return f"{stat['value']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_agreement(result: dict) -> str:
    """Markdown: per processed input, the metrics pooled over classifiers (sorted by rho with the
    margin); rho with the margin per classifier; the RA-visibility index; margin consistency."""
    clfs = result["classifiers"]
    pooled = POOLED if len(clfs) > 1 else clfs[0]
    arrows = {m["name"]: "↓" if m["lower_better"] else "↑" for m in result["metrics"]}
    lines = [f"Per-image agreement of quality metrics with recognition, task {result['task']}, "
             f"{result['dataset']} {result['split']} split, {result['n_images']} images "
             f"({result['sample']}); bootstrap 95 % CIs over images ({result['n_boot']} "
             "resamples). Scores are oriented so that higher = better image (↓ metrics are "
             "negated): rho > 0 and AUROC > 0.5 mean the metric tracks recognition.",
             "MIQA's classification SRCC for context (their data, not ours): " + ", ".join(
                 f"{k.upper()} {v:.2f}" for k, v in result["miqa_classification_srcc"].items())
             + "."]
    rows = result["agreement"]
    for inp in [i["name"] for i in result["inputs"] if i["name"] != CLEAN]:
        mine = [r for r in rows if r["input"] == inp and r["classifier"] == pooled]
        if not mine:
            continue
        mine.sort(key=lambda r: -np.nan_to_num(r["spearman_margin"]["value"], nan=-9))
        lines += ["", f"### {inp} ({pooled}; accuracy {mine[0]['accuracy']:.3f})", "",
                  "| metric | rho(p_y) | rho(margin) | AUROC(correct) |", "|---|---:|---:|---:|"]
        lines += [f"| {r['metric']} {arrows.get(r['metric'], '')} | {_ci(r['spearman_prob'])} | "
                  f"{_ci(r['spearman_margin'])} | {_ci(r['auroc'])} |" for r in mine]
    task_ra = f"{result['task'].split(':')[0]}-ra"
    focus = [i for i in (result["plain_reference"], task_ra)
             if any(r["input"] == i for r in rows)]
    for inp in focus if len(clfs) > 1 else []:
        by = {(r["metric"], r["classifier"]): r for r in rows if r["input"] == inp}
        lines += ["", f"### rho(margin) per classifier on {inp}", "",
                  "| metric | " + " | ".join(clfs) + " |", "|---|" + "---:|" * len(clfs)]
        for m in dict.fromkeys(r["metric"] for r in rows):
            lines.append(f"| {m} | " + " | ".join(
                _ci(by[(m, c)]["spearman_margin"]) for c in clfs) + " |")
    if result["visibility"]:
        others = list(dict.fromkeys(r["input"] for r in result["visibility"]))
        first = result["visibility"][0]
        floor = (f"floor = RMS of the paired mean differences between the plain processors of "
                 f"different seeds ({', '.join(first['floor_processors'])}): 1 = as much as two "
                 "plain training runs differ" if first.get("floor_source") == "seeds" else
                 "floor = bootstrap SD of the plain mean over images, sampling noise only (no "
                 "seed replicates in the run), so the index overstates one against the spread "
                 "across training seeds")
        lines += ["", f"### RA visibility: |delta| / floor against {result['plain_reference']} "
                  f"with its CI (delta of the oriented mean after it); {floor}", "",
                  "| metric | " + " | ".join(others) + " |", "|---|" + "---:|" * len(others)]
        by = {(r["metric"], r["input"]): r for r in result["visibility"]}
        for m in dict.fromkeys(r["metric"] for r in result["visibility"]):
            lines.append(f"| {m} | " + " | ".join(
                f"{_ci(by[(m, o)]['index'], 1)} ({by[(m, o)]['delta']['value']:+.3g})"
                for o in others) + " |")
    if result["margin_consistency"]:
        inputs = list(dict.fromkeys(r["input"] for r in result["margin_consistency"]))
        pairs = list(dict.fromkeys((r["a"], r["b"]) for r in result["margin_consistency"]))
        by = {(r["input"], r["a"], r["b"]): r for r in result["margin_consistency"]}
        lines += ["", "### Decision-margin consistency: Pearson r of per-image logit margins", "",
                  "| pair | " + " | ".join(inputs) + " |", "|---|" + "---:|" * len(inputs)]
        lines += [f"| {a} / {b} | " + " | ".join(_ci(by[(i, a, b)]["pearson"]) for i in inputs)
                  + " |" for a, b in pairs]
    return "\n".join(lines)


def save_agreement(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``agreement_<task>.json`` and ``.md``, and the per-image table
    (:func:`images_name`, zstd Parquet) where the result carries one."""
    written = write_result(result, out_dir, f"agreement_{task_slug(result['task'])}",
                           format_agreement)
    images = getattr(result, "images", None)
    if images is not None:
        path = written[0].parent / images_name(result["task"])
        images.to_parquet(path, compression="zstd", index=False)
        written.append(path)
    return written
