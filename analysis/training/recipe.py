"""The embedded default zoo as data: every checkpoint and the options that train it.

``python -m analysis build-zoo`` walks ``RECIPE`` in order, skips entries
that are done, and resumes interrupted ones from their state file. The order
is: classifiers; then per task a plain *base* processor (in checkpoints/bases/,
not listed in the zoo), the lambda selections on the validation split (one per method,
recorded in results/lambda_selection.json), and the final processors, each
fine-tuned from the base for the same number of epochs (plain included, with
MSE only), so that methods differ only in their loss. ``--only PATTERN``
restricts to names matching a glob; several processes may share the recipe
(each entry is claimed by a lock file).
"""

from __future__ import annotations

import fnmatch
import sys
import time
from pathlib import Path

from ..config import EMBEDDED_DATASET, PROJECT_ROOT
from ..errors import RAExplorerError
from ..zoo.checkpoints import checkpoint_dir
from ..methods.processors import get_method

DATASET = EMBEDDED_DATASET
# The robust classifier's PGD-L2 radius in [0, 1]-pixel L2 units (28 x 28 images).
ROBUST_EPS = 1.0

CLASSIFIERS = [
    {"name": "resnet20", "verb": "classifier", "args": {"arch": "resnet20", "epochs": 15}},
    {"name": "resnet20-robust", "verb": "classifier",
     "args": {"arch": "resnet20", "epochs": 6, "adv_eps": ROBUST_EPS, "adv_steps": 3}},
    {"name": "densenet-bc", "verb": "classifier", "args": {"arch": "densenet-bc", "epochs": 8}},
    {"name": "vgg11-bn", "verb": "classifier", "args": {"arch": "vgg11-bn", "epochs": 10}},
    {"name": "mobilenetv2", "verb": "classifier", "args": {"arch": "mobilenetv2", "epochs": 8}},
    {"name": "resnet32", "verb": "classifier", "args": {"arch": "resnet32", "epochs": 8}},
]

# Loss networks of the Uelwer et al. grid (not evaluators): kept in their own folder with the
# grid's processors, so that the zoo's tables and pages (which list every checkpoint of
# checkpoints/) stay those of the RA paper. See LOSS_GRID below.
LOSS_GRID_DIR = str(PROJECT_ROOT / "checkpoints" / "loss-grid")
# 4 epochs (resnet20-robust has 6): the session that trained it cut the run from 6 to 4 after
# its second epoch to finish the grid in time, so its first two epochs followed the cosine
# learning-rate schedule of 6 epochs and the last two that of 4 (the card's history shows it).
LOSS_NETWORKS = [
    {"name": "vgg11-bn-robust", "verb": "classifier", "folder": LOSS_GRID_DIR,
     "args": {"arch": "vgg11-bn", "epochs": 4, "adv_eps": ROBUST_EPS, "adv_steps": 3,
              "alp": 0.5}},
]

SOURCE = "resnet20"            # the RA methods' source recognizer
ROBUST = "resnet20-robust"      # features of robust-perceptual
TRANSFER_SOURCES = ["vgg11-bn", "densenet-bc", "mobilenetv2", "resnet32"]
SWEEP = [1e-3, 1e-2, 1e-1]      # SR lambda sweep (Table 16 analog), beside plain (lambda 0)
# Plain starting points of the fine-tunes: committed (so that a new machine continues from
# the same base), but in a sub-folder, so that they are not listed as part of the zoo.
BASES = str(PROJECT_ROOT / "checkpoints" / "bases")

