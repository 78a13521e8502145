"""Queries over the checkpoint folder: which models serve a dataset and task, in which order.

``select_models`` gives the classifier and processor cards of a dataset / task (processors in
method order); ``main_processors`` one processor per method; ``tasks_in_zoo`` the task specs
that have processors; ``model_digests`` the SHA-256 of each card's weights; ``ra_source`` /
``task_ra_source`` the RA source classifier the processor cards name (roles come from cards,
never from a model's name).
"""

from __future__ import annotations

from ..errors import RAExplorerError
from ..methods.processors import METHODS
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
    """Classifier and processor cards for ``dataset`` / ``task_spec`` (optionally named subsets).

    Without ``classifiers``: the zoo's own classifiers. Named ``classifiers`` may also come
    from the classifier collections (``checkpoints/recognizers/``: resnet20-augment, ...), in
    the order given; a name found nowhere is an error.
    """
    clf_cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    proc_cards = find_checkpoints(folder, kind="processor", dataset=dataset, task=task_spec)
    if classifiers:
        from ..errors import close_names_hint
        from .checkpoints import classifier_cards

        pool = {c["name"]: c for c in classifier_cards(folder, dataset)}
        unknown = [n for n in classifiers if n not in pool]
        if unknown:
            raise RAExplorerError(f"No classifier {', '.join(unknown)} for {dataset}."
                                  f"{close_names_hint(unknown[0], list(pool))} Known "
                                  f"classifiers: {', '.join(pool)}.")
        clf_cards = [pool[n] for n in dict.fromkeys(classifiers)]
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


def ra_sources(cards: list[dict]) -> dict[str, int]:
    """{source classifier: number of RA processors trained through it}, from processor cards
    (or evaluation rows, which carry the same ``method`` / ``source`` fields)."""
    counts: dict[str, int] = {}
    for card in cards:
        if card.get("method") == "ra" and card.get("source"):
            counts[card["source"]] = counts.get(card["source"], 0) + 1
    return counts


def ra_source(cards: list[dict], choice: str | None = None, what: str = "these processors") -> str | None:
    """The RA source classifier the cards name: ``choice`` (``--source``) if given and named
    by an RA card; else the source most RA processors were trained through (the main RA
    processor and its lambda sweep; a transfer variant has one card per source); None
    when no RA card names one. A tie between sources needs ``choice``.
    """
    counts = ra_sources(cards)
    if choice is not None:
        if counts and choice not in counts:
            raise RAExplorerError(f"No RA processor of {what} was trained through {choice!r}; "
                                  f"their cards name {', '.join(sorted(counts))}.")
        return choice
    if not counts:
        return None
    best = max(counts.values())
    top = sorted(s for s, n in counts.items() if n == best)
    if len(top) > 1:
        raise RAExplorerError(f"The RA processors of {what} were trained through "
                              f"{', '.join(top)} equally often; choose one with --source.")
    return top[0]


def task_ra_source(task_spec: str, dataset: str, folder=None, choice: str | None = None,
                   option: str = "--source") -> str:
    """:func:`ra_source` of the processor cards of ``task_spec`` on ``dataset``; one sentence
    naming ``option`` when the cards name none."""
    _, procs = select_models(task_spec, dataset, folder)
    source = ra_source(procs, choice, what=f"task {task_spec}")
    if source is None:
        raise RAExplorerError(f"No RA processor of task {task_spec} on {dataset} names a source "
                              f"classifier; pass {option} CLASSIFIER.")
    return source
