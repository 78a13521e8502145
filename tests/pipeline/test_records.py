"""A record table gains the classifiers of a second pass over the same images and inputs."""

import numpy as np
import pytest

from analysis.errors import RAExplorerError
from analysis.pipeline.records import RecordTable

INPUTS = ["clean", "no processing", "sr-plain"]


def table(classifiers, seed=0, digests=None, psnr_shift=0.0, n=6) -> RecordTable:
    rng = np.random.default_rng(seed)
    pred = {(i, c): rng.integers(0, 10, n).astype(np.int16) for i in INPUTS for c in classifiers}
    prob = {(i, c): rng.random(n).astype(np.float16) for i in INPUTS for c in classifiers}
    quality = {("psnr", i): np.full(n, 20.0 + psnr_shift, np.float32) for i in INPUTS[1:]}
    prov = {"command": f"evaluate {seed}", "checkpoints": digests or {}}
    return RecordTable("sr:scale=4", "synthetic:n=200", "test", list(INPUTS), list(classifiers),
                       np.arange(n), np.arange(n) % 10, pred, prob, quality, prov)


def test_added_classifiers_keep_both_passes_columns_and_provenance(tmp_path):
    base = table(["a", "b"], 0, {"a": "1", "b": "2", "sr-plain": "p"})
    extra = table(["c"], 1, {"c": "3", "sr-plain": "p"})
    merged = base.with_classifiers(extra)
    assert merged.classifiers == ["a", "b", "c"]
    for i in INPUTS:
        assert (merged.pred[(i, "a")] == base.pred[(i, "a")]).all()
        assert (merged.pred[(i, "c")] == extra.pred[(i, "c")]).all()
    prov = merged.provenance
    assert prov["command"] == "evaluate 0" and prov["checkpoints"]["c"] == "3"
    assert prov["added"] == [{"classifiers": ["c"], "command": "evaluate 1"}]
    again = RecordTable.load(merged.save(tmp_path / "r.parquet"))
    assert again.classifiers == ["a", "b", "c"] and again.provenance == prov


@pytest.mark.parametrize("other, message", [
    (lambda: table(["c"], n=5), "the task, dataset, split, images and inputs"),
    (lambda: table(["c"], psnr_shift=0.5), "not made with the same processors"),
    (lambda: table(["c"], digests={"sr-plain": "q"}), "different weights of sr-plain"),
    (lambda: table(["a"]), "adds no classifier"),
])
def test_a_table_of_other_images_processors_or_weights_is_refused(other, message):
    with pytest.raises(RAExplorerError, match=message):
        table(["a", "b"], digests={"sr-plain": "p"}).with_classifiers(other())


def test_only_keeps_the_named_classifiers_columns():
    base = table(["a", "b", "c"])
    part = base.only(["c", "a"])
    assert part.classifiers == ["a", "c"] and set(part.pred) == {(i, c) for i in INPUTS
                                                                 for c in ("a", "c")}
    assert part.pred[("sr-plain", "c")] is base.pred[("sr-plain", "c")]
