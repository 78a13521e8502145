"""The embedded default zoo as data: every checkpoint and the options that train it.

``RECIPE`` lists, in order: classifiers; then per task a plain *base* processor (in
checkpoints/bases/, not listed in the zoo), the lambda selections on the validation split (one
per method, recorded in results/lambda_selection.json), and the final processors, each
fine-tuned from the base for the same number of epochs (plain included, with MSE only), so that
methods differ only in their loss; then the loss grid and the recognizer side; then two more
training seeds of each task's six main processors (:func:`seed_entries`, ``checkpoints/seeds/``);
then plain and RA processors of the randomized and compound tasks (:func:`randomized_entries`,
``checkpoints/randomized/``); then two more seeds of SR's loss grid
(:func:`loss_grid_seed_entries`, ``checkpoints/loss-grid/seeds/``); last, the processors of the
corruption benchmark's cells (:func:`corruption_entries`, ``checkpoints/corruptions/``) and
the recognizer side trained on the seen corruption types (:func:`recognizer_corruption_entries`)
and on another architecture (:func:`recognizer_architecture_entries`).
An entry's lambda or loss weight may be a reference to a selection (:func:`resolve_lambda`);
:func:`dependencies` names the entries it needs first. :mod:`.build` trains it.
"""

from __future__ import annotations

from pathlib import Path

from ..config import EMBEDDED_DATASET, PROJECT_ROOT
from ..data.corruptions import CORRUPTIONS, LEVELS
from ..methods.processors import get_method
from .selection import WEIGHT_SELECTION_NAME, chosen_lambda, chosen_weight, weight_key

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
    # QualNet's ablation (its Table 6): the decoder trained with R; reconstruction off is
    # resnet20-augment, the same batches without the loss (weights outside: see OUTSIDE below)
    {**_recognizer_entry("resnet20-qualnet-trained-decoder", "qualnet-trained-decoder",
                         {"degradation": "mix", "decoder": f"{BASES}/irevnet", "lam": 1.0}),
     "outside": True},
    _recognizer_entry("resnet20-train-on-lq", "train-on-lq", {"degradation": "sr"}),
    _recognizer_entry("resnet20-ft-processed", "finetune-on-processed",
                      {"degradation": "sr", "processor": "sr-plain", "init": SOURCE},
                      epochs=3, lr=FINE_TUNE_LR),
]
RECOGNIZER_REFERENCES = ("teacher", "decoder", "processor", "init")   # checkpoint options
# The QualNet paper's Tables 1 and 3 on the corruption benchmark: the same methods and epochs,
# trained on the seen corruption cells (methods.recognizers.SEEN_CORRUPTIONS at severities 1-5)
# and measured by corruption-grid on every type, so that 15 of the 19 types are unseen.
# finetune-on-processed is left out: it needs a processor of the same mixed degradation.
RECOGNIZER_CORRUPTION_METHODS = ("augment", "feature-kd", "qualnet", "train-on-lq")
# The QualNet paper's Table 2 (the methods on another architecture): vgg11-bn, the zoo's other
# family, with the epochs of its own standard classifier and its standard classifier as the
# feature-kd teacher; both feature losses at block2, its 7 x 7 map (the size of the QualNet
# decoder's code; resnet20's default last stage is 7 x 7 too). The same mix as resnet20's.
RECOGNIZER_ARCH = "vgg11-bn"
RECOGNIZER_ARCH_LAYER = "block2"


# Beyond the zoo's 80 MiB (fixed before any of them trained): the entries marked "outside" keep
# their weights in the weights store (analysis.zoo.checkpoints.move_outside) and their cards in
# checkpoints/. They are the recognizer side's later entries (QualNet's ablation, the
# corrupt-seen and vgg11-bn classifiers: 0.53-2.2 MiB each), and the
# corruption cells' RA with transformer (0.69 MiB each); the corruption cells' plain, RA and
# unsupervised RA processors (0.18 MiB each) stay in the zoo. The processors' seed replicates
# of RA with transformer went outside later (OUTSIDE_SEED_METHODS).
OUTSIDE_CORRUPTION_METHODS = ("ra-transformer",)


