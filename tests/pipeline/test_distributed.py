"""Joining and leaving the torchrun process group (one gloo rank in this process)."""
import socket

import torch.distributed as dist

from analysis.pipeline.distributed import join_process_group, leave_process_group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_group_is_joined_once_and_left_at_the_end(monkeypatch):
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
                       "RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(key, value)
    assert join_process_group(cuda=False) == (0, 1)
    assert join_process_group(cuda=False) == (0, 1)     # a second join reuses the group
    assert dist.is_initialized()
    leave_process_group()
    assert not dist.is_initialized()
    leave_process_group()                               # leaving twice is harmless
