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

import gzip
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import data_root
from ..errors import DataError, unknown_name
from ..specs import parse_spec

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
        if hasattr(self.base, "get_batch"):
            images, labels, _ = self.base.get_batch(self.indices[indices])
            return images, labels, indices
        items = [self[int(i)] for i in indices]
        return (torch.stack([it[0] for it in items]),
                torch.tensor([it[1] for it in items]), indices)


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


def _load_cifar10(root: str | None, official: str, download: bool = False, **_) -> TensorImageDataset:
    from torchvision.datasets import CIFAR10

    root = root or os.environ.get("RA_CIFAR10", "data")
    try:
        ds = CIFAR10(root, train=(official == "train"), download=download)
    except RuntimeError as exc:
        raise DataError(
            f"CIFAR-10 was not found under {root!r}; pass --data-root to a folder holding "
            "'cifar-10-batches-py', or add --download on a machine with network access."
        ) from exc
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(ds.targets, dtype=torch.int64)
    info = DatasetInfo("cifar10", 3, 32, tuple(getattr(ds, "classes", CIFAR10_CLASSES)),
                       mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616))
    return TensorImageDataset(images, labels, info)


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


def _load_imagefolder(root: str | None, official: str, path: str = "", size: int = 224,
                      channels: int = 3, policy: str = "resize-center-crop",
                      test_fraction: float = 0.2, seed: int = 0, **_) -> Dataset:
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"The image folder {folder} does not exist; pass imagefolder:PATH with "
                        "PATH holding one sub-folder per class (or train/ and val/ of those).")
    split_dirs = [folder / "train", folder / "val", folder / "test"]
    if split_dirs[0].is_dir() and (split_dirs[1].is_dir() or split_dirs[2].is_dir()):
        test_dir = split_dirs[2] if split_dirs[2].is_dir() else split_dirs[1]
        scanned = _scan_classes(split_dirs[0] if official == "train" else test_dir)
        class_names = tuple(name for name, _ in _scan_classes(split_dirs[0]))
        index = {name: k for k, name in enumerate(class_names)}
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
    info = DatasetInfo(f"imagefolder:{folder}", channels, size, class_names,
                       mean=(0.485, 0.456, 0.406)[:channels] if channels == 3 else (0.449,),
                       std=(0.229, 0.224, 0.225)[:channels] if channels == 3 else (0.226,),
                       extra={"policy": policy})
    return ImageFolderDataset(samples, info, policy)


DATASETS = {
    "fashion-mnist": _load_fashion_mnist,
    "cifar10": _load_cifar10,
    "synthetic": _load_synthetic,
    "imagefolder": _load_imagefolder,
}


def list_datasets() -> list[str]:
    return sorted(DATASETS)


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
    ``"synthetic:n=256,channels=3"``, ``"imagefolder:/data/imagenet"`` or
    ``"imagefolder:/data/imagenet:size=64,policy=resize"`` (image-folder
    options: ``size``, ``channels``, ``policy``, ``test_fraction``). ``root`` defaults to
    ``--data-root`` / $RA_DATA_ROOT (:func:`analysis.config.data_root`). The
    returned dataset has an ``info`` attribute
    (:class:`DatasetInfo`).
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    root = data_root(root)
    name, params = split_dataset_spec(spec)
    params.update(options)
    loader = DATASETS[name]
    if split == "test":
        return loader(root, "test", download=download, **params)
    full = loader(root, "train", download=download, **params)
    n_val = default_val_size(len(full)) if val_size is None else val_size
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(full), generator=gen)
    chosen = order[:n_val] if split == "val" else order[n_val:]
    return SubsetImageDataset(full, torch.sort(chosen).values, full.info)


def dataset_info(spec: str, root: str | None = None, **options) -> DatasetInfo:
    """The :class:`DatasetInfo` of a dataset (reads its test split)."""
    return load_dataset(spec, "test", root=root, **options).info


def iterate_batches(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                    epoch: int = 0, limit: int | None = None, rank: int = 0, world_size: int = 1,
                    num_workers: int = 0):
    """Yield ``(images (B, C, H, W), labels (B,), indices (B,))`` batches.

    In-memory datasets are sliced directly (much faster than a DataLoader on
    small images); others go through a DataLoader. ``limit`` keeps the first
    ``limit`` images (before shuffling), ``rank``/``world_size`` shard the
    indices the way DistributedSampler does (padding by repetition).
    """
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if shuffle:
        gen = torch.Generator().manual_seed(seed * 1000003 + epoch)
        order = torch.randperm(n, generator=gen)
    else:
        order = torch.arange(n)
    if world_size > 1:
        per_rank = -(-n // world_size)
        padded = torch.cat([order, order[: per_rank * world_size - n]])
        order = padded[rank::world_size]
    if hasattr(dataset, "get_batch"):
        for start in range(0, len(order), batch_size):
            yield dataset.get_batch(order[start:start + batch_size])
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, sampler=order.tolist(),
                        num_workers=num_workers)
    for images, labels, indices in loader:
        yield images, labels, indices
