"""Queries over the checkpoint folder: which cards it holds, which models serve a dataset and task,
in which order.

``checkpoint_dir`` is the folder (``--checkpoints``, $RA_CHECKPOINTS or the embedded
``checkpoints/``); ``find_checkpoints`` its readable cards, filtered by kind and card fields
(datasets compared in their normal forms); ``broken_cards`` the ones that fail, each with its
sentence, and ``name_clashes`` the names several cards give (neither is used: ``locate`` and a
named selection refuse them with ``clash_message``, naming every file); ``places`` where a name
is looked up; ``collection_dirs`` / ``classifier_cards`` / ``locate`` the collections beside the
zoo (``loss-grid/``, ``recognizers/``); ``datasets_held`` / ``no_checkpoints_message`` what a
folder holds per dataset. ``select_models`` gives the classifier and processor cards of a
dataset / task (processors in method order; named ones from ``task_pool``, or of another task of
the same scale, ``same_size_task``); ``processors_by_task`` splits one list of names over
several tasks; ``main_processors`` one processor per method; ``tasks_in_zoo`` the task specs
that have processors; ``model_digests`` the SHA-256 of each card's weights; ``ra_source`` /
``task_ra_source`` the RA source classifier the processor cards name (roles come from cards,
never from a model's name).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..config import checkpoints_dir, weights_store_dir
from ..data.datasets import normal_dataset, split_dataset_spec
from ..data.tasks import create_task
from ..errors import CheckpointError, RAExplorerError, close_names_hint
from ..methods.processors import METHODS
from .checkpoints import absent_outside_message, load_card, stored_outside, weights_present


def checkpoint_dir(override: str | os.PathLike | None = None) -> Path:
    """The checkpoint folder: ``override``, else $RA_CHECKPOINTS, else the embedded ``checkpoints/``."""
    return checkpoints_dir(override)


# Sub-folders of a checkpoint folder that hold a collection of models beside the zoo (not
# listed by the zoo's tables and pages unless asked for): Uelwer et al.'s loss grid, and the
# recognizer-side classifiers (trained for degraded inputs), the models of disjoint category
# halves (the RA paper's Table 7: analysis.analyses.category_transfer) and the processors of
# other architectures (its Table 11: analysis.analyses.architecture_transfer), and the seed
# replicates of the zoo's main processors (analysis.training.recipe.seed_entries), the processors
# of randomized degradations (Table 15) and of the corruption benchmark's cells (Tables 12-14:
# analysis.analyses.corruption_processors).
COLLECTIONS = ("loss-grid", "recognizers", "categories", "architectures", "seeds", "randomized",
               "corruptions")
# The fine-tunes' plain starting points, in a sub-folder of the checkpoint folder or a collection
# (not listed with the models beside it).
BASES_FOLDER = "bases"
# Collections whose classifiers are offered wherever the zoo's are (the app's pages).
CLASSIFIER_COLLECTIONS = ("recognizers",)


def classifier_cards(folder: str | os.PathLike | None = None, dataset: str | None = None):
    """The zoo's classifier cards, then those of :data:`CLASSIFIER_COLLECTIONS`."""
    cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    for name, place in collection_dirs(folder).items():
        if name in CLASSIFIER_COLLECTIONS:
            cards += find_checkpoints(place, kind="classifier", dataset=dataset)
    return cards


def collection_dirs(folder: str | os.PathLike | None = None) -> dict[str, Path]:
    """{collection name: folder} of the :data:`COLLECTIONS` present in ``folder``."""
    base = checkpoint_dir(folder)
    return {name: base / name for name in COLLECTIONS if (base / name).is_dir()}


def nested_collection_dirs(folder: str | os.PathLike | None = None) -> dict[str, Path]:
    """{``collection/inner``: folder} of the collections kept inside a collection of ``folder``
    (the loss grid's and the recognizer side's seed replicates: ``loss-grid/seeds``,
    ``recognizers/seeds``); listed with the zoo, looked up from their own folder."""
    return {f"{outer}/{inner}": place / inner for outer, place in collection_dirs(folder).items()
            for inner in COLLECTIONS if (place / inner).is_dir()}


def places(folder: str | os.PathLike | None = None) -> list[Path]:
    """Where a checkpoint name is looked up from ``folder``, in order: the folder, the folders
    around it while it is a collection or a ``bases`` folder (``architectures/bases`` sees
    ``architectures`` and the checkpoint folder, where the judges of its bases are), its
    collections."""
    base = checkpoint_dir(folder)
    around, here = [], base
    while here.name in (*COLLECTIONS, BASES_FOLDER) and here.parent != here:
        here = here.parent
        around.append(here)
    return [base, *around, *collection_dirs(base).values()]


