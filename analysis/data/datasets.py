"""Datasets by name: ``fashion-mnist``, ``cifar10``, ``imagefolder:PATH`` and ``synthetic``.

Every dataset yields ``(image, label, index)`` with ``image`` a float tensor in
[0, 1] of shape (C, H, W), ``label`` an int and ``index`` the position within
its split (tasks use it to make evaluation degradations deterministic).

Splits: ``train``, ``val`` and ``test``. ``val`` is carved from the official
training set by a seeded permutation (``val_size`` images, default 5,000 or
10 % for small sets) and ``train`` is the rest, so hyper-parameters are chosen
on ``val`` and the ``test`` split is never used for choices.
"""

from __future__ import annotations

import collections
import functools
import gzip
import os
import pickle
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import data_root
from ..errors import DataError, RAExplorerError, unknown_name
from ..specs import canonical_spec, parse_spec

SPLITS = ("train", "val", "test")
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


@dataclass
class DatasetInfo:
    """What models need to know about a dataset: shape, classes and normalisation."""

    name: str
    channels: int
    size: int
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    extra: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)     # split -> where its images come from, in words

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


class TensorImageDataset(Dataset):
    """An in-memory dataset of uint8 images (N, C, H, W) and int64 labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, info: DatasetInfo):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W)")
        self.images = images
        self.labels = labels.long()
        self.info = info

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i].float() / 255.0, int(self.labels[i]), i

    def get_batch(self, indices: torch.Tensor):
        """Batched fetch: ``(images float (B, C, H, W), labels (B,), indices (B,))``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        return self.images[indices].float() / 255.0, self.labels[indices], indices


class SubsetImageDataset(Dataset):
    """A view of ``base`` restricted to ``indices``; the yielded index is the position in the view."""

    def __init__(self, base: Dataset, indices: torch.Tensor, info: DatasetInfo):
        self.base = base
        self.indices = torch.as_tensor(indices, dtype=torch.long)
        self.info = info

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        image, label, _ = self.base[int(self.indices[i])]
        return image, label, i

    @property
    def labels(self) -> torch.Tensor:
        """(N,) int64 labels of the view's samples."""
        return self.base.labels[self.indices]

    def get_batch(self, indices: torch.Tensor):
        indices = torch.as_tensor(indices, dtype=torch.long)
        images, labels, _ = self.base.get_batch(self.indices[indices])
        return images, labels, indices


# ----------------------------------------------------------------------------- loaders

def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped), the format of MNIST and Fashion-MNIST."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
        array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        return array.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as exc:
        raise DataError(f"The IDX file {path} is unreadable ({exc}); reinstall the dataset.") from exc


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    return None


def fashion_mnist_dirs(root: str | None) -> list[Path]:
    """Folders searched for Fashion-MNIST, in order."""
    dirs = []
    for value in (root, os.environ.get("RA_FASHION_MNIST")):
        if value:
            dirs += [Path(value), Path(value) / "FashionMNIST" / "raw"]
    dirs += [Path(d) for d in FASHION_MNIST_DIRS]
    return dirs


def _load_fashion_mnist(root: str | None, official: str, **_) -> TensorImageDataset:
    stem = "train" if official == "train" else "t10k"
    for folder in fashion_mnist_dirs(root):
        images_path = _find_idx(folder, f"{stem}-images-idx3-ubyte")
        labels_path = _find_idx(folder, f"{stem}-labels-idx1-ubyte")
        if images_path and labels_path:
            images = torch.from_numpy(_read_idx(images_path).copy()).unsqueeze(1)
            labels = torch.from_numpy(_read_idx(labels_path).astype(np.int64))
            if len(images) != len(labels):
                raise DataError(f"Fashion-MNIST in {folder} has {len(images)} images but "
                                f"{len(labels)} labels; reinstall the dataset.")
            info = DatasetInfo("fashion-mnist", 1, 28, FASHION_MNIST_CLASSES,
                               mean=(0.2860,), std=(0.3530,))
            return TensorImageDataset(images, labels, info)
    raise DataError(
        "Fashion-MNIST was not found in " + ", ".join(str(d) for d in fashion_mnist_dirs(root))
        + "; install it with 'sudo apt-get install dataset-fashion-mnist' or pass --data-root "
        "pointing at a folder with the IDX files."
    )


CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
# what a CIFAR-10 python batch may hold: a dict of str, lists and numpy uint8 arrays
_CIFAR_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR batch and nothing else: only numpy array reconstruction is allowed,
    so an unverified file (``verify=false``) cannot run code."""

    def find_class(self, module, name):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return _BatchUnpickler(fh, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError) as exc:
        raise DataError(f"The CIFAR-10 file {path} is unreadable ({exc}); replace it with the "
                        "file from the official archive.") from exc


def _cifar10_checksum_failures(base: Path) -> list[str]:
    """The CIFAR-10 files under ``base`` whose MD5 differs from torchvision's official list."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    listed = CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"],
                                                        CIFAR10.meta["md5"]]]
    return [name for name, md5 in listed if not check_integrity(str(base / name), md5)]


def _load_cifar10(root: str | None, official: str, download: bool = False, verify: bool = True,
                  **_) -> TensorImageDataset:
    """CIFAR-10 from torchvision's python layout (``ROOT/cifar-10-batches-py``).

    ``verify`` (spec option ``cifar10:verify=false``) skips the MD5 check against the official
    files: for a home-made folder in the same format. ``download`` (``cifar10:download=true``)
    fetches the archive with torchvision first (needs network access).
    """
    root = root or os.environ.get("RA_CIFAR10", "data")
    base = Path(root) / CIFAR10_FOLDER
    if download:
        from torchvision.datasets import CIFAR10
        try:
            CIFAR10(root, train=(official == "train"), download=True)
        except (OSError, RuntimeError) as exc:
            raise DataError(f"CIFAR-10 could not be downloaded into {root!r} ({exc}); copy "
                            f"'{CIFAR10_FOLDER}' there from a machine with network access.") from exc
    names = CIFAR10_FILES["train" if official == "train" else "test"] + ["batches.meta"]
    absent = [n for n in names if not (base / n).is_file()]
    if absent:
        raise DataError(
            f"CIFAR-10 was not found under {root!r} ({base} lacks {', '.join(absent)}); pass "
            f"--data-root to a folder holding '{CIFAR10_FOLDER}', or use the dataset spec "
            "'cifar10:download=true' on a machine with network access.")
    if verify:
        failed = _cifar10_checksum_failures(base)
        if failed:
            raise DataError(
                f"The CIFAR-10 files in {base} fail torchvision's checksum ({', '.join(failed)} "
                "differ from the official archive); if this is your own data in CIFAR-10's "
                "format, use the dataset spec 'cifar10:verify=false' to read it unchecked.")
    batches = [_read_cifar_batch(base / n) for n in names[:-1]]
    try:
        data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
        labels = [int(v) for b in batches for v in b.get("labels", b.get("fine_labels", []))]
        images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
        class_names = tuple(_read_cifar_batch(base / "batches.meta")["label_names"])
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"The CIFAR-10 files in {base} are not in CIFAR-10's python format "
                        f"({exc}); each batch needs 'data' (N x 3072 uint8) and 'labels'.") from exc
    if len(labels) != len(images):
        raise DataError(f"The CIFAR-10 files in {base} hold {len(images)} images but "
                        f"{len(labels)} labels.")
    info = DatasetInfo("cifar10", 3, 32, class_names or CIFAR10_CLASSES,
                       mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616))
    return TensorImageDataset(images, torch.tensor(labels, dtype=torch.int64), info)


