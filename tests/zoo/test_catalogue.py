from analysis.zoo.catalogue import find_checkpoints
from tests.zoo.test_checkpoints import saved


def test_find_checkpoints_filters_and_skips_broken(tmp_path):
    saved(tmp_path)
    (tmp_path / "broken.json").write_text("[]")
    cards = find_checkpoints(tmp_path, kind="classifier", dataset="synthetic")
    assert [c["name"] for c in cards] == ["m"]
    assert find_checkpoints(tmp_path, kind="processor") == []
