"""Device choice: CUDA when present, else CPU; nothing assumes either."""

from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or the best available device."""
    if requested and requested != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA device is available; use --device cpu.")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