TASKS = {  # processor size and schedule per task (paper settings: SR x4, sigma 0.1, q 10)
    "sr": {"arch_kwargs": {"channels": 32, "blocks": 6}, "base_epochs": 4, "epochs": 1},
    "denoise": {"arch_kwargs": {"channels": 32, "blocks": 4}, "base_epochs": 3, "epochs": 1},
    "jpeg": {"arch_kwargs": {"channels": 32, "blocks": 4}, "base_epochs": 3, "epochs": 1},
    # A harder setting beside a paper one, when the paper's is too easy for the effect to
    # show, is one more entry with its own task spec and name prefix, e.g.
    # "denoise-sigma0.5": {"spec": "denoise:sigma=0.5", "arch_kwargs": ..., ...}.
}
GRIDS = {  # lambda grids per method, searched on the validation split
    "ra": [1e-3, 1e-2, 1e-1],
    "ra-unsup": [1e-2, 1e-1, 1.0],
    "ra-transformer": [1e-2, 1e-1, 1.0],
    "perceptual": [1e-3, 1e-2, 1e-1],
    "robust-perceptual": [1e-3, 1e-2, 1e-1],
}
FINE_TUNE_LR = 5e-4
TRANSFORMER_KWARGS = {"ngf": 16, "blocks": 3}


def _recognizer(method: str) -> str | None:
    """The zoo's classifier for the recognizer role the method's spec declares."""
    return {"none": None, "standard": SOURCE, "robust": ROBUST}[get_method(method).recognizer]


def _processor(name, prefix, method, lam, recognizer, settings, **extra) -> dict:
    args = {"task": settings.get("spec", prefix), "method": method, "lam": lam,
            "recognizer": recognizer, "epochs": settings["epochs"], "lr": FINE_TUNE_LR,
            "arch_kwargs": settings["arch_kwargs"], "init": f"{BASES}/{prefix}-base"}
    if get_method(method).uses_transformer:
        args["transformer_kwargs"] = TRANSFORMER_KWARGS
    return {"name": name, "verb": "processor", "prefix": prefix, "args": {**args, **extra}}


def processor_entries(prefix: str) -> list[dict]:
    """Base, lambda selections and final processors of one task of :data:`TASKS`.

    ``prefix`` is the key in TASKS and the start of every name (``<prefix>-ra``,
    ``select:<prefix>:ra``); the task itself is ``TASKS[prefix]["spec"]``
    when given (a setting other than the task's default), else ``prefix``.
    """
    settings = TASKS[prefix]
    task = settings.get("spec", prefix)
    entries = [{"name": f"{prefix}-base", "verb": "processor", "folder": BASES,
                "args": {"task": task, "method": "plain", "epochs": settings["base_epochs"],
                         "arch_kwargs": settings["arch_kwargs"]}}]
    for method, grid in GRIDS.items():
        entries.append({"name": f"select:{prefix}:{method}", "verb": "select",
                        "args": {"task": task, "method": method, "grid": grid,
                                 "base": f"{BASES}/{prefix}-base",
                                 "recognizer": _recognizer(method),
                                 "arch_kwargs": settings["arch_kwargs"], "lr": FINE_TUNE_LR,
                                 **({"transformer_kwargs": TRANSFORMER_KWARGS}
                                    if get_method(method).uses_transformer else {})}})
    entries.append(_processor(f"{prefix}-plain", prefix, "plain", 0.0, None, settings))
    for method in GRIDS:
        entries.append(_processor(f"{prefix}-{method}", prefix, method, "select",
                                  _recognizer(method), settings))
    if prefix == "sr":
        for source in TRANSFER_SOURCES:
            entries.append(_processor(f"sr-ra-src-{source}", prefix, "ra", "select:" + SOURCE,
                                      source, settings))
        for lam in SWEEP:  # the chosen lambda's point is sr-ra itself: not trained twice
            entries.append({**_processor(f"sr-ra-lam{lam:g}", prefix, "ra", lam, SOURCE,
                                         settings),
                            "same_as_if_chosen": f"{prefix}-ra"})
    return entries


# ----------------------------------------------------------------------------- the loss grid
# Uelwer et al.'s Table 2: E (the plain processor, <task>-plain) and EP, EPT, ET, P, PT on the
# features of a standard (vgg11-bn) and a robust (vgg11-bn-robust, PGD-L2 + ALP) network of
# another family than the evaluators (resnet20 / resnet20-robust). P on an early and a deeper
# tap with weights 0.2 : 0.02; T on three taps with patches of 8 image pixels (the paper's
# 16 px at 224 px, scaled up for 28 px images so that every map has at least 2 x 2 patches);
# every channel's mean activation on clean training images scaled to 1. The overall P and T
# weights are chosen once, on SR's validation split with the standard network's features
# (select_loss_weight: the largest weight within 0.5 dB of plain), and used for both networks
# (their maps are normalised the same way, so that standard and robust differ only in the
# network) and for denoising and JPEG.
LOSS_GRID_NETWORKS = {"standard": ("perceptual", "vgg11-bn"),
                      "robust": ("robust-perceptual", f"{LOSS_GRID_DIR}/vgg11-bn-robust")}
