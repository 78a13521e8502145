"""Training with worker processes decoding the batches (issue 39, point 1): the same steps and
the same weights as decoding in the training process."""

from __future__ import annotations

from safetensors.torch import load_file

from analysis.training.processors import train_processor
from tests.conftest import SYNTH, TINY_PROCESSOR


def test_a_run_with_workers_trains_the_same_weights(tmp_path):
    weights = []
    for workers in (0, 2):
        out = tmp_path / f"p{workers}"
        train_processor("sr", "plain", dataset=SYNTH, out=str(out), epochs=1, batch_size=16,
                        arch_kwargs=TINY_PROCESSOR, max_steps=3, val_limit=8,
                        state_dir=str(tmp_path / f"s{workers}"), progress=False, device="cpu",
                        workers=workers)
        weights.append(load_file(f"{out}.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][k] == weights[1][k]).all() for k in weights[0])
