"""The dataset registry: every dataset kind by name as a spec row, one factory, one listing.

``DATASETS`` maps a name (``fashion-mnist``, ``cifar10``, ``imagefolder:PATH``, ``synthetic``)
to a :class:`DatasetSpec` (its loader from :mod:`analysis.data.formats`, description and how
its splits and normal form are found); ``load_dataset(spec, split)`` loads a split,
``list_datasets`` / ``describe_datasets`` list them, and ``normalize_dataset_spec`` gives each
dataset one spelling. Adding a dataset is adding a loader and a row.

Splits: ``train``, ``val`` and ``test``. ``val`` is carved from the official
training set by a seeded permutation (``val_size`` images, default 5,000 or
10 % for small sets) and ``train`` is the rest, so hyper-parameters are chosen
on ``val`` and the ``test`` split is never used for choices.

Every classification kind takes the option ``categories`` (a fixed subset of the classes,
relabelled 0..k-1: ``fashion-mnist:categories=a``, ``synthetic:categories=0+2+4``; see
:mod:`analysis.data.categories`), applied after val is carved.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.data import Dataset

from ..checks import named_options
from ..config import data_root
from ..errors import DataError, RAExplorerError, unknown_name
from ..specs import canonical_spec, parse_spec
from . import canvases
from .categories import keep_categories, normal_categories
from .containers import SPLITS, SubsetImageDataset
from .formats.cifar import load_cifar10
from .formats.idx import load_fashion_mnist
from .formats.imagefolder import imagefolder_has_val, load_imagefolder, normalize_imagefolder
from .formats.synthetic import load_synthetic

# loader options that say how to read the data, not which data it is (left out of normal forms)
READING_OPTIONS = ("download", "verify")
CATEGORIES = "categories"   # the option every classification kind takes (analysis.data.categories)
GENERIC_SPLITS = {"train": "the official training set less val",
                  "val": "carved from the official training set by a seeded permutation",
                  "test": "the official test set"}
LOADER_ARGUMENTS = ("root", "official")   # what every loader takes besides the spec's options


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset kind: its loader ``(root, official, **options) -> Dataset``, a description,
    and, where the kind has them, ``own_val`` (options -> whether the data has its own val
    split) and ``normal_form`` (options -> the spec's normal form, for kinds whose defaults
    depend on the data); ``option_notes`` says a default in words where it is not a value."""

    loader: Callable[..., Dataset]
    description: str
    own_val: Callable[[dict], bool] | None = None
    normal_form: Callable[[dict], str] | None = None
    option_notes: dict = field(default_factory=dict)
    detection: bool = False      # items are (image, {boxes, labels}, index), not class labels

    def defaults(self) -> dict:
        """The loader's options with their defaults (``root`` and ``official`` left out)."""
        return {k: p.default for k, p in inspect.signature(self.loader).parameters.items()
                if k not in LOADER_ARGUMENTS and p.default is not inspect.Parameter.empty}

    def options(self) -> dict[str, inspect.Parameter]:
        """Every option a spec of this kind may give, as {name: Parameter}: the loader's
        keyword options, and ``categories`` (default None: all classes) for a classification
        kind (what a spec check should accept)."""
        named, _ = named_options(self.loader, LOADER_ARGUMENTS)
        if not self.detection:
            named[CATEGORIES] = inspect.Parameter(CATEGORIES, inspect.Parameter.KEYWORD_ONLY,
                                                  default=None)
        return named


def base_spec(value: str) -> str:
    """A canvas's ``base`` option as a dataset spec: its options are joined by ``;`` inside the
    canvas spec (``base=synthetic:n=64;channels=3``), since ``,`` separates the canvas's own."""
    return str(value).replace(";", ",")