LOSS_GRID_LAYERS = ["block1", "block3"]
LOSS_GRID_PERCEPTUAL = {"layer_weights": [0.2, 0.02],
                        "texture_layers": ["block1", "block2", "block3"], "patch_pixels": 8,
                        "feature_norm": "channel-mean"}
WEIGHT_GRIDS = {"P": [0.01, 0.1, 1.0, 10.0], "T": [1.0, 10.0, 100.0, 1000.0]}
WEIGHT_TASK = "sr"              # the task whose validation split chooses the weights
WEIGHT_NETWORK = "standard"     # the loss network whose features choose them
LOSS_GRID_COMBOS = {"sr": ["EP", "EPT", "ET", "P", "PT"], "denoise": ["EP", "EPT"],
                    "jpeg": ["EP", "EPT"]}
MAX_PSNR_DROP_WEIGHTS = 0.5     # dB: the selection rule's margin


def loss_grid_name(prefix: str, combo: str, network: str) -> str:
    """``sr-ept-vgg11-bn-robust``: task prefix, loss combination, loss network."""
    return f"{prefix}-{combo.lower()}-{Path(network).name}"


def loss_grid_entries() -> list[dict]:
    """The weight selections, then every (task, combination, network) processor."""
    settings = TASKS[WEIGHT_TASK]
    entries = []
    method, network = LOSS_GRID_NETWORKS[WEIGHT_NETWORK]
    for term, grid in WEIGHT_GRIDS.items():   # one selection per term, on one network
        entries.append({
            "name": f"select-weight:{WEIGHT_TASK}:{Path(network).name}:{term}",
            "verb": "select-weight",
            "args": {"task": settings.get("spec", WEIGHT_TASK), "term": term,
                     "method": method, "grid": grid, "base": f"{BASES}/{WEIGHT_TASK}-base",
                     "recognizer": network, "layers": LOSS_GRID_LAYERS,
                     "perceptual": LOSS_GRID_PERCEPTUAL, "max_psnr_drop": MAX_PSNR_DROP_WEIGHTS,
                     "arch_kwargs": settings["arch_kwargs"], "lr": FINE_TUNE_LR}})
    for prefix, combos in LOSS_GRID_COMBOS.items():
        settings = TASKS[prefix]
        for method, network in LOSS_GRID_NETWORKS.values():
            for combo in combos:
                entry = _processor(loss_grid_name(prefix, combo, network), prefix, method,
                                   "weight:P" if "P" in combo else 0.0, network, settings,
                                   losses=combo, layers=LOSS_GRID_LAYERS,
                                   perceptual=LOSS_GRID_PERCEPTUAL,
                                   texture_weight="weight:T" if "T" in combo else 0.0)
                entries.append({**entry, "folder": LOSS_GRID_DIR})
    return entries


# ----------------------------------------------------------------------------- recognizer side
# "Fix the recognizer": resnet20 trained for degraded inputs (analysis.training.recognizer_side),
# the same epochs as the standard resnet20; QualNet's invertible stage-1 network is a base.
RECOGNIZER_DIR = str(PROJECT_ROOT / "checkpoints" / "recognizers")
RECOGNIZER_EPOCHS = 15


def _recognizer_entry(name: str, method: str, options: dict, **extra) -> dict:
    return {"name": name, "verb": "recognizer", "folder": RECOGNIZER_DIR,
            "args": {"method": method, "arch": "resnet20", "options": options,
                     "epochs": RECOGNIZER_EPOCHS, **extra}}


