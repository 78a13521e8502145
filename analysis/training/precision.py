"""The arithmetic precision of a training step: float32, or autocast to bfloat16 / float16.

``auto`` (the default) keeps float32 on a CPU and autocasts to bfloat16 on a CUDA device that
supports it (float16 on one that does not); ``bfloat16`` autocasts on either device (on a CPU
the matrix products and convolutions run in bfloat16 where oneDNN has kernels for them, which
halves most saved activations); ``float16`` autocasts on CUDA only. The weights, the optimizer
and the stored checkpoint stay float32 (``--float16`` stores weights as float16 separately).
"""

from __future__ import annotations

import torch

from ..errors import RAExplorerError

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``precision`` on ``device`` (None: float32, no autocast); one
    sentence for a name not in :data:`PRECISIONS` or float16 on a CPU."""
    if precision not in PRECISIONS:
        raise RAExplorerError(f"Unknown precision {precision!r}; choose one of "
                              f"{', '.join(PRECISIONS)}.")
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "float16" and device.type != "cuda":
        raise RAExplorerError("Training in float16 needs a CUDA device; on a CPU use "
                              "--precision bfloat16.")
    return AUTOCAST.get(precision)


def precision_name(dtype: torch.dtype | None) -> str:
    """``float32`` for no autocast, else the autocast dtype's name (what a card records)."""
    return "float32" if dtype is None else str(dtype).removeprefix("torch.")
