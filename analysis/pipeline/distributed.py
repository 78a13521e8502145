"""The torchrun process group: joined once per process, left cleanly at exit.

Leaving matters: a gloo group that is still alive when the interpreter tears down
aborts the process ("terminate called without an active exception", SIGABRT) when
one rank exits while the other is still closing its sockets.
"""
from __future__ import annotations

import atexit
import os


def world_size_from_env() -> int:
    """WORLD_SIZE as torchrun sets it (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def join_process_group(cuda: bool) -> tuple[int, int]:
    """(rank, world size) after joining the group (nccl on CUDA, gloo otherwise)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
        atexit.register(leave_process_group)
    return dist.get_rank(), dist.get_world_size()


def leave_process_group() -> None:
    """Wait for every rank, then destroy the group (idempotent; no-op when not joined)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()
