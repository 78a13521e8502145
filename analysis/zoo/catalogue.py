"""Queries over the checkpoint folder: which models serve a dataset and task, in which order.

``select_models`` gives the classifier and processor cards of a dataset / task (processors in
method order); ``main_processors`` one processor per method; ``tasks_in_zoo`` the task specs
that have processors; ``model_digests`` the SHA-256 of each card's weights.
"""

from __future__ import annotations

from ..training.methods import METHODS
from .checkpoints import find_checkpoints


def processor_order(card: dict) -> tuple:
    """Sort key of processor cards: method order of the registry, then lambda, then name."""
    methods = list(METHODS)
    method = card.get("method")
    return (methods.index(method) if method in methods else len(methods),
            card.get("lambda") or 0.0, card["name"])


def main_processors(cards: list[dict], task_name: str) -> list[str]:
    """One processor name per method, in the cards' order: ``<task_name>-<method>`` where it
    exists, else the first card of that method; variants (transfer sources, lambda sweep) are
    left out."""
    by_method: dict[str, list[str]] = {}
    for card in cards:
        by_method.setdefault(card.get("method"), []).append(card["name"])
    return [f"{task_name}-{m}" if f"{task_name}-{m}" in names else names[0]
            for m, names in by_method.items()]


def select_models(task_spec: str, dataset: str, folder=None, processors=None, classifiers=None):
    """Classifier and processor cards for ``dataset`` / ``task_spec`` (optionally named subsets)."""
    clf_cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    proc_cards = find_checkpoints(folder, kind="processor", dataset=dataset, task=task_spec)
    if classifiers:
        clf_cards = [c for c in clf_cards if c["name"] in classifiers]
    if processors:
        proc_cards = [c for c in proc_cards if c["name"] in processors]
    return clf_cards, sorted(proc_cards, key=processor_order)


def tasks_in_zoo(dataset: str, folder=None) -> list[str]:
    """The task specs that have at least one processor checkpoint for ``dataset``."""
    specs = {c["task"] for c in find_checkpoints(folder, kind="processor", dataset=dataset)}
    return sorted(specs)


def model_digests(*card_lists: list[dict]) -> dict[str, str]:
    """Checkpoint name -> SHA-256 of its weights: what a result was measured on."""
    return {c["name"]: c["weights"]["sha256"] for cards in card_lists for c in cards}