def _synthetic_images(n: int, channels: int, size: int, num_classes: int, seed: int):
    """Labelled images whose class sets the orientation and frequency of a grating.

    Shapes: images uint8 (n, channels, size, size), labels int64 (n,). A random
    phase, contrast and pixel noise make the classes learnable but not trivial.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    labels = labels[torch.randperm(n, generator=gen)]
    coords = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    angle = labels.float() * (torch.pi / num_classes)
    freq = 2.0 + (labels % 3).float()
    phase = torch.rand(n, generator=gen) * 2 * torch.pi
    proj = (xx[None] * torch.cos(angle)[:, None, None] + yy[None] * torch.sin(angle)[:, None, None])
    wave = torch.sin(proj * freq[:, None, None] * torch.pi + phase[:, None, None])
    contrast = 0.25 + 0.2 * torch.rand(n, generator=gen)
    img = 0.5 + contrast[:, None, None] * wave
    img = img[:, None].repeat(1, channels, 1, 1)
    if channels > 1:  # give colour channels a class-independent tint
        img = img * (0.8 + 0.2 * torch.rand(n, channels, 1, 1, generator=gen))
    img = img + 0.05 * torch.randn(img.shape, generator=gen)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8), labels


def _load_synthetic(root: str | None, official: str, n: int = 600, channels: int = 1,
                    size: int = 28, classes: int = 10, seed: int = 0, **_) -> TensorImageDataset:
    count = n if official == "train" else max(n // 5, classes)
    images, labels = _synthetic_images(count, channels, size, classes,
                                       seed=seed * 2 + (official != "train"))
    info = DatasetInfo("synthetic", channels, size, tuple(f"class {i}" for i in range(classes)),
                       mean=(0.5,) * channels, std=(0.25,) * channels,
                       extra={"n": n, "seed": seed})
    return TensorImageDataset(images, labels, info)


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


def _load_imagefolder(root: str | None, official: str, path: str = "", size: int | None = None,
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
        class_names = tuple(name for name, _ in _scan_classes(layout["train"]))
        index = {name: k for k, name in enumerate(class_names)}
        scanned = _scan_classes(layout[official])
        samples = [(p, index[name]) for name, paths in scanned if name in index for p in paths]
    else:
        scanned = _scan_classes(folder)
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


def _imagefolder_has_val(params: dict) -> bool:
    folder = Path(params.get("path", "")).expanduser().resolve()
    return folder.is_dir() and bool(imagefolder_layout(folder).get("val"))


DATASETS = {
    "fashion-mnist": _load_fashion_mnist,
    "cifar10": _load_cifar10,
    "synthetic": _load_synthetic,
    "imagefolder": _load_imagefolder,
}


DESCRIPTIONS = {
    "fashion-mnist": "Fashion-MNIST from the IDX files (Debian's dataset-fashion-mnist or "
                     "--data-root); 10 classes, 1 x 28 x 28",
    "cifar10": "CIFAR-10 in torchvision's python layout under --data-root; 10 classes, 3 x 32 x 32; "
               "verify=false reads home-made files without the MD5 check, download=true fetches it",
    "synthetic": "labelled gratings made from a seed (tests, smoke runs)",
    "imagefolder": "imagefolder:PATH[:options]: class folders, or train/ with val/ and/or test/ "
                   "of them (test/ is the test split, else val/; a folder without them is split "
                   "by seed); size defaults to the images' own",
}


def list_datasets() -> list[str]:
    return sorted(DATASETS)


def describe_datasets() -> list[dict]:
    """Each dataset kind: name, description and its spec options with their defaults."""
    import inspect

    out = []
    for name in list_datasets():
        options = {k: ("the images' own" if (name, k) == ("imagefolder", "size") else p.default)
                   for k, p in inspect.signature(DATASETS[name]).parameters.items()
                   if k not in ("root", "official", "path")
                   and p.default is not inspect.Parameter.empty}
        out.append({"name": name, "description": DESCRIPTIONS.get(name, ""), "options": options})
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


# kinds whose folder may hold its own val split: name -> whether the spec's params have one
OWN_VAL_SPLIT = {"imagefolder": _imagefolder_has_val}
# loader options that say how to read the data, not which data it is (left out of normal forms)
READING_OPTIONS = ("download", "verify")
GENERIC_SPLITS = {"train": "the official training set less val",
                  "val": "carved from the official training set by a seeded permutation",
                  "test": "the official test set"}


def load_dataset(spec: str, split: str = "train", root: str | None = None,
                 val_size: int | None = None, seed: int = 0, download: bool = False,
                 **options) -> Dataset:
    """Load split ``split`` of the dataset named by ``spec``.

    ``spec`` is a name from :func:`list_datasets` with options, e.g.
    ``"synthetic:n=256,channels=3"``, ``"cifar10:verify=false"``, ``"imagefolder:/data/imgs"``
    or ``"imagefolder:/data/imgs:size=64,policy=resize"`` (image-folder options: ``size``
    (default: the images' own), ``channels``, ``policy``, ``test_fraction``, ``seed``). The
    returned dataset implements the protocol: ``len``, ``info`` (:class:`DatasetInfo`: class
    names, channels, size, ``splits`` saying where each split comes from), ``labels`` and
    ``get_batch(indices)``. ``root`` defaults to ``--data-root`` / $RA_DATA_ROOT
    (:func:`analysis.config.data_root`).
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    root = data_root(root)
    name, params = split_dataset_spec(spec)
    params.update(options)
    download = bool(params.pop("download", download))
    loader = DATASETS[name]
    if split == "test" or OWN_VAL_SPLIT.get(name, lambda _: False)(params):
        ds = loader(root, split, download=download, **params)
    else:
        full = loader(root, "train", download=download, **params)
        n_val = default_val_size(len(full)) if val_size is None else val_size
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(full), generator=gen)
        chosen = order[:n_val] if split == "val" else order[n_val:]
        ds = SubsetImageDataset(full, torch.sort(chosen).values, full.info)
    if not ds.info.splits:
        ds.info.splits = dict(GENERIC_SPLITS)
    return ds


def dataset_info(spec: str, root: str | None = None, **options) -> DatasetInfo:
    """The :class:`DatasetInfo` of a dataset (reads its test split)."""
    return load_dataset(spec, "test", root=root, **options).info


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
    import inspect

    name, params = split_dataset_spec(spec)
    for key in READING_OPTIONS:
        params.pop(key, None)
    if name == "imagefolder":
        return _normalize_imagefolder(params)
    defaults = {k: p.default for k, p in inspect.signature(DATASETS[name]).parameters.items()
                if k not in ("root", "official", *READING_OPTIONS)
                and p.default is not inspect.Parameter.empty}
    return canonical_spec(name, {**defaults, **params})


def _normalize_imagefolder(params: dict) -> str:
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


def same_dataset(a: str | None, b: str | None) -> bool:
    """Whether two dataset specs name the same data (compared in their normal forms)."""
    if a is None or b is None:
        return a == b
    try:
        return normalize_dataset_spec(a) == normalize_dataset_spec(b)
    except RAExplorerError:
        return a == b


def iterate_batches(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                    epoch: int = 0, limit: int | None = None, rank: int = 0, world_size: int = 1,
                    num_workers: int = 0):
    """Yield ``(images (B, C, H, W), labels (B,), indices (B,))`` batches through the protocol.

    ``limit`` keeps the first ``limit`` images, or a seeded class-stratified sample of that
    many for a :class:`~analysis.data.sampling.Sample` (``--limit``), before shuffling;
    ``rank``/``world_size`` shard the indices the way DistributedSampler does (padding by
    repetition). ``num_workers`` is accepted for callers and unused.
    """
    from .sampling import limited_indices

    base = limited_indices(dataset, limit)
    n = len(base)
    if shuffle:
        gen = torch.Generator().manual_seed(seed * 1000003 + epoch)
        order = base[torch.randperm(n, generator=gen)]
    else:
        order = base
    if world_size > 1:
        per_rank = -(-n // world_size)
        padded = torch.cat([order, order[: per_rank * world_size - n]])
        order = padded[rank::world_size]
    for start in range(0, len(order), batch_size):
        yield dataset.get_batch(order[start:start + batch_size])