def load_canvas(root: str | None, official: str, base: str = "fashion-mnist", n: int = 2000,
                n_val: int = 500, n_test: int = 1000, size: int = canvases.CANVAS_SIZE,
                min_items: int = canvases.MIN_ITEMS, max_items: int = canvases.MAX_ITEMS,
                min_side: int = canvases.MIN_SIDE, max_side: int = canvases.MAX_SIDE,
                threshold: float = canvases.THRESHOLD, seed: int = 0, download: bool = False,
                **_) -> canvases.CanvasDataset:
    """Detection canvases (:mod:`analysis.data.canvases`) of the split ``official`` made only of
    that split's images of the dataset ``base``: ``n`` train, ``n_val`` val and ``n_test`` test
    canvases of ``size`` x ``size`` pixels."""
    items = load_dataset(base_spec(base), official, root=root, download=download)
    if items.info.extra.get("task") == "detection":
        raise DataError(f"The canvases' base {base!r} is itself a detection dataset; name a "
                        "classification dataset (for example base=fashion-mnist).")
    count = {"train": n, "val": n_val, "test": n_test}[official]
    dataset = canvases.CanvasDataset(items, count, official, seed, size, min_items, max_items,
                                     min_side, max_side, threshold)
    dataset.info.extra.update(base=normal_dataset(base_spec(base)), seed=seed)
    dataset.info.splits = {split: f"{where} (canvases of its images)"
                           for split, where in (items.info.splits or GENERIC_SPLITS).items()}
    return dataset


def normalize_canvas(params: dict) -> str:
    """The normal form of a ``canvas`` spec: the loader's defaults spelled out and the base in
    its own normal form (options joined by ``;``)."""
    params = {**DATASETS["canvas"].defaults(), **params}
    params.pop("download", None)
    params["base"] = normal_dataset(base_spec(params["base"])).replace(",", ";")
    return canonical_spec("canvas", params)


DATASETS: dict[str, DatasetSpec] = {
    "fashion-mnist": DatasetSpec(
        load_fashion_mnist,
        "Fashion-MNIST from the IDX files (Debian's dataset-fashion-mnist or --data-root); "
        "10 classes, 1 x 28 x 28"),
    "cifar10": DatasetSpec(
        load_cifar10,
        "CIFAR-10 in torchvision's python layout under --data-root; 10 classes, 3 x 32 x 32; "
        "verify=false reads home-made files without the MD5 check, download=true fetches it"),
    "synthetic": DatasetSpec(load_synthetic, "labelled gratings made from a seed (tests, smoke runs)"),
    "imagefolder": DatasetSpec(
        load_imagefolder,
        "imagefolder:PATH[:options]: class folders, or train/ with val/ and/or test/ of them "
        "(test/ is the test split, else val/; a folder without them is split by seed); size "
        "defaults to the images' own",
        own_val=imagefolder_has_val, normal_form=normalize_imagefolder,
        option_notes={"size": "the images' own"}),
    "canvas": DatasetSpec(
        load_canvas,
        "canvas:base=SPEC,size=112,n=2000: detection canvases (a PASCAL VOC analog) of 1-4 "
        "items of a classification dataset at seeded positions and scales, boxes from the "
        "items' pixels; base options joined by ';'",
        own_val=lambda params: True, normal_form=normalize_canvas, detection=True),
}


def list_datasets() -> list[str]:
    return sorted(DATASETS)


def describe_datasets() -> list[dict]:
    """Each dataset kind: name, description and its spec options with their defaults."""
    out = []
    for name in list_datasets():
        spec = DATASETS[name]
        options = {k: spec.option_notes.get(k, v) for k, v in spec.defaults().items()
                   if k != "path"}
        if not spec.detection:
            options[CATEGORIES] = "all classes (or a, b, or indices such as 0+2+4)"
        out.append({"name": name, "description": spec.description, "options": options})
    return out


def _imagefolder_params(spec: str) -> dict:
    """``imagefolder:PATH`` or ``imagefolder:PATH:size=64,policy=resize`` -> keyword options."""
    rest = spec.split(":", 1)[1]
    path, sep, tail = rest.rpartition(":")
    if sep and tail and all("=" in item for item in tail.split(",")):
        _, params = parse_spec("x:" + tail)
        return {"path": path, **params}
    return {"path": rest}


def split_dataset_spec(spec: str) -> tuple[str, dict]:
    """(registered dataset name, its options) of a spec; an unknown name gets close names."""
    if spec.startswith("imagefolder:"):
        name, params = "imagefolder", _imagefolder_params(spec)
    else:
        name, params = parse_spec(spec)
    if name not in DATASETS:
        raise unknown_name("dataset", name, list(DATASETS))
    return name, params