def recognizer_corruption_entries() -> list[dict]:
    """``resnet20-<method>-corrupt-seen``: the entries of :data:`RECOGNIZER_ENTRIES` of
    :data:`RECOGNIZER_CORRUPTION_METHODS` with the degradation ``corrupt-seen``."""
    out = []
    for entry in RECOGNIZER_ENTRIES:
        method = entry["args"].get("method")
        if entry["verb"] == "recognizer" and method in RECOGNIZER_CORRUPTION_METHODS:
            options = {**entry["args"]["options"], "degradation": "corrupt-seen"}
            out.append({**entry, "name": f"{entry['name']}-corrupt-seen", "outside": True,
                        "args": {**entry["args"], "options": options}})
    return out


# ----------------------------------------------------------------------------- seeds
# Two more training seeds of every processor behind a headline claim: the six methods of each
# task, fine-tuned from the same base with the same (validation-chosen) lambda; only the
# fine-tune's seed changes (its data order, its degradations' noise and, for RA with
# transformer, the transformer's initialisation). float16 like the zoo, in checkpoints/seeds/.
SEEDS = (1, 2)
SEED_METHODS = ("plain", "ra", "ra-unsup", "ra-transformer", "perceptual", "robust-perceptual")
SEEDS_DIR = str(PROJECT_ROOT / "checkpoints" / "seeds")
# The replicates of RA with transformer (0.69-0.91 MiB each, the largest) keep their weights
# outside (see OUTSIDE below): moved there, after the seeds' results were measured on them, to
# make room in the zoo's 80 MiB for the corruption cells' last processors; the cards, and so the
# hashes the results cite, stay in checkpoints/seeds/.
OUTSIDE_SEED_METHODS = ("ra-transformer",)


def seed_name(name: str, seed: int) -> str:
    """``sr-ra-seed1``: the checkpoint of ``name`` trained with ``seed``."""
    return f"{name}-seed{seed}"


def seed_entries(entries: list[dict], seeds=SEEDS) -> list[dict]:
    """For each seed, a copy of every final processor of :data:`SEED_METHODS` in ``entries``
    with only the seed (and the name and folder) changed, seed by seed."""
    finals = [e for e in entries if e["verb"] == "processor" and e.get("prefix") in TASKS
              and e["name"] in {f"{e['prefix']}-{m}" for m in SEED_METHODS}]
    return [{**e, "name": seed_name(e["name"], s), "folder": SEEDS_DIR, "seed_of": e["name"],
             "args": {**e["args"], "seed": s},
             **({"outside": True} if e["name"].removeprefix(f"{e['prefix']}-")
                in OUTSIDE_SEED_METHODS else {})}
            for s in seeds for e in finals]


# ----------------------------------------------------------------------------- randomized
# The RA paper's Table 15: processors trained on randomized degradations and on the compound
# one, plain and RA. Fixed before any run: each is fine-tuned from the base of the paper task
# it randomizes (compound: SR's, as its output is x4), with that task's architecture, epochs,
# learning rate and validation-chosen RA lambda (results/lambda_selection.json), so that
# "normal" and "random" processors differ only in the degradations they saw. float16, in
# checkpoints/randomized/.
RANDOMIZED = {"sr-random": "sr", "denoise-random": "denoise", "jpeg-random": "jpeg",
              "compound": "sr"}
RANDOMIZED_METHODS = ("plain", "ra")
RANDOMIZED_DIR = str(PROJECT_ROOT / "checkpoints" / "randomized")


def randomized_entries() -> list[dict]:
    """``<task>-plain`` and ``<task>-ra`` of every task of :data:`RANDOMIZED`."""
    entries = []
    for task, family in RANDOMIZED.items():
        settings = {**TASKS[family], "spec": task}
        for method in RANDOMIZED_METHODS:
            lam = 0.0 if method == "plain" else "select"
            entry = _processor(f"{task}-{method}", family, method, lam, _recognizer(method),
                               settings)
            entries.append({**entry, "folder": RANDOMIZED_DIR, "lambda_of": family})
    return entries


# Two more training seeds of SR's loss grid (Uelwer et al. average three runs): the ten
# perceptual processors, with only the seed changed; E's replicates are sr-plain-seed1/2 of
# checkpoints/seeds/. float16, in a sub-folder of the loss-grid collection so that the grid's
# own table keeps its seed-0 models.
LOSS_GRID_SEED_TASKS = ("sr",)
LOSS_GRID_SEEDS_DIR = str(Path(LOSS_GRID_DIR) / "seeds")