RECOGNIZER_ENTRIES = [
    {"name": "irevnet", "verb": "classifier", "folder": BASES,
     "args": {"arch": "irevnet", "epochs": 10}},
    _recognizer_entry("resnet20-augment", "augment", {"degradation": "mix"}),
    _recognizer_entry("resnet20-feature-kd", "feature-kd",
                      {"degradation": "mix", "teacher": SOURCE, "lam": 1.0}),
    _recognizer_entry("resnet20-qualnet", "qualnet",
                      {"degradation": "mix", "decoder": f"{BASES}/irevnet", "lam": 1.0}),
    _recognizer_entry("resnet20-train-on-lq", "train-on-lq", {"degradation": "sr"}),
    _recognizer_entry("resnet20-ft-processed", "finetune-on-processed",
                      {"degradation": "sr", "processor": "sr-plain", "init": SOURCE},
                      epochs=3, lr=FINE_TUNE_LR),
]
RECOGNIZER_REFERENCES = ("teacher", "decoder", "processor", "init")   # checkpoint options


RECIPE: list[dict] = (CLASSIFIERS + [e for task in TASKS for e in processor_entries(task)]
                      + LOSS_NETWORKS + loss_grid_entries() + RECOGNIZER_ENTRIES)


def _resolve_weight(entry: dict, key: str) -> float:
    """A loss weight of a loss-grid entry: a number, or ``weight:P`` / ``weight:T`` (chosen)."""
    from .selection import chosen_weight

    args = entry["args"]
    value = args.get(key, 0.0)
    if not isinstance(value, str):
        return value
    return chosen_weight(TASKS[WEIGHT_TASK].get("spec", WEIGHT_TASK), value.split(":", 1)[1],
                         weight_source(), dataset=entry.get("dataset", DATASET))


def weight_source() -> str:
    """The loss network whose validation runs chose the grid's weights (by name)."""
    return Path(LOSS_GRID_NETWORKS[WEIGHT_NETWORK][1]).name


def _resolve_lambda(entry: dict) -> float:
    from .selection import chosen_lambda

    args = entry["args"]
    lam = args.get("lam", 0.0)
    if not isinstance(lam, str):
        return lam
    if lam.startswith("weight:"):
        return _resolve_weight(entry, "lam")
    source = lam.split(":", 1)[1] if ":" in lam else args["recognizer"]
    return chosen_lambda(args["task"], args["method"], source,
                         dataset=entry.get("dataset", DATASET))


def _weight_record(entry: dict) -> dict | None:
    from .selection import read_weight_selections, weight_key

    a = entry["args"]
    return read_weight_selections(dataset=entry.get("dataset", DATASET)).get(
        weight_key(a["task"], a["term"], Path(a["recognizer"]).name))


def is_done(entry: dict, folder: Path) -> bool:
    if entry["verb"] == "select-weight":
        return _weight_record(entry) is not None
    if entry["verb"] == "select":
        from .selection import read_selections, selection_key

        a = entry["args"]
        return selection_key(a["task"], a["method"], a["recognizer"]) in read_selections(
            dataset=entry.get("dataset", DATASET))
    target = Path(entry.get("folder") or folder) / f"{entry['name']}.json"
    return target.exists() or _covered_by_final(entry, folder)


def _covered_by_final(entry: dict, folder: Path) -> bool:
    """A sweep point whose lambda is the one selection chose: the final RA processor is it."""
    final = entry.get("same_as_if_chosen")
    if not final or not (Path(folder) / f"{final}.json").exists():
        return False
    from .selection import chosen_lambda

    a = entry["args"]
    try:
        return chosen_lambda(a["task"], a["method"], a["recognizer"],
                             dataset=entry.get("dataset", DATASET)) == a["lam"]
    except KeyError:  # not selected yet
        return False


