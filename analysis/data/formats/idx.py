"""The IDX format (MNIST, Fashion-MNIST): reading the files and loading Fashion-MNIST from them."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import torch

from ...errors import DataError
from ..containers import DatasetInfo, TensorImageDataset

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def read_idx(path: Path) -> np.ndarray:
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


def load_fashion_mnist(root: str | None, official: str, **_) -> TensorImageDataset:
    """Fashion-MNIST's official ``official`` split from the first folder of
    :func:`fashion_mnist_dirs` holding its IDX files: uint8 images (N, 1, 28, 28)."""
    stem = "train" if official == "train" else "t10k"
    for folder in fashion_mnist_dirs(root):
        images_path = _find_idx(folder, f"{stem}-images-idx3-ubyte")
        labels_path = _find_idx(folder, f"{stem}-labels-idx1-ubyte")
        if images_path and labels_path:
            images = torch.from_numpy(read_idx(images_path).copy()).unsqueeze(1)
            labels = torch.from_numpy(read_idx(labels_path).astype(np.int64))
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