def loss_grid_seed_entries(entries: list[dict], seeds=SEEDS) -> list[dict]:
    """For each seed, a copy of every loss-grid processor of :data:`LOSS_GRID_SEED_TASKS` in
    ``entries`` with only the seed (and the name and folder) changed, seed by seed."""
    grid = [e for e in entries if e["verb"] == "processor" and e.get("folder") == LOSS_GRID_DIR
            and e.get("prefix") in LOSS_GRID_SEED_TASKS]
    return [{**e, "name": seed_name(e["name"], s), "folder": LOSS_GRID_SEEDS_DIR,
             "seed_of": e["name"], "args": {**e["args"], "seed": s}}
            for s in seeds for e in grid]


# ----------------------------------------------------------------------------- corruptions
# The RA paper's Tables 12-14 on the corruption benchmark (analysis.data.corruptions). Fixed
# before any run: every processor is fine-tuned from the denoising base (checkpoints/bases/
# denoise-base, sigma 0.1), with the denoising architecture, learning rate and the lambda the
# denoising task's validation split chose for its method (results/lambda_selection.json), for one
# pass over the first CORRUPTION_TRAIN_IMAGES training images (250 steps of 64; the same short
# recipe for every type, level and method); validation on 2,000 validation images of the cell.
# Table 12: plain and RA for every type at severity 5 except saturate, which is the identity on
# a grayscale image at every level (see analysis.data.corruptions). Table 13: snow and speckle
# noise at severities 1-5 with plain, RA, unsupervised RA and RA with transformer (the severity-5
# plain and RA processors are Table 12's). Table 14 evaluates Table 12's processors on every
# classifier (no more training). float16, in checkpoints/corruptions/.
CORRUPTION_DIR = str(PROJECT_ROOT / "checkpoints" / "corruptions")
CORRUPTION_FAMILY = "denoise"       # whose base, architecture, schedule and lambdas
CORRUPTION_TRAIN_IMAGES = 16_000
CORRUPTION_TABLE12_LEVEL = 5
CORRUPTION_TABLE12_METHODS = ("plain", "ra")
CORRUPTION_IDENTITY_ON_GRAY = ("saturate",)
CORRUPTION_SEVERITY_TYPES = ("snow", "speckle_noise")
CORRUPTION_SEVERITY_METHODS = ("plain", "ra", "ra-unsup", "ra-transformer")


def corruption_name(kind: str, level: int, method: str) -> str:
    """``corrupt-speckle-noise-5-ra``: the processor of one benchmark cell and method."""
    return f"corrupt-{kind.replace('_', '-')}-{level}-{method}"


def corruption_cells() -> list[tuple[str, int, str]]:
    """(type, level, method) of every corruption processor: Table 12's, then Table 13's
    other severities and methods."""
    cells = [(kind, CORRUPTION_TABLE12_LEVEL, method) for kind in CORRUPTIONS
             if kind not in CORRUPTION_IDENTITY_ON_GRAY for method in CORRUPTION_TABLE12_METHODS]
    for kind in CORRUPTION_SEVERITY_TYPES:
        for level in LEVELS:
            for method in CORRUPTION_SEVERITY_METHODS:
                if (kind, level, method) not in cells:
                    cells.append((kind, level, method))
    return cells


def corruption_entries() -> list[dict]:
    """The processor entries of :func:`corruption_cells`."""
    family = CORRUPTION_FAMILY
    entries = []
    for kind, level, method in corruption_cells():
        settings = {**TASKS[family], "spec": f"corrupt:type={kind},level={level}"}
        lam = 0.0 if method == "plain" else "select"
        entry = _processor(corruption_name(kind, level, method), family, method, lam,
                           _recognizer(method), settings, limit=CORRUPTION_TRAIN_IMAGES)
        entries.append({**entry, "folder": CORRUPTION_DIR, "lambda_of": family,
                        **({"outside": True} if method in OUTSIDE_CORRUPTION_METHODS else {})})
    return entries


