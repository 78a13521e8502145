"""Whether a result still describes the checkpoint folder's weights: one comparison for the
record tables and the JSON result files, against the cards of the folder in force."""

import json
import shutil

from analysis.outputs.measured_weights import (
    changed_weights,
    folder_digests,
    other_weights,
    recorded_digests,
)
from analysis.zoo.checkpoints import load_card


def test_changed_weights_compares_the_names_both_hold():
    assert changed_weights({"a": "1", "b": "2", "gone": "3"}, {"a": "1", "b": "9", "new": "4"}) \
        == ["b"]
    assert changed_weights({"a": "1"}, {}) == []


def test_recorded_digests_join_the_provenance_and_the_models_field():
    result = {"models": {"a": "1"}, "provenance": {"checkpoints": {"b": "2"}}}
    assert recorded_digests(result) == {"a": "1", "b": "2"}
    assert recorded_digests({"provenance": None}) == {}


def test_other_weights_names_the_changed_checkpoint_and_the_command(tiny_zoo, tmp_path):
    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    now = folder_digests(["clf-a", "clf-b", "absent"], folder)
    assert set(now) == {"clf-a", "clf-b"}
    result = {"provenance": {"command": "python -m analysis tsne --task sr",
                             "checkpoints": {**now, "absent": "0" * 64}}}
    assert other_weights(result, folder) is None          # same weights; absent is not compared
    card = json.loads((folder / "clf-b.json").read_text())
    card["weights"]["sha256"] = "f" * 64                 # the card of other weights
    (folder / "clf-b.json").write_text(json.dumps(card))
    assert load_card(folder / "clf-b")["weights"]["sha256"] == "f" * 64
    assert other_weights(result, folder) == ("measured with other weights of clf-b: re-run "
                                             "'python -m analysis tsne --task sr'")
    assert other_weights(result, folder, "python -m analysis reproduce").endswith(
        "re-run 'python -m analysis reproduce'")
    assert other_weights({"models": {"clf-b": now["clf-b"]}}, folder) == (
        "measured with other weights of clf-b: re-run 'python -m analysis reproduce'")
