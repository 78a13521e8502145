"""The runner: views, order, sharding plan, progress, and one forward per (image, model)."""

import os
import subprocess
import sys

import numpy as np
import torch

from analysis.config import PROJECT_ROOT
from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.pipeline.records import RecordSink, RecordTable, run_sinks
from analysis.pipeline.runner import CLEAN, NO_PROCESSING, batch_plan, stream
from analysis.zoo import TransformedProcessor, create_model
from analysis.zoo.catalogue import find_checkpoints
from analysis.zoo.checkpoints import load_models
from tests.conftest import SYNTH, TINY_PROCESSOR, TINY_TRANSFORMER
from tests.process_groups import run_session


class Counting(torch.nn.Module):
    """Counts the images that go through ``inner``."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.images = inner, 0

    def forward(self, x):
        self.images += len(x)
        return self.inner(x)


def test_views_of_ra_with_transformer_run_p_once_and_split_human_and_machine():
    torch.manual_seed(0)
    p = Counting(create_model("srresnet", in_channels=1, scale=4, **TINY_PROCESSOR).eval())
    t = create_model("cyclegan-resnet", in_channels=1, **TINY_TRANSFORMER).eval()
    both = TransformedProcessor(p, t)
    plain = create_model("srresnet", in_channels=1, scale=4, **TINY_PROCESSOR).eval()
    test = load_dataset(SYNTH, "test")
    task = create_task("sr")
    batches = list(stream(task, {"plain": plain, "ra+t": both}, test, "cpu", batch_size=16,
                          limit=40))
    assert [len(b.indices) for b in batches] == [16, 16, 8] and p.images == 40
    b = batches[1]
    assert b.indices.tolist() == list(range(16, 32))
    assert list(b.views) == [CLEAN, NO_PROCESSING, "plain", "ra+t"]
    with torch.no_grad():
        lq = task.degrade_eval(b.clean, b.indices)
        assert torch.equal(b.views["ra+t"].human, p.inner(lq).clamp(0, 1))
        assert torch.equal(b.views["ra+t"].machine, both(lq).clamp(0, 1))
        assert torch.equal(b.views["plain"].human, b.views["plain"].machine)
        assert torch.equal(b.views[NO_PROCESSING].human, task.upsample(lq, b.clean.shape[-2:]))
    for v in b.views.values():
        assert v.machine.shape == b.clean.shape and 0 <= v.machine.min() <= v.machine.max() <= 1


def test_progress_is_called_once_per_batch_and_ends_at_its_total():
    test = load_dataset(SYNTH, "test")
    calls = []
    for _ in stream(create_task("denoise"), {}, test, "cpu", batch_size=7, limit=30,
                    on_progress=lambda d, t: calls.append((d, t))):
        pass
    assert calls == [(0, 30), (7, 30), (14, 30), (21, 30), (28, 30), (30, 30)]


def test_worker_processes_prepare_the_same_batches_in_the_same_order():
    """Decoding and degrading in two worker processes (a randomized task: every image draws its
    own setting from its index) gives the same tensors as in this process, skips included."""
    test = load_dataset(SYNTH, "test")
    task = create_task("compound")

    def run(workers):
        return [(b.number, b.indices.clone(), b.clean.clone(), b.lq.clone()) for b in
                stream(task, {}, test, "cpu", batch_size=6, limit=30, workers=workers,
                       skip={1})]

    here, there = run(0), run(2)
    assert [n for n, *_ in here] == [0, 2, 3, 4] == [n for n, *_ in there]
    for (_, i0, c0, l0), (_, i1, c1, l1) in zip(here, there):
        assert torch.equal(i0, i1) and torch.equal(c0, c1) and torch.equal(l0, l1)


def test_ra_workers_is_read_once_and_a_bad_value_is_one_sentence(monkeypatch):
    import pytest

    from analysis.config import default_workers
    from analysis.errors import InputError
    from analysis.pipeline.setting import Setting

    monkeypatch.setenv("RA_WORKERS", "3")
    assert default_workers() == 3 and Setting("sr", SYNTH).workers == 3
    assert Setting("sr", SYNTH, workers=0).workers == 0
    monkeypatch.setenv("RA_WORKERS", "two")
    with pytest.raises(InputError, match="RA_WORKERS='two' is not a whole number"):
        Setting("sr", SYNTH)


def test_batch_plan_deals_the_same_batches_round_robin(monkeypatch):
    whole, n = batch_plan(23, 5)
    assert n == 23 and [b.tolist()[0] for b in whole] == [0, 5, 10, 15, 20]
    import analysis.pipeline.runner as runner

    monkeypatch.setattr(runner, "world", lambda: (1, 2))
    mine, _ = batch_plan(23, 5)
    assert [b.tolist() for b in mine] == [whole[1].tolist(), whole[3].tolist()]


def test_record_sink_runs_each_classifier_once_per_input_and_image(tiny_zoo):
    clf_cards = find_checkpoints(tiny_zoo, kind="classifier")
    proc_cards = find_checkpoints(tiny_zoo, kind="processor")
    clfs = {n: Counting(m) for n, m in load_models(clf_cards, "cpu").items()}
    procs = {n: Counting(m) for n, m in load_models(proc_cards, "cpu").items()}
    sink = RecordSink(clfs, execution="eager")     # calibration's own passes not counted
    run_sinks(stream(create_task("sr"), procs, load_dataset(SYNTH, "test"), "cpu", 16, 35),
              [sink])
    inputs = 2 + len(procs)
    assert all(m.images == 35 for m in procs.values())
    assert all(m.images == 35 * inputs for m in clfs.values())
    table = sink.table("sr:scale=4", SYNTH, "test")
    assert len(table) == 35 and table.inputs == [CLEAN, NO_PROCESSING, *procs]


def test_record_table_round_trips_through_parquet(tiny_zoo, tmp_path):
    clfs = load_models(find_checkpoints(tiny_zoo, kind="classifier"), "cpu")
    procs = load_models(find_checkpoints(tiny_zoo, kind="processor"), "cpu")
    from analysis.metrics.registry import create_metric

    sink = RecordSink(clfs, {"psnr": create_metric("psnr", "cpu")})
    run_sinks(stream(create_task("sr"), procs, load_dataset(SYNTH, "test"), "cpu", 16, 20),
              [sink])
    table = sink.table("sr:scale=4", SYNTH, "test", provenance={"n_images": 20})
    back = RecordTable.load(table.save(tmp_path / "r.parquet"))
    assert back.inputs == table.inputs and back.classifiers == table.classifiers
    assert back.provenance == {"n_images": 20}
    for key, values in table.pred.items():
        assert np.array_equal(back.pred[key], values)
        assert np.array_equal(back.prob[key], table.prob[key])
    assert np.isnan(back.quality[("psnr", CLEAN)]).all()
    assert np.array_equal(back.quality[("psnr", "sr-ra")], table.quality[("psnr", "sr-ra")])


def test_torchrun_two_processes_write_the_same_record_table(tiny_zoo, tmp_path):
    import pyarrow.parquet as pq

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT_ROOT)}
    common = ["-m", "analysis", "evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints",
              str(tiny_zoo), "--sample", "35", "--batch-size", "10", "--no-progress", "--json"]
    one = subprocess.run([sys.executable, *common, "--records", str(tmp_path / "one.parquet")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_session([sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc_per_node=2", *common, "--records", str(tmp_path / "two.parquet")],
                      300, cwd=tmp_path, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = pq.read_table(tmp_path / "one.parquet"), pq.read_table(tmp_path / "two.parquet")
    assert a.column_names == b.column_names and a.num_rows == 35
    for name in a.column_names:   # the data, byte for byte (metadata holds times and world size)
        assert a.column(name).to_numpy().tobytes() == b.column(name).to_numpy().tobytes(), name
    import json

    first, second = json.loads(one.stdout), json.loads(two.stdout)
    first.pop("provenance"), second.pop("provenance")
    assert first == second


def test_each_distinct_input_goes_through_each_classifier_once_under_the_plan(tiny_zoo):
    """Work not done twice, with the execution plan on: per batch, clean and no processing
    are classified once (not once per processor), and RA with transformer's machine view
    T(P(x)) is computed once (P and T run once per image) and classified once."""
    torch.manual_seed(0)
    p = Counting(create_model("srresnet", in_channels=1, scale=4, **TINY_PROCESSOR).eval())
    t = Counting(create_model("cyclegan-resnet", in_channels=1, **TINY_TRANSFORMER).eval())
    procs = {**{n: Counting(m) for n, m in
                load_models(find_checkpoints(tiny_zoo, kind="processor"), "cpu").items()},
             "ra+t": TransformedProcessor(p, t)}
    clfs = load_models(find_checkpoints(tiny_zoo, kind="classifier"), "cpu")
    sink = RecordSink(clfs)                           # the default plan (auto)
    seen = {name: [] for name in clfs}
    for clf_name, predictor in sink.predictors.items():
        classify = predictor.classify

        def counted(x, name=clf_name, classify=classify):
            seen[name].append(x)                      # kept alive: no id is reused
            return classify(x)
        predictor.classify = counted
    run_sinks(stream(create_task("sr"), procs, load_dataset(SYNTH, "test"), "cpu", 16, 40),
              [sink])
    inputs, batches = 2 + len(procs), 3
    assert p.images == t.images == 40
    assert all(m.images == 40 for n, m in procs.items() if n != "ra+t")
    for tensors in seen.values():
        assert len(tensors) == batches * inputs
        assert len({id(x) for x in tensors}) == len(tensors)
        assert sum(len(x) for x in tensors) == 40 * inputs
    assert sink.table("sr:scale=4", SYNTH, "test").inputs == [CLEAN, NO_PROCESSING, *procs]