def default_val_size(n_train: int) -> int:
    return 5000 if n_train >= 50000 else max(1, n_train // 10)


def load_dataset(spec: str, split: str = "train", root: str | None = None,
                 val_size: int | None = None, seed: int = 0, download: bool = False,
                 **options) -> Dataset:
    """Load split ``split`` of the dataset named by ``spec``.

    ``spec`` is a name from :func:`list_datasets` with options, e.g.
    ``"synthetic:n=256,channels=3"``, ``"cifar10:verify=false"``, ``"imagefolder:/data/imgs"``
    or ``"imagefolder:/data/imgs:size=64,policy=resize"`` (image-folder options: ``size``
    (default: the images' own), ``channels``, ``policy``, ``test_fraction``, ``seed``). Every
    classification kind takes ``categories`` (``fashion-mnist:categories=a``: a fixed subset of
    the classes relabelled 0..k-1, see :mod:`analysis.data.categories`); ``canvas:base=SPEC``
    gives detection canvases whose items are ``(image, {"boxes", "labels"}, index)`` (see
    :mod:`analysis.data.canvases`). The returned classification dataset implements the
    protocol: ``len``, ``info`` (:class:`~analysis.data.containers.DatasetInfo`: class names,
    channels, size, ``splits`` saying where each split comes from), ``labels`` and
    ``get_batch(indices)``. ``root`` defaults to ``--data-root`` / $RA_DATA_ROOT
    (:func:`analysis.config.data_root`).
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    root = data_root(root)
    name, params = split_dataset_spec(spec)
    params.update(options)
    download = bool(params.pop("download", download))
    kind = DATASETS[name]
    categories = params.pop(CATEGORIES, None)
    if categories is not None and kind.detection:
        raise DataError(f"The {name} dataset takes no option {CATEGORIES!r}; give it to the "
                        f"dataset the {name} is made from (for example "
                        f"canvas:base=fashion-mnist:{CATEGORIES}=a).")
    if split == "test" or (kind.own_val is not None and kind.own_val(params)):
        ds = kind.loader(root, split, download=download, **params)
    else:
        full = kind.loader(root, "train", download=download, **params)
        n_val = default_val_size(len(full)) if val_size is None else val_size
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(full), generator=gen)
        chosen = order[:n_val] if split == "val" else order[n_val:]
        ds = SubsetImageDataset(full, torch.sort(chosen).values, full.info)
    if not ds.info.splits:
        ds.info.splits = dict(GENERIC_SPLITS)
    return ds if categories is None else keep_categories(ds, categories)


def normalize_dataset_spec(spec: str) -> str:
    """The one spelling of a dataset spec, for comparing specs and writing them in cards.

    Options take their loader's defaults explicitly (``synthetic:n=64`` ->
    ``synthetic:channels=1,classes=10,n=64,seed=0,size=28``), reading options
    (``download``, ``verify``) are dropped, and an image folder's path is made absolute
    without a trailing slash, with its size (default: the images' own), channels and policy
    spelled out, plus ``test_fraction`` and ``seed`` when the folder has no split folders:
    ``imagefolder:/abs/path:channels=3,policy=resize-center-crop,size=64``. A folder that
    is not there keeps the options it was given (its path still resolved).
    """
    name, params = split_dataset_spec(spec)
    for key in READING_OPTIONS:
        params.pop(key, None)
    if CATEGORIES in params:
        params[CATEGORIES] = normal_categories(params[CATEGORIES])
    kind = DATASETS[name]
    if kind.normal_form is not None:
        return kind.normal_form(params)
    defaults = {k: v for k, v in kind.defaults().items() if k not in READING_OPTIONS}
    return canonical_spec(name, {**defaults, **params})


def normal_dataset(spec: str | None) -> str | None:
    """A card's (or a query's) dataset spec in its normal form; the spec itself if it cannot
    be read (an unknown name: it then matches only its own spelling)."""
    if not spec:
        return spec
    try:
        return normalize_dataset_spec(spec)
    except RAExplorerError:
        return spec


def same_dataset(a: str | None, b: str | None) -> bool:
    """Whether two dataset specs name the same data (compared in their normal forms)."""
    if a is None or b is None:
        return a == b
    try:
        return normalize_dataset_spec(a) == normalize_dataset_spec(b)
    except RAExplorerError:
        return a == b