def locate(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The stem of checkpoint ``name`` seen from ``folder``: in the first of :func:`places`
    that holds ``name.json``; ``folder / name`` when none does (loading then says it is
    missing). A card there whose name another card of that folder gives too is refused with
    :func:`clash_message` (which of the two is meant cannot be told)."""
    for place in places(folder):
        if (place / f"{name}.json").exists():
            refuse_clash(name, place)
            return place / name
    return checkpoint_dir(folder) / name


def find_checkpoints(folder: str | os.PathLike | None = None, kind: str | None = None,
                     **filters) -> list[dict]:
    """Cards in ``folder`` (default :func:`checkpoint_dir`), sorted by name, optionally filtered.

    ``filters`` compare card fields for equality, e.g. ``task="sr:scale=4"``; ``dataset``
    compares normal forms (:func:`~analysis.data.datasets.normalize_dataset_spec`), so
    ``imagefolder:imgs/`` finds the cards of ``imagefolder:/abs/imgs:...,size=64``.
    Cards that fail to load are skipped here, and so are cards whose name another card of
    the folder gives too; :func:`broken_cards` names both, ``load_checkpoint`` and
    :func:`locate` refuse them. Cards whose weights are kept outside the repository and are
    not in the weights store are skipped too (:func:`absent_weights` names them).
    """
    wanted_dataset = None
    if filters.get("dataset") is not None:
        wanted_dataset = normal_dataset(filters.pop("dataset"))
    readable = _readable_cards(folder)
    clashed = _clashes(readable)
    absent = [c["name"] for c in readable.values() if stored_outside(c) and not weights_present(c)]
    if absent:
        _say_absent(absent, folder)
    cards = []
    for card in readable.values():
        if card["name"] in clashed or card["name"] in absent:
            continue
        if kind and card["kind"] != kind:
            continue
        if wanted_dataset is not None and normal_dataset(card.get("dataset")) != wanted_dataset:
            continue
        if all(card.get(k) == v for k, v in filters.items()):
            cards.append(card)
    return cards


def _say_absent(names: list[str], folder) -> None:
    """One ``skipped:`` line on stderr per folder and process: the cards left out for their
    absent outside weights (a listing or an analysis then goes on without them)."""
    sentence = (f"{len(names)} checkpoint(s) of {checkpoint_dir(folder)} keep their weights "
                f"outside the repository and {weights_store_dir()} lacks them "
                f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}), so they are left "
                "out; 'python -m analysis build-zoo --only NAME' makes them.")
    if sentence not in _SAID:
        _SAID.add(sentence)
        print(f"skipped: {sentence}", file=sys.stderr)


def refuse_absent(names, folder: str | os.PathLike | None = None) -> None:
    """One sentence (:func:`~analysis.zoo.checkpoints.absent_outside_message`) for the first of
    ``names`` whose card, seen from ``folder`` (:func:`places`), keeps its weights outside and
    the weights store lacks them."""
    for place in places(folder):
        for name in absent_weights(place):
            if name in names:
                raise CheckpointError(absent_outside_message(load_card(place / name)))


def absent_weights(folder: str | os.PathLike | None = None) -> list[str]:
    """Names of the cards in ``folder`` whose weights are kept outside the repository and are
    not in the weights store (:func:`~analysis.zoo.checkpoints.weights_present`)."""
    return [c["name"] for c in _readable_cards(folder).values()
            if stored_outside(c) and not weights_present(c)]


def _readable_cards(folder) -> dict[str, dict]:
    """{card file name: card} of the cards in ``folder`` that load, in file-name order."""
    cards = {}
    for card_path in sorted(checkpoint_dir(folder).glob("*.json")):
        try:
            cards[card_path.name] = load_card(card_path)
        except CheckpointError:
            continue
    return cards


def _clashes(cards: dict[str, dict]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for file_name, card in cards.items():
        files.setdefault(card["name"], []).append(file_name)
    return {name: held for name, held in files.items() if len(held) > 1}


def name_clashes(folder: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """{checkpoint name: its card files} of each name more than one readable card in
    ``folder`` gives (a copy such as ``cp resnet20.* resnet20-old.*`` keeps the card's
    ``name``)."""
    return _clashes(_readable_cards(folder))


def clash_message(name: str, files: list[str], folder: str | os.PathLike | None = None) -> str:
    """The sentence for a name several cards of ``folder`` give: both files, and the fix."""
    listed = ", ".join(files[:-1]) + " and " + files[-1]
    each = "both" if len(files) == 2 else "all"
    return (f"The cards {listed} in {checkpoint_dir(folder)} {each} name the checkpoint "
            f"{name!r}, so none of them is used; give each card the name of its own file (its "
            "\"name\" field) or move the copy out of the folder.")


def refuse_clash(name: str, folder: str | os.PathLike | None = None) -> None:
    """:func:`clash_message` as an error when the card ``name.json`` of ``folder`` (or the
    name itself) is one of the folder's :func:`name_clashes`."""
    clashes = name_clashes(folder)
    if not clashes:
        return
    card_name = name
    try:
        card_name = load_card(checkpoint_dir(folder) / f"{name}.json")["name"]
    except CheckpointError:
        pass
    for wanted in (card_name, name):
        if wanted in clashes:
            raise CheckpointError(clash_message(wanted, clashes[wanted], folder))


NO_DATASET = "no dataset"     # how datasets_held counts cards that name none


def datasets_held(folder: str | os.PathLike | None = None, kind: str | None = None) -> dict:
    """{dataset spec (normal form): number of cards} of the readable cards in ``folder``."""
    held: dict = {}
    for card in find_checkpoints(folder, kind=kind):
        spec = normal_dataset(card.get("dataset")) or NO_DATASET
        held[spec] = held.get(spec, 0) + 1
    return dict(sorted(held.items()))


def no_checkpoints_message(kind: str, dataset: str, folder=None) -> str:
    """The sentence for a folder without ``kind`` checkpoints of ``dataset``: which dataset
    specs it does hold (so a spelling or option difference shows), and how to get one."""
    where = checkpoint_dir(folder)
    held = datasets_held(folder, kind)
    head = f"No {kind} checkpoints for dataset {normal_dataset(dataset)!r} in {where}"
    if held:
        listed = "; ".join(f"{spec} ({n})" for spec, n in held.items())
        return (f"{head}; it holds {kind} checkpoints for: {listed}. Pass that spec as "
                "--dataset, or train one for this dataset with 'python -m analysis train-"
                f"{kind}'.")
    return f"{head}; it holds none: train one with 'python -m analysis train-{kind}'."


def broken_cards(folder: str | os.PathLike | None = None) -> dict[str, str]:
    """{file name: the sentence saying what is wrong} for each card ``find_checkpoints`` skips:
    cards that do not load, and cards whose name another card gives too (each of those files
    with the one sentence naming them all)."""
    problems = {}
    for card_path in sorted(checkpoint_dir(folder).glob("*.json")):
        try:
            load_card(card_path)
        except CheckpointError as exc:
            problems[card_path.name] = str(exc)
    for name, files in name_clashes(folder).items():
        for file_name in files:
            problems[file_name] = clash_message(name, files, folder)
    return dict(sorted(problems.items()))


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


_SAID: set[str] = set()     # the skipped: sentences printed (once per process)


def select_models(task_spec: str, dataset: str, folder=None, processors=None, classifiers=None):
    """Classifier and processor cards for ``dataset`` / ``task_spec`` (optionally named subsets).

    Without ``classifiers``: the zoo's own classifiers. Named ``classifiers`` may also come
    from the classifier collections (``checkpoints/recognizers/``: resnet20-augment, ...), in
    the order given; a name found nowhere is an error. Named ``processors`` may also be ones
    trained on detection canvases of ``dataset`` (:func:`trained_on_canvases_of`; RA through a
    detector, measured on the classifiers: the RA paper's Table 9), ones of the
    :data:`COLLECTIONS` (seed replicates, other architectures, ...) or ones trained on another
    task of the same scale (the SR x4 processor on sr-random x4 inputs: :func:`same_size_task`);
    a name found in none of these is an error too. A name several cards of the folder give is
    refused when named and left out otherwise (one ``skipped:`` line on stderr).
    """
    refuse_absent([*(classifiers or []), *(processors or [])], folder)
    clf_cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    proc_cards = find_checkpoints(folder, kind="processor", dataset=dataset, task=task_spec)
    clashes = name_clashes(folder)
    for name in [*(classifiers or []), *(processors or [])]:   # a name two cards give
        for place in places(folder):
            held = clashes if place == checkpoint_dir(folder) else name_clashes(place)
            if name in held:
                raise CheckpointError(clash_message(name, held[name], place))
    for name, files in clashes.items():      # left out of the selection: said once on stderr
        sentence = clash_message(name, files, folder)
        if sentence not in _SAID:
            _SAID.add(sentence)
            print(f"skipped: {sentence}", file=sys.stderr)
    if classifiers:
        pool = {c["name"]: c for c in classifier_cards(folder, dataset)}
        clf_cards = named_cards(classifiers, pool, f"classifier {{}} for {dataset}")
    if processors:
        pool = task_pool(task_spec, dataset, folder)
        scale = create_task(task_spec).scale
        for place in [checkpoint_dir(folder), *collection_dirs(folder).values()]:
            for card in find_checkpoints(place, kind="processor", dataset=dataset):
                if same_size_task(card.get("task"), scale):   # this task's cards stay first
                    pool.setdefault(card["name"], card)
        proc_cards = named_cards(processors, pool, f"{task_spec} processor {{}} for {dataset}")
    return clf_cards, sorted(proc_cards, key=processor_order)


def named_cards(names, pool: dict[str, dict], what: str) -> list[dict]:
    """The cards of ``names`` (each once, in order) from ``pool`` ({name: card}); names found
    nowhere are one sentence: ``No <what>.`` (``what`` with ``{}`` for the names), the closest
    names and the known ones."""
    unknown = [n for n in names if n not in pool]
    if unknown:
        kind = what.split(" {}")[0].split()[-1]
        raise RAExplorerError(f"No {what.format(', '.join(unknown))}."
                              f"{close_names_hint(unknown[0], list(pool))} Known {kind}s: "
                              f"{', '.join(pool)}.")
    return [pool[n] for n in dict.fromkeys(names)]


def task_pool(task_spec: str, dataset: str, folder=None) -> dict[str, dict]:
    """{name: card} of the processors trained on ``task_spec`` that a name may select: the
    folder's, those trained on detection canvases of ``dataset`` and those of the
    :data:`COLLECTIONS` (the folder's card first where a collection repeats a name)."""
    cards = [*find_checkpoints(folder, kind="processor", dataset=dataset, task=task_spec),
             *(c for c in find_checkpoints(folder, kind="processor", task=task_spec)
               if trained_on_canvases_of(c.get("dataset"), dataset))]
    for place in collection_dirs(folder).values():
        cards += find_checkpoints(place, kind="processor", dataset=dataset, task=task_spec)
    pool: dict[str, dict] = {}
    for card in cards:
        pool.setdefault(card["name"], card)
    return pool


def same_size_task(spec: str | None, scale: int) -> bool:
    """Whether a processor card's task ``spec`` maps inputs to outputs of another task with
    ``scale`` (its LQ and output sizes are those of the other task: SR x4 on sr-random x4)."""
    try:
        return spec is not None and create_task(spec).scale == scale
    except RAExplorerError:
        return False


def processors_by_task(names, task_specs, dataset: str, folder=None) -> dict[str, list[str]]:
    """{task spec: the names of ``names`` trained on that task} (:func:`task_pool`; a verb run
    over several tasks with one ``--processors`` list); a name of no task is refused with one
    sentence."""
    held = {t: set(task_pool(t, dataset, folder)) for t in task_specs}
    known = sorted(set().union(*held.values())) if held else []
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RAExplorerError(f"No processor {', '.join(unknown)} for {dataset} in the tasks "
                              f"{', '.join(task_specs)}.{close_names_hint(unknown[0], known)}")
    return {t: [n for n in names if n in held[t]] for t in task_specs}


def trained_on_canvases_of(trained: str | None, dataset: str) -> bool:
    """Whether the dataset spec ``trained`` (a card's) names detection canvases made of
    ``dataset``'s images (``canvas:base=<dataset>,...``)."""
    if not trained or not trained.startswith("canvas:"):
        return False
    try:
        _, params = split_dataset_spec(trained)
    except RAExplorerError:
        return False
    base = str(params.get("base", "")).replace(";", ",")
    return bool(base) and normal_dataset(base) == normal_dataset(dataset)


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


def ra_source(cards: list[dict], choice: str | None = None, what: str = "these processors",
              option: str = "--classifier") -> str | None:
    """The RA source classifier the cards name: ``choice`` (``option``) if given and named
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
                              f"{', '.join(top)} equally often; choose one with {option}.")
    return top[0]


def task_ra_source(task_spec: str, dataset: str, folder=None, choice: str | None = None,
                   option: str = "--source") -> str:
    """:func:`ra_source` of the processor cards of ``task_spec`` on ``dataset``; one sentence
    naming ``option`` when the cards name none."""
    _, procs = select_models(task_spec, dataset, folder)
    source = ra_source(procs, choice, what=f"task {task_spec}", option=option)
    if source is None:
        raise RAExplorerError(f"No RA processor of task {task_spec} on {dataset} names a source "
                              f"classifier; pass {option} CLASSIFIER.")
    return source
