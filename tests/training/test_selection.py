"""The provenance of a lambda / loss-weight selection names the weights it rests on."""

from analysis.outputs.provenance import Clock
from analysis.training.selection import _provenance
from analysis.zoo.checkpoints import sha256_file
from tests.conftest import SYNTH


def test_a_selections_provenance_hashes_the_weights_not_the_cards(tiny_zoo):
    record = _provenance(SYNTH, 10, str(tiny_zoo / "sr-plain"), str(tiny_zoo / "clf-a"), "cpu",
                         Clock(), 0)
    assert record["checkpoints"] == {
        "sr-plain": sha256_file(tiny_zoo / "sr-plain.safetensors"),
        "clf-a": sha256_file(tiny_zoo / "clf-a.safetensors")}
