"""The CIFAR-10 python format (torchvision's ``cifar-10-batches-py``): checksums, batches read
without running code, and the CIFAR-10 loader."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from ...errors import DataError
from ..containers import DatasetInfo, TensorImageDataset

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
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


def load_cifar10(root: str | None, official: str, download: bool = False, verify: bool = True,
                 **_) -> TensorImageDataset:
    """CIFAR-10 from torchvision's python layout (``ROOT/cifar-10-batches-py``): uint8 images
    (N, 3, 32, 32).

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
