"""The Setting: one set-up (dataset, task, folder, device, models, split, provenance)."""

import torch

from analysis.pipeline.records import RecordSink
from analysis.pipeline.runner import CLEAN, NO_PROCESSING, stream
from analysis.pipeline.setting import Setting
from tests.conftest import SYNTH


def test_the_split_and_each_model_load_once_and_are_shared_across_tasks(tiny_zoo):
    setting = Setting("sr", SYNTH, tiny_zoo, "cpu")
    assert setting.device == torch.device("cpu") and setting.task.name == "sr"
    assert setting._shared["test"] is None                       # nothing loaded yet
    clf_cards, proc_cards = setting.select()
    assert set(setting.classifier_cards) == {c["name"] for c in clf_cards}
    first = setting.load(proc_cards)
    assert all(a is b for a, b in zip(first.values(), setting.load(proc_cards).values()))
    assert setting.models(list(first)).keys() == first.keys()
    other = setting.for_task("denoise")
    assert other.task.name == "denoise" and setting.task.name == "sr"
    assert other.test is setting.test and other.clock is setting.clock
    assert other.load(proc_cards)[proc_cards[0]["name"]] is first[proc_cards[0]["name"]]


def test_records_are_the_runners_table_and_provenance_names_the_setting(tiny_zoo):
    setting = Setting("sr", SYNTH, tiny_zoo, "cpu")
    clf_cards, proc_cards = setting.select()
    clfs, procs = setting.load(clf_cards), setting.load(proc_cards)
    table = setting.records(clfs, procs, limit=40, batch_size=16)
    sink = RecordSink(clfs)
    for batch in stream(setting.task, procs, setting.test, setting.device, 16, 40, shard=False):
        sink.add(batch)
    expected = sink.table(setting.task.spec, SYNTH, "test")
    assert table.inputs == expected.inputs and table.inputs[:2] == [CLEAN, NO_PROCESSING]
    for key, pred in expected.pred.items():
        assert (table.pred[key] == pred).all(), key
    seen = []
    setting.run(procs, [], batch_size=16, limit=40, on_progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 40) and seen[-1] == (40, 40)
    record = setting.provenance(n_images=40, checkpoints=setting.digests(*clfs),
                                seeds={"degradation": 0})
    assert record["dataset"] == SYNTH and record["split"] == "test" and record["n_images"] == 40
    assert record["device"] == "cpu" and set(record["checkpoints"]) == set(clfs)
    assert record["wall_seconds"] >= 0 and record["started"]