def entry_seconds(entry: dict, folder: Path) -> float | None:
    """Training seconds a finished entry took, as recorded by the run itself.

    Checkpoints: the sum of their cards' per-epoch ``seconds`` (validation
    included); selections: the ``seconds`` of their record. None when not done
    or not recorded.
    """
    import json

    if not is_done(entry, folder):
        return None
    if entry["verb"] == "select-weight":
        return _weight_record(entry).get("seconds")
    if entry["verb"] == "select":
        from .selection import read_selections, selection_key

        a = entry["args"]
        return read_selections(dataset=entry.get("dataset", DATASET))[
            selection_key(a["task"], a["method"], a["recognizer"])].get("seconds")
    path = Path(entry.get("folder") or folder) / f"{entry['name']}.json"
    if not path.exists():  # covered by the final processor: nothing trained
        return 0.0
    card = json.loads(path.read_text())
    return float(sum(h.get("seconds", 0.0) for h in card.get("history", [])))


def run_entry(entry: dict, folder: Path, state_dir: str, progress: bool) -> None:
    from .classifiers import train_classifier
    from .processors import train_processor
    from .selection import select_lambda, select_loss_weight

    out = str(Path(entry.get("folder") or folder) / entry["name"])
    common = {"dataset": entry.get("dataset", DATASET), "progress": progress}
    args = dict(entry["args"])
    if args.get("recognizer"):
        args["recognizer"] = str(folder / args["recognizer"])
    if entry["verb"] == "classifier":
        train_classifier(out=out, resume=True, state_dir=state_dir, dtype="float16", **common,
                         **args)
    elif entry["verb"] == "recognizer":
        from .recognizer_side import train_recognizer

        options = {k: (str(folder / v) if k in RECOGNIZER_REFERENCES else v)
                   for k, v in args.pop("options").items()}
        train_recognizer(args.pop("method"), args.pop("arch"), options, out=out, resume=True,
                         state_dir=state_dir, dtype="float16", **common, **args)
    elif entry["verb"] == "select":
        select_lambda(work_dir=str(Path(state_dir) / "grid"), **common, **args)
    elif entry["verb"] == "select-weight":
        select_loss_weight(work_dir=str(Path(state_dir) / "grid"), **common, **args)
    else:
        args["lam"] = _resolve_lambda(entry)
        if isinstance(args.get("texture_weight"), str):
            args["texture_weight"] = _resolve_weight(entry, "texture_weight")
        train_processor(out=out, resume=True, state_dir=state_dir,
                        dtype="float32" if entry.get("folder") == BASES else "float16",
                        **common, **args)
        cite_weight_selection(entry, out)


def weight_citation(entry: dict) -> dict | None:
    """Where a loss-grid entry's weights come from: the selection file, its keys and rule."""
    from .selection import WEIGHT_SELECTION_NAME, weight_key

    args = entry["args"]
    terms = [v.split(":", 1)[1] for k in ("lam", "texture_weight")
             if isinstance(v := args.get(k), str) and v.startswith("weight:")]
    if not terms:
        return None
    task = TASKS[WEIGHT_TASK].get("spec", WEIGHT_TASK)
    source = weight_source()
    return {"file": f"results/{WEIGHT_SELECTION_NAME}",
            "keys": [weight_key(task, t, source) for t in terms],
            "rule": f"the largest weight of the grid whose validation PSNR ({task}, on "
                    f"{source}'s features) is at most {MAX_PSNR_DROP_WEIGHTS} dB below plain; "
                    "the same weights for both loss networks",
            "split": "val"}


def cite_weight_selection(entry: dict, out) -> None:
    """Write :func:`weight_citation` into the card at ``out`` (loss-grid entries only)."""
    from ..zoo.checkpoints import update_card

    citation = weight_citation(entry)
    if citation is not None:
        update_card(out, selection=citation)


def _lock_path(state_dir: str, name: str) -> Path:
    return Path(state_dir) / f"{name.replace(':', '_')}.lock"


def _locked(state_dir: str, name: str) -> bool:
    """Whether a live process holds the lock of entry ``name``."""
    import os

    try:
        os.kill(int(_lock_path(state_dir, name).read_text()), 0)
        return True
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False


