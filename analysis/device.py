"""Device choice: CUDA when present, else CPU; nothing assumes either."""

from __future__ import annotations

import os

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or the best available device."""
    if requested and requested != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA device is available; use --device cpu.")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameter numbers
RETAIN_BELOW = 32 << 20    # bytes: blocks up to this come from the heap (glibc's documented maximum)
TRIM_ABOVE = 1 << 30                                # bytes of free heap top kept before trimming


def retain_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back and
    faulting it in again: blocks up to 32 MiB from the heap (not one mmap each; the largest
    threshold every glibc accepts) and up to 1 GiB of free heap kept. A forward pass
    allocates megabytes per layer; on the 2-core VM of BENCHMARKS.md ("Side by side and
    malloc") page faults were up to half of a convolution's time (200 one-thread forwards of
    a 16-channel 3 x 3 convolution on 128 x 16 x 28 x 28: 0.96-1.57 s with 157,000-788,000
    minor faults, 0.76-0.78 s with none). The environment variables MALLOC_MMAP_THRESHOLD_
    and MALLOC_TRIM_THRESHOLD_ win when set; ``RA_RETAIN_FREED_MEMORY=0`` leaves malloc as it
    is. Whether it was applied (False off glibc or when turned off)."""
    import ctypes

    if os.environ.get("RA_RETAIN_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    done = True
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        done &= bool(libc.mallopt(M_MMAP_THRESHOLD, RETAIN_BELOW))
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        done &= bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_ABOVE))
    return done


BATCH_VALUES = 1 << 23   # float values per batch tensor: 32 MiB in float32 (55 images at 224x224x3)


def fit_batch(values_per_image: int, wanted: int, budget: int = BATCH_VALUES) -> int:
    """``wanted`` images per batch, or fewer so that a batch tensor of images with
    ``values_per_image`` (C*H*W) values stays within ``budget`` values (at least 1): 500 at
    28x28x1 and 32x32x3 stay 500, 500 at 224x224x3 becomes 55. What keeps a pass's memory
    bounded by the batch at any image size when the batch size is not given."""
    return max(1, min(int(wanted), budget // max(1, int(values_per_image))))


def available_memory(device: torch.device) -> int:
    """Bytes that a run on ``device`` can still allocate: free GPU memory on CUDA
    (``torch.cuda.mem_get_info``), else the system's available memory (``MemAvailable`` of
    /proc/meminfo, which counts reclaimable caches; off Linux, free physical pages)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])

    try:
        with open("/proc/meminfo") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
