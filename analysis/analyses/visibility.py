"""The RA-visibility index of a quality metric: how far the metric moves between a processor's
outputs and the plain processor's, in units of how far it moves between two plain processors
trained with different seeds (the floor), on the same images.

Per metric (oriented: higher = better image) and processor: delta = mean oriented score of the
processor minus the plain processor's (paired over images); floor = the root mean square, over
every pair of the plain processor and its seed replicates, of their paired mean difference (for
three seeds sqrt(2) x the SD of the three means), or without replicates the bootstrap SD of the
plain mean (sampling noise only: the row's ``floor_source`` says ``sampling``); index =
|delta| / floor. Delta, floor and index share the bootstrap resamples over images, so the CI is
over images, not over the few training runs behind the floor. Shapes: per-image scores (n,).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..data.datasets import normal_dataset
from ..pipeline.setting import Setting
from ..zoo.catalogue import collection_dirs, find_checkpoints, processor_order
from .agreement_stats import N_BOOT, bootstrap_values, interval, weighted_mean
from .seed_spread import COLLECTION as SEEDS_COLLECTION
from .seed_spread import card_seed


def plain_reference(proc_cards: list[dict], task_name: str) -> str | None:
    """The task's plain processor: ``<task>-plain`` where it exists, else the first plain card."""
    plain = [c["name"] for c in proc_cards if c.get("method") == "plain"]
    return f"{task_name}-plain" if f"{task_name}-plain" in plain else (plain[0] if plain else None)


def default_replicates(proc_cards: list[dict], setting: Setting) -> list[dict]:
    """The plain processor's seed replicates in the checkpoint folder's ``seeds/`` collection
    (none where it has none), added to a pass over every processor of the task so that the
    visibility floor is the across-seed one."""
    reference = plain_reference(proc_cards, setting.task.name)
    where = collection_dirs(setting.folder).get(SEEDS_COLLECTION)
    if reference is None or where is None:
        return []
    held = {c["name"] for c in proc_cards}
    extra = [c for c in find_checkpoints(where, kind="processor", dataset=setting.dataset,
                                         task=setting.task.spec) if c["name"] not in held]
    names = set(seed_replicates([*proc_cards, *extra], reference))
    return sorted((c for c in extra if c["name"] in names), key=processor_order)


def seed_replicates(proc_cards: list[dict], reference: str | None) -> list[str]:
    """The plain processors of the pass trained with another seed than ``reference`` (its
    replicates in the ``seeds/`` collection, or any plain card of the same architecture, task
    and dataset with a different training seed), in pass order."""
    cards = {c["name"]: c for c in proc_cards}
    if reference not in cards:
        return []
    ref = cards[reference]
    return [c["name"] for c in proc_cards
            if c["name"] != reference and c.get("method") == "plain" and not c.get("lambda")
            and c.get("arch") == ref.get("arch") and c.get("task") == ref.get("task")
            and normal_dataset(c.get("dataset") or "") == normal_dataset(ref.get("dataset") or "")
            and card_seed(c) != card_seed(ref)]


def delta_and_floor(diff: np.ndarray, *rest: np.ndarray) -> np.ndarray:
    """(B, 2): weighted mean of ``diff`` (n,) and the RMS over the pair differences (each (n,))
    of their weighted means (the across-seed floor); the last of ``rest`` is the counts w
    (B, n), as :func:`~.agreement_stats.bootstrap_values` passes them."""
    *pair_diffs, w = rest
    means = np.stack([weighted_mean(d, w) for d in pair_diffs], 1)
    return np.stack([weighted_mean(diff, w), np.sqrt((means ** 2).mean(1))], 1)


def visibility_rows(values: dict, metric_specs: dict[str, bool], reference: str | None,
                    others: list[str], n_boot: int = N_BOOT, seed: int = 0,
                    replicates: list[str] = ()) -> list[dict]:
    """Per metric and processor of ``others``: the paired mean difference of oriented scores to
    ``reference`` (the plain processor) and the RA-visibility index over the across-seed floor
    of ``reference`` and its ``replicates`` (the sampling-noise floor without them; module
    docstring)."""
    if reference is None:
        return []
    n = len(values["label"])
    plains = [reference, *replicates]
    rows = []
    for m, lower_better in metric_specs.items():
        sign = -1.0 if lower_better else 1.0
        ref = sign * values[("metric", reference, m)]
        pair_diffs = [sign * (values[("metric", a, m)] - values[("metric", b, m)])
                      for a, b in combinations(plains, 2)]
        if not pair_diffs:
            _, ref_boots = bootstrap_values(weighted_mean, ref, n=n, n_boot=n_boot, seed=seed)
            sampling = float(np.std(ref_boots, ddof=1)) if ref_boots.size > 1 else float("nan")
        for inp in others:
            diff = sign * values[("metric", inp, m)] - ref
            if pair_diffs:
                full, boots = bootstrap_values(delta_and_floor,
                                               diff, *pair_diffs, n=n, n_boot=n_boot, seed=seed)
                delta, floor = float(full[0]), float(full[1])
                delta_boots, floor_boots = boots[:, 0], boots[:, 1]
                source = "seeds"
            else:
                delta, delta_boots = bootstrap_values(weighted_mean, diff, n=n, n_boot=n_boot,
                                                      seed=seed)
                floor, floor_boots = sampling, np.full(len(delta_boots), sampling)
                source = "sampling"
            with np.errstate(divide="ignore", invalid="ignore"):
                index = interval(abs(delta) / floor, np.abs(delta_boots) / floor_boots) \
                    if floor > 0 else {"value": float("nan"), "ci95": [float("nan")] * 2}
            rows.append({"metric": m, "input": inp, "reference": reference,
                         "delta": interval(delta, delta_boots), "floor": floor,
                         "floor_ci95": interval(floor, floor_boots)["ci95"],
                         "floor_source": source, "floor_processors": plains if pair_diffs
                         else [reference], "index": index})
    return rows