def _claim(state_dir: str, name: str) -> Path | None:
    """A lock file so that several build-zoo processes can share the recipe; None if taken."""
    import os

    if _locked(state_dir, name):
        return None
    lock = _lock_path(state_dir, name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    return lock


def dependencies(entry: dict) -> list[str]:
    """Names of the entries that must be done before ``entry`` can run."""
    args = entry["args"]
    deps = []
    if args.get("recognizer"):
        deps.append(Path(args["recognizer"]).name)
    for key in RECOGNIZER_REFERENCES:
        if (args.get("options") or {}).get(key):
            deps.append(Path(args["options"][key]).name)
    for key in ("init", "base"):
        if args.get(key):
            deps.append(Path(args[key]).name)
    for key in ("lam", "texture_weight"):
        value = args.get(key)
        if isinstance(value, str) and value.startswith("weight:"):
            deps.append(f"select-weight:{WEIGHT_TASK}:{weight_source()}:"
                        f"{value.split(':', 1)[1]}")
        elif isinstance(value, str):
            deps.append(f"select:{entry.get('prefix', args['task'])}:{args['method']}")
    return deps


def refuse_other_datasets(entries: list[dict], folder: Path) -> None:
    """One sentence when ``folder`` holds checkpoints of a dataset the recipe does not train:
    build-zoo would plan its models beside them and count a same-named one as done."""
    from ..zoo.checkpoints import NO_DATASET, datasets_held, normal_dataset

    planned = {normal_dataset(e.get("dataset", DATASET)) for e in entries}
    other = {spec: n for spec, n in datasets_held(folder).items()
             if spec not in planned and spec != NO_DATASET}
    if other:
        held = "; ".join(f"{spec} ({n})" for spec, n in other.items())
        raise RAExplorerError(
            f"{folder} holds checkpoints of another dataset ({held}), but build-zoo plans the "
            f"embedded zoo on {', '.join(sorted(planned))}; pass --checkpoints to an empty "
            "folder for it, or train your own models with train-classifier / train-processor.")


def build_zoo(only: list[str] | None = None, folder=None, state_dir: str = "runs",
              force: bool = False, progress: bool = True, dry_run: bool = False,
              recipe: list[dict] | None = None, poll_seconds: float = 30.0) -> list[str]:
    """Train every missing entry of the recipe, dependencies first; returns the names trained.

    Entries whose dependencies another process is still training are retried
    after ``poll_seconds``; entries whose dependencies nobody will build (left
    out by ``only``) are reported and dropped.
    """
    folder = checkpoint_dir(folder)
    entries = list(recipe if recipe is not None else RECIPE)
    refuse_other_datasets(entries, folder)
    by_name = {e["name"]: e for e in entries}

    def done(name: str) -> bool:
        entry = by_name.get(name)
        if entry is None:  # a checkpoint outside the recipe
            return (folder / f"{name}.json").exists()
        return is_done(entry, folder)

    pending = [e for e in entries
               if not (only and not any(fnmatch.fnmatch(e["name"], p) for p in only))
               and (force or not is_done(e, folder))]
    if dry_run:
        return [e["name"] for e in pending]
    trained: list[str] = []
    while pending:
        progressed, waiting = False, False
        for entry in list(pending):
            if not force and is_done(entry, folder):  # finished by another process meanwhile,
                pending.remove(entry)                 # or covered by a selection made since
                continue
            missing = [d for d in dependencies(entry) if not done(d)]
            if missing:
                pending_names = {e["name"] for e in pending}
                if any(_locked(state_dir, d) or d in pending_names for d in missing):
                    waiting = True
                else:
                    print(f"build-zoo: {entry['name']} needs {', '.join(missing)} first; skipped",
                          file=sys.stderr)
                    pending.remove(entry)
                continue
            lock = _claim(state_dir, entry["name"])
            if lock is None:
                waiting = True
                continue
            t0 = time.time()
            print(f"build-zoo: [{len(trained) + 1}/{len(trained) + len(pending)}] "
                  f"{entry['name']}", file=sys.stderr)
            try:
                run_entry(entry, folder, state_dir, progress)
            finally:
                lock.unlink(missing_ok=True)
            print(f"build-zoo: {entry['name']} took {time.time() - t0:.0f} s", file=sys.stderr)
            pending.remove(entry)
            trained.append(entry["name"])
            progressed = True
            break  # rescan from the top: earlier entries first
        if not progressed:
            if not waiting:
                break
            time.sleep(poll_seconds)
    return trained
