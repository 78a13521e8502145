"""Rows of processors paired with a plain processor of their own group (an architecture, a
training seed): :func:`measure_groups` runs every group's processors on the test split in one
pass; :func:`group_rows` gives accuracy per classifier with a Wilson 95 % CI, PSNR and SSIM
with 95 % CIs, and each non-plain processor's matched-pairs difference to its group's plain one
(:func:`analysis.analyses.evaluate.paired_difference`), from the record table."""

from __future__ import annotations

from ..errors import RAExplorerError
from ..metrics.registry import create_metric
from ..pipeline.records import RecordSink, RecordTable
from ..pipeline.runner import CLEAN, NO_PROCESSING
from ..pipeline.setting import Setting
from ..stats import mean_interval, wilson_interval
from ..zoo.catalogue import model_digests, no_checkpoints_message
from .evaluate import paired_difference


def measure_groups(setting: Setting, groups: dict, classifiers, desc: str, *,
                   limit: int | None = None, batch_size: int | None = None, seed: int = 0,
                   progress: bool = True, on_progress=None,
                   include_clean: bool = True) -> tuple[RecordTable, list[str]]:
    """One runner pass of every processor card of ``groups`` ({group: {key: card}}) over the
    test split of ``setting``, judged by ``classifiers`` (names; default the zoo's), with PSNR
    and SSIM: (the record table with its provenance, the classifiers' names); the clean images
    too unless ``include_clean`` is False."""
    clf_cards, _ = setting.select(None, classifiers)
    if not clf_cards:
        raise RAExplorerError(no_checkpoints_message("classifier", setting.dataset,
                                                     setting.folder))
    proc_cards = [c for cards in groups.values() for c in cards.values()]
    dev = setting.device
    sink = RecordSink(setting.load(clf_cards), {"psnr": create_metric("psnr", device=dev),
                                                "ssim": create_metric("ssim", device=dev)},
                      execution="eager")
    setting.run(setting.load(proc_cards), [sink], desc=desc, progress=progress,
                on_progress=on_progress, batch_size=batch_size, limit=limit, seed=seed,
                include_clean=include_clean)
    n = len(setting.test) if limit is None else min(limit, len(setting.test))
    record = setting.provenance(n_images=n, checkpoints=model_digests(clf_cards, proc_cards),
                                seeds={"degradation": seed})
    return (sink.table(setting.task.spec, setting.dataset, "test", 1, record),
            [c["name"] for c in clf_cards])


def pct_text(cell: dict) -> str:
    """``86.76 [86.08, 87.41]``: an accuracy cell in % with its CI."""
    low, high = cell["ci95"]
    return f"{100 * cell['accuracy']:.2f} [{100 * low:.2f}, {100 * high:.2f}]"


def diff_text(d: dict) -> str:
    """``+3.90 [+3.36, +4.44]``: a paired difference in points with its CI."""
    low, high = d["ci95"]
    return f"{100 * d['diff']:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]"


def bounds(table: RecordTable, classifiers: list[str]) -> dict:
    """{classifier: {clean, no processing: accuracy cell}}: the accuracy every processor's row
    lies between, from the record table."""
    return {k: {CLEAN: accuracy_cell(table.correct(CLEAN, k)),
                NO_PROCESSING: accuracy_cell(table.correct(NO_PROCESSING, k))}
            for k in classifiers}


def bounds_lines(bounds: dict) -> list[str]:
    """Markdown lines of the clean and no-processing accuracy per classifier (``bounds``:
    {classifier: {clean, no processing}: cell}), a blank line first."""
    return ["", "| classifier | clean | no processing |", "|---|---|---|",
            *(f"| {k} | {pct_text(b[CLEAN])} | {pct_text(b[NO_PROCESSING])} |"
              for k, b in bounds.items())]


def accuracy_cell(hits) -> dict:
    """{accuracy, ci95 (Wilson), correct} of per-image correctness ``hits`` (N,) bool."""
    k, n = int(hits.sum()), len(hits)
    low, high = wilson_interval(k, n)
    return {"accuracy": k / n, "ci95": [low, high], "correct": k}


def mean_cell(values) -> dict:
    """{mean, ci95} of per-image values (N,)."""
    mean, low, high = mean_interval(values.tolist())
    return {"mean": mean, "ci95": [low, high]}


def group_rows(table: RecordTable, cards: dict[str, dict], classifiers: list[str],
               plain: str = "plain") -> dict[str, dict]:
    """{key: row} for the processors ``cards`` ({key: card}, ``plain`` among the keys) of one
    group: ``name``, ``lambda``, ``accuracy[classifier]``, ``psnr``, ``ssim`` and, for every
    key but ``plain``, ``ra_minus_plain[classifier]`` against the group's plain processor."""
    base = cards[plain]["name"]
    rows = {}
    for key, card in cards.items():
        name = card["name"]
        rows[key] = {"name": name, "lambda": card.get("lambda"),
                     "accuracy": {k: accuracy_cell(table.correct(name, k)) for k in classifiers},
                     "psnr": mean_cell(table.quality[("psnr", name)]),
                     "ssim": mean_cell(table.quality[("ssim", name)])}
        if key != plain:
            rows[key]["ra_minus_plain"] = {
                k: paired_difference(table.correct(name, k), table.correct(base, k))
                for k in classifiers}
    return rows
