from analysis.zoo.catalogue import find_checkpoints
from tests.zoo.test_checkpoints import saved


def test_find_checkpoints_filters_and_skips_broken(tmp_path):
    saved(tmp_path)
    (tmp_path / "broken.json").write_text("[]")
    cards = find_checkpoints(tmp_path, kind="classifier", dataset="synthetic")
    assert [c["name"] for c in cards] == ["m"]
    assert find_checkpoints(tmp_path, kind="processor") == []


# ------------------------------------------------------------------ names two cards give

def backup_copy(tmp_path):
    """A zoo holding a plain backup copy of resnet20 (``cp resnet20.* resnet20-old.*``: the
    copied card keeps the name 'resnet20') beside densenet-bc and the SR processors."""
    import shutil

    from analysis.config import PROJECT_ROOT

    zoo = tmp_path / "zoo"
    zoo.mkdir()
    for name in ("resnet20", "densenet-bc", "sr-plain", "sr-ra"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(PROJECT_ROOT / "checkpoints" / f"{name}{suffix}", zoo / f"{name}{suffix}")
    for suffix in (".json", ".safetensors"):
        shutil.copy(zoo / f"resnet20{suffix}", zoo / f"resnet20-old{suffix}")
    return zoo


CLASH = ("The cards resnet20-old.json and resnet20.json in {zoo} both name the checkpoint "
         "'resnet20', so none of them is used; give each card the name of its own file (its "
         "\"name\" field) or move the copy out of the folder.")


def test_a_name_two_cards_give_is_listed_flagged_and_left_out(tmp_path, capsys):
    from analysis.zoo.catalogue import broken_cards, locate, name_clashes
    from tests.bad_input import run_main

    zoo = backup_copy(tmp_path)
    assert name_clashes(zoo) == {"resnet20": ["resnet20-old.json", "resnet20.json"]}
    assert [c["name"] for c in find_checkpoints(zoo, kind="classifier")] == ["densenet-bc"]
    assert set(broken_cards(zoo).values()) == {CLASH.format(zoo=zoo)}
    assert locate("densenet-bc", zoo) == zoo / "densenet-bc"       # the other names still work
    code, err = run_main(["list", "checkpoints", "--checkpoints", zoo], capsys)
    assert code == 0
    assert err.splitlines() == [f"skipped: {CLASH.format(zoo=zoo)}"]


def test_list_checkpoints_shows_both_files_of_a_name(tmp_path, capsys):
    from analysis.cli.main import main

    zoo = backup_copy(tmp_path)
    assert main(["list", "checkpoints", "--checkpoints", str(zoo)]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]
    assert ["resnet20", "(resnet20.json)"] in rows and ["resnet20", "(resnet20-old.json)"] in rows
    assert ["densenet-bc", "classifier"] in rows


def test_a_verb_that_needs_the_name_refuses_and_writes_nothing(tmp_path, capsys):
    from tests.bad_input import assert_one_sentence, run_main, snapshot

    zoo = backup_copy(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(zoo, out)
    for argv in (["evaluate", "--task", "sr", "--classifiers", "resnet20", "--sample", "20",
                  "--records", out / "records.parquet"],
                 ["tsne", "--task", "sr", "--classifier", "resnet20", "--sample", "20",
                  "--out", out],
                 ["bd", "--task", "sr", "--source", "resnet20-old", "--target", "densenet-bc",
                  "--sample", "4", "--out", out]):
        code, err = run_main([*argv, "--checkpoints", zoo, "--no-progress"], capsys)
        assert_one_sentence(code, err, CLASH.format(zoo=zoo))
    assert snapshot(zoo, out) == before


def test_a_card_naming_another_checkpoint_no_longer_wins(tmp_path):
    """A card whose "name" is another card's (zzz.json saying "resnet20") is refused with both
    files named, wherever the name is asked for."""
    import json

    import pytest

    from analysis.errors import RAExplorerError
    from analysis.zoo.catalogue import locate, select_models

    zoo = backup_copy(tmp_path)
    for suffix in (".json", ".safetensors"):
        (zoo / f"resnet20-old{suffix}").rename(zoo / f"zzz{suffix}")
    with pytest.raises(RAExplorerError) as err:
        select_models("sr:scale=4", "fashion-mnist", zoo, classifiers=["resnet20"])
    assert "The cards resnet20.json and zzz.json" in str(err.value)
    with pytest.raises(RAExplorerError):
        locate("resnet20", zoo)
    card = json.loads((zoo / "zzz.json").read_text())
    card["name"] = "zzz"                      # the fix the sentence names
    (zoo / "zzz.json").write_text(json.dumps(card))
    assert locate("resnet20", zoo) == zoo / "resnet20"
    clf, _ = select_models("sr:scale=4", "fashion-mnist", zoo)
    assert [c["name"] for c in clf] == ["densenet-bc", "resnet20", "zzz"]


def test_named_processors_come_from_collections_and_a_name_found_nowhere_is_refused(tmp_path):
    """A seed replicate in ``seeds/`` is selected by name beside the zoo's own processors; a
    mistyped name is one sentence with the closest names, never an empty selection."""
    import json
    import shutil

    import pytest

    from analysis.errors import RAExplorerError
    from analysis.zoo.catalogue import select_models

    zoo = backup_copy(tmp_path)
    seeds = zoo / "seeds"
    seeds.mkdir()
    shutil.copy(zoo / "sr-plain.safetensors", seeds / "sr-plain-seed1.safetensors")
    card = json.loads((zoo / "sr-plain.json").read_text())
    card["name"] = "sr-plain-seed1"
    (seeds / "sr-plain-seed1.json").write_text(json.dumps(card))
    _, procs = select_models("sr:scale=4", "fashion-mnist", zoo,
                             processors=["sr-plain-seed1", "sr-ra"])
    assert sorted(c["name"] for c in procs) == ["sr-plain-seed1", "sr-ra"]
    assert next(c for c in procs if c["name"] == "sr-plain-seed1")["path"].startswith(str(seeds))
    with pytest.raises(RAExplorerError) as err:
        select_models("sr:scale=4", "fashion-mnist", zoo, processors=["sr-plian"])
    assert "No sr:scale=4 processor sr-plian" in str(err.value) and "'sr-plain'" in str(err.value)