def recognizer_architecture_entries() -> list[dict]:
    """``vgg11-bn-<method>``: the entries of :data:`RECOGNIZER_ENTRIES` of
    :data:`RECOGNIZER_CORRUPTION_METHODS` on :data:`RECOGNIZER_ARCH` (see the comment above)."""
    standard = next(e for e in CLASSIFIERS if e["name"] == RECOGNIZER_ARCH)
    out = []
    for entry in RECOGNIZER_ENTRIES:
        method = entry["args"].get("method")
        if entry["verb"] != "recognizer" or method not in RECOGNIZER_CORRUPTION_METHODS:
            continue
        options = dict(entry["args"]["options"])
        if "teacher" in options:
            options["teacher"] = RECOGNIZER_ARCH
        if method in ("feature-kd", "qualnet"):
            options["kd_layer"] = RECOGNIZER_ARCH_LAYER
        out.append({**entry, "name": f"{RECOGNIZER_ARCH}-{method}", "outside": True,
                    "args": {**entry["args"], "arch": RECOGNIZER_ARCH, "options": options,
                             "epochs": standard["args"]["epochs"]}})
    return out


# Two more training seeds of the recognizer side behind the QualNet claims (its Table 1 analog):
# every resnet20 entry of RECOGNIZER_ENTRIES but the ablation, with only the seed changed (data
# order, degradations, initialisation). float16 in checkpoints/recognizers/seeds/ (10 x 0.53
# MiB): --across-seeds needs all ten at once and they take about 14 core-hours, more than one
# machine's session, while the weights store lives only on the machine that trained them.
RECOGNIZER_SEEDS_DIR = str(Path(RECOGNIZER_DIR) / "seeds")


def recognizer_seed_entries(seeds=SEEDS) -> list[dict]:
    """For each seed, ``<name>-seed<N>`` of every recognizer-side classifier of
    :data:`RECOGNIZER_ENTRIES` but QualNet's ablation."""
    entries = [e for e in RECOGNIZER_ENTRIES
               if e["verb"] == "recognizer" and not e.get("outside")]
    return [{**e, "name": seed_name(e["name"], s), "folder": RECOGNIZER_SEEDS_DIR,
             "seed_of": e["name"], "args": {**e["args"], "seed": s}}
            for s in seeds for e in entries]


_ZOO = (CLASSIFIERS + [e for task in TASKS for e in processor_entries(task)]
        + LOSS_NETWORKS + loss_grid_entries() + RECOGNIZER_ENTRIES)
RECIPE: list[dict] = (_ZOO + seed_entries(_ZOO) + randomized_entries()
                      + loss_grid_seed_entries(_ZOO) + corruption_entries()
                      + recognizer_corruption_entries() + recognizer_architecture_entries()
                      + recognizer_seed_entries())


def resolve_weight(entry: dict, key: str) -> float:
    """A loss weight of a loss-grid entry: a number, or ``weight:P`` / ``weight:T`` (chosen)."""
    args = entry["args"]
    value = args.get(key, 0.0)
    if not isinstance(value, str):
        return value
    return chosen_weight(TASKS[WEIGHT_TASK].get("spec", WEIGHT_TASK), value.split(":", 1)[1],
                         weight_source(), dataset=entry.get("dataset", DATASET))


def weight_source() -> str:
    """The loss network whose validation runs chose the grid's weights (by name)."""
    return Path(LOSS_GRID_NETWORKS[WEIGHT_NETWORK][1]).name


def resolve_lambda(entry: dict) -> float:
    """An entry's lambda: a number, or the one a selection chose (``select``,
    ``select:<source>``, ``weight:P``); KeyError when not selected yet."""
    args = entry["args"]
    lam = args.get("lam", 0.0)
    if not isinstance(lam, str):
        return lam
    if lam.startswith("weight:"):
        return resolve_weight(entry, "lam")
    source = lam.split(":", 1)[1] if ":" in lam else args["recognizer"]
    family = entry.get("lambda_of")       # a task whose selection gives this entry's lambda
    task = TASKS[family].get("spec", family) if family else args["task"]
    return chosen_lambda(task, args["method"], source, dataset=entry.get("dataset", DATASET))


def weight_citation(entry: dict) -> dict | None:
    """Where a loss-grid entry's weights come from: the selection file, its keys and rule."""
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
