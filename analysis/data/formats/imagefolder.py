"""The image-folder format: class folders of image files (ImageNet style), with or without
train/ val/ test/ split folders, read at a chosen size with a resize / crop policy.

A folder of class folders only is split by seed (``test_fraction``, ``seed``); a folder with
train/ and val/ and/or test/ serves those (test/ is the test split, else val/). The served size
defaults to the images' own (:func:`imagefolder_native_size`).
"""

from __future__ import annotations

import collections
import functools
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ...errors import DataError, unknown_name
from ...specs import canonical_spec
from ..containers import SPLITS, DatasetInfo


class ImageFolderDataset(Dataset):
    """ImageNet-style class folders read with a resize / crop policy.

    ``policy`` is ``"resize-center-crop"`` (shorter side to ``size``, then a
    centre crop of ``size`` x ``size``) or ``"resize"`` (squash to ``size``).
    """

    def __init__(self, samples: list[tuple[str, int]], info: DatasetInfo, policy: str):
        from torchvision import transforms

        self.samples = samples
        self.info = info
        size = info.size
        steps = {
            "resize-center-crop": [transforms.Resize(size), transforms.CenterCrop(size)],
            "resize": [transforms.Resize((size, size))],
        }
        if policy not in steps:
            raise unknown_name("resize policy", policy, list(steps))
        self.transform = transforms.Compose(steps[policy] + [transforms.ToTensor()])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        from PIL import Image

        path, label = self.samples[i]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB" if self.info.channels == 3 else "L")
                return self.transform(img), label, i
        except OSError as exc:
            raise DataError(f"The image {path} is unreadable ({exc}); remove or replace it.") from exc

    @property
    def labels(self) -> torch.Tensor:
        """(N,) int64: every sample's class, without reading an image."""
        return torch.tensor([label for _, label in self.samples], dtype=torch.long)

    def get_batch(self, indices: torch.Tensor):
        """Batched fetch: ``(images float (B, C, H, W), labels (B,), indices (B,))``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        items = [self[int(i)] for i in indices]
        return (torch.stack([im for im, _, _ in items]),
                torch.tensor([lab for _, lab, _ in items], dtype=torch.long), indices)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}


def _scan_classes(folder: Path) -> list[tuple[str, list[str]]]:
    classes = sorted(d for d in folder.iterdir() if d.is_dir())
    return [(c.name, sorted(str(p) for p in c.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
            for c in classes]


_SAID: set[str] = set()


def say_once(message: str) -> None:
    """Print ``message`` on stderr the first time it comes up in this process."""
    if message not in _SAID:
        _SAID.add(message)
        print(message, file=sys.stderr)


def imagefolder_layout(folder: Path) -> dict[str, Path | None]:
    """Which folder serves each split: {"train": dir, "val": dir or None, "test": dir}, or {}
    for a folder of class folders only (a seeded split). ``val`` None: carved from train."""
    dirs = {name: folder / name for name in SPLITS if (folder / name).is_dir()}
    if not dirs:
        return {}
    if "train" not in dirs or len(dirs) < 2:
        raise DataError(f"The image folder {folder} has {', '.join(f'{d}/' for d in dirs)} but "
                        "needs train/ and val/ or test/ beside it (or only class folders, for a "
                        "seeded split).")
    if "test" in dirs:
        return {"train": dirs["train"], "val": dirs.get("val"), "test": dirs["test"]}
    return {"train": dirs["train"], "val": None, "test": dirs["val"]}


def _describe_layout(folder: Path, layout: dict, test_fraction: float, seed: int) -> dict:
    """split -> where its images come from, in words (DatasetInfo.splits)."""
    if not layout:
        return {"test": f"a seeded {100 * test_fraction:g} % of {folder} (seed {seed})",
                "train": "the rest of it, less val", "val": "carved from train by a seeded "
                "permutation"}
    return {"train": str(layout["train"]),
            "val": str(layout["val"]) if layout["val"] else "carved from train/ by a seeded "
            "permutation", "test": str(layout["test"])}


def _state_layout(folder: Path, layout: dict, test_fraction: float, seed: int) -> None:
    if not layout:
        say_once(f"imagefolder {folder}: no train/ val/ test/ folders, so the test split is a "
                 f"seeded {100 * test_fraction:g} % of the images (seed {seed}; options "
                 "test_fraction=, seed=) and val is carved from the rest.")
    elif layout["val"] is None and layout["test"].name == "test":
        say_once(f"imagefolder {folder}: there is no val/, so the val split is carved from "
                 "train/ by a seeded permutation; test/ is the test split.")
    elif layout["val"] is None:
        say_once(f"imagefolder {folder}: val/ serves as the test split (there is no test/); "
                 "the val split is carved from train/.")


@functools.lru_cache(maxsize=64)
def _image_sizes(files: tuple[str, ...]) -> collections.Counter:
    """(width, height) -> count over ``files``, from the image headers (no decoding)."""
    from PIL import Image

    sizes = collections.Counter()
    for path in files:
        try:
            with Image.open(path) as img:
                sizes[img.size] += 1
        except OSError as exc:
            raise DataError(f"The image {path} is unreadable ({exc}); remove or replace it.") from exc
    return sizes


def imagefolder_native_size(folder: Path) -> int:
    """The side ImageFolder images are served at when ``size`` is not given: the images' own
    (shorter) side when they all share one size; else the most common shorter side, said once
    on stderr with the reason. Remembered until a class folder changes (its mtime)."""
    layout = imagefolder_layout(folder)
    dirs = [d for d in layout.values() if d] if layout else [folder]
    stamp = tuple((str(c), c.stat().st_mtime_ns) for d in dirs for c in sorted(d.iterdir())
                  if c.is_dir())
    return _native_size(folder, tuple(dirs), stamp)


@functools.lru_cache(maxsize=64)
def _native_size(folder: Path, dirs: tuple[Path, ...], stamp: tuple) -> int:
    files = tuple(p for d in dirs for _, paths in _scan_classes(d) for p in paths)
    sizes = _image_sizes(files)
    if not sizes:
        raise DataError(f"No images were found under {folder}; expected class sub-folders "
                        f"holding files with suffixes {', '.join(sorted(IMAGE_SUFFIXES))}.")
    if len(sizes) == 1:
        (w, h), = sizes
        if w != h:
            say_once(f"imagefolder {folder}: the images are {w}x{h}; size={min(w, h)} (their "
                     "shorter side), centre-cropped to a square (pass :size=N to choose another).")
        return min(w, h)
    sides = collections.Counter()
    for (w, h), count in sizes.items():
        sides[min(w, h)] += count
    side, count = sides.most_common(1)[0]
    say_once(f"imagefolder {folder}: the images have {len(sizes)} different sizes; size={side} "
             f"was chosen, the most common shorter side ({count} of {sum(sizes.values())} "
             "images); pass :size=N to choose another.")
    return side


def _check_classes(folder: Path, scanned: list[tuple[str, list[str]]], prefix: str) -> None:
    """Refuse a class folder without images (``prefix``: "train/" or "" before its name)."""
    empty = [prefix + name for name, paths in scanned if not paths]
    if len(empty) == 1:
        raise DataError(f"The class folder {empty[0]} of the image folder {folder} holds no "
                        "images, so its class would be trained on none; add images to it or "
                        "remove it.")
    if empty:
        raise DataError(f"The class folders {', '.join(empty)} of the image folder {folder} "
                        "hold no images, so their classes would be trained on none; add images "
                        "to them or remove them.")


def _check_splits(folder: Path, layout: dict, class_names: tuple[str, ...]) -> None:
    """Refuse classes that val/ or test/ holds but train/ does not (they would be dropped)."""
    known = set(class_names)
    for split_dir in dict.fromkeys(d for d in (layout["val"], layout["test"]) if d):
        extra = sorted(d.name for d in split_dir.iterdir() if d.is_dir() and d.name not in known)
        if extra:
            here = split_dir.name
            if len(extra) == 1:
                raise DataError(f"The image folder {folder} has {here}/{extra[0]} but no "
                                f"train/{extra[0]}, so that class could not be learnt and its "
                                f"images would be left out; add train/{extra[0]} with training "
                                f"images or remove {here}/{extra[0]}.")
            raise DataError(f"The image folder {folder} has {', '.join(f'{here}/{e}' for e in extra)} "
                            "but no such folders in train/, so those classes could not be learnt "
                            "and their images would be left out; add them under train/ with "
                            f"training images or remove them from {here}/.")


def load_imagefolder(root: str | None, official: str, path: str = "", size: int | None = None,
                     channels: int = 3, policy: str = "resize-center-crop",
                     test_fraction: float = 0.2, seed: int = 0, **_) -> Dataset:
    """Class folders, or train/ + val/ and/or test/ of class folders (see
    :func:`imagefolder_layout`); ``size`` defaults to :func:`imagefolder_native_size`.
    ``official`` "val" is asked for only when the folder has its own val/ (beside test/)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise DataError(f"The image folder {folder} does not exist; pass imagefolder:PATH with "
                        "PATH holding one sub-folder per class (or train/ and val/ of those).")
    layout = imagefolder_layout(folder)
    _state_layout(folder, layout, test_fraction, seed)
    if layout:
        training = _scan_classes(layout["train"])
        _check_classes(folder, training, "train/")
        class_names = tuple(name for name, _ in training)
        _check_splits(folder, layout, class_names)
        index = {name: k for k, name in enumerate(class_names)}
        scanned = _scan_classes(layout[official])
        samples = [(p, index[name]) for name, paths in scanned if name in index for p in paths]
    else:
        scanned = _scan_classes(folder)
        _check_classes(folder, scanned, "")
        class_names = tuple(name for name, _ in scanned)
        samples = [(p, k) for k, (_, paths) in enumerate(scanned) for p in paths]
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(samples), generator=gen).tolist()
        n_test = int(round(test_fraction * len(samples)))
        chosen = order[:n_test] if official == "test" else order[n_test:]
        samples = [samples[i] for i in sorted(chosen)]
    if not samples:
        raise DataError(f"No images were found under {folder}; expected class sub-folders "
                        f"holding files with suffixes {', '.join(sorted(IMAGE_SUFFIXES))}.")
    size = imagefolder_native_size(folder) if size is None else size
    options = {"size": size, "channels": channels, "policy": policy}
    if not layout:
        options.update(test_fraction=test_fraction, seed=seed)
    info = DatasetInfo(f"imagefolder:{folder}" + canonical_spec("", options), channels, size,
                       class_names,
                       mean=(0.485, 0.456, 0.406)[:channels] if channels == 3 else (0.449,),
                       std=(0.229, 0.224, 0.225)[:channels] if channels == 3 else (0.226,),
                       extra={"policy": policy},
                       splits=_describe_layout(folder, layout, test_fraction, seed))
    return ImageFolderDataset(samples, info, policy)


def imagefolder_has_val(params: dict) -> bool:
    """Whether the folder of an ``imagefolder`` spec's options has its own val/ split."""
    folder = Path(params.get("path", "")).expanduser().resolve()
    return folder.is_dir() and bool(imagefolder_layout(folder).get("val"))


def normalize_imagefolder(params: dict) -> str:
    """The normal form of an ``imagefolder`` spec from its options (``path`` and the rest):
    see :func:`analysis.data.datasets.normalize_dataset_spec`."""
    folder = Path(params.pop("path", "")).expanduser().resolve()
    options = {"channels": 3, "policy": "resize-center-crop", **params}
    try:
        layout = imagefolder_layout(folder) if folder.is_dir() else None
        if layout is not None and options.get("size") is None:
            options["size"] = imagefolder_native_size(folder)
    except DataError:
        layout = None
    if layout == {}:
        options = {"test_fraction": 0.2, "seed": 0, **options}
    elif layout:
        options.pop("test_fraction", None)
        options.pop("seed", None)
    return f"imagefolder:{folder}" + canonical_spec("", options)
