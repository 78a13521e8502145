import json
import subprocess
import sys

from analysis.cli.main import main
from tests.conftest import SYNTH


def test_evaluate_json_on_stdout(tiny_zoo, capsys):
    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["task"] == "sr:scale=4" and len(doc["rows"]) == 4


def test_evaluate_all_tasks_text(tiny_zoo, capsys):
    assert main(["evaluate", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--no-progress", "--sample", "10"]) == 0
    out = capsys.readouterr().out
    for spec in ("sr:scale=4", "denoise:sigma=0.1", "jpeg:quality=10"):
        assert f"Task {spec}" in out
    assert "no processing" in out and "sr-ra" in out


def test_zoo_json_lists_cards(tiny_zoo, capsys):
    assert main(["list", "checkpoints", "--checkpoints", str(tiny_zoo), "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in cards} == {"clf-a", "clf-b", "clf-robust", "sr-plain", "sr-ra"}
    ra = next(c for c in cards if c["name"] == "sr-ra")
    assert ra["method"] == "ra" and ra["lambda"] == 0.1 and ra["source"] == "clf-a"
    assert main(["list", "checkpoints", "--checkpoints", str(tiny_zoo)]) == 0
    assert "sr-ra" in capsys.readouterr().out


def test_zoo_lists_the_bases_and_collections_with_their_folder(tiny_zoo, tmp_path, capsys):
    import shutil

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    for folder, name in (("bases", "clf-a"), ("recognizers", "clf-b"),
                         ("loss-grid/seeds", "sr-plain")):   # a collection's seed replicates
        (zoo / folder).mkdir(parents=True)
        for suffix in (".json", ".safetensors"):
            shutil.move(zoo / f"{name}{suffix}", zoo / folder / f"{name}{suffix}")
    assert main(["list", "checkpoints", "--checkpoints", str(zoo), "--json"]) == 0
    where = {c["name"]: c["collection"] for c in json.loads(capsys.readouterr().out)}
    assert where["clf-a"] == "bases" and where["clf-b"] == "recognizers"
    assert where["sr-plain"] == "loss-grid/seeds" and where["sr-ra"] is None
    assert main(["list", "checkpoints", "--checkpoints", str(zoo)]) == 0
    assert "loss-grid/seeds/sr-plain" in capsys.readouterr().out
    assert main(["list", "checkpoints", "--checkpoints", str(zoo), "--json", "--no-collections"]) == 0
    assert "clf-a" not in {c["name"] for c in json.loads(capsys.readouterr().out)}


def test_errors_are_one_sentence_with_exit_2(tmp_path, capsys):
    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints",
                 str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No classifier checkpoints") and "\n" not in err
    assert main(["train-processor", "--task", "sr", "--method", "rra", "--out",
                 str(tmp_path / "x")]) == 2
    assert "Did you mean 'ra'" in capsys.readouterr().err


def test_list_verbs(capsys):
    assert main(["list", "tasks", "--json"]) == 0
    names = {t["name"] for t in json.loads(capsys.readouterr().out)}
    assert {"sr", "denoise", "jpeg", "compound"} <= names


def test_build_zoo_dry_run_lists_missing_entries(tmp_path, capsys):
    assert main(["build-zoo", "--dry-run", "--checkpoints", str(tmp_path), "--only",
                 "resnet*"]) == 0
    out = capsys.readouterr().out
    assert "resnet20" in out and "vgg11-bn" not in out


def test_build_zoo_plans_beside_the_embedded_zoo_and_its_detection_models(capsys):
    """The shipped checkpoints/ (with its detectors and canvas processors, trained on canvases
    of the same dataset) is not refused as another dataset's folder."""
    from analysis.config import PROJECT_ROOT

    assert main(["build-zoo", "--dry-run", "--checkpoints", str(PROJECT_ROOT / "checkpoints"),
                 "--only", "sr-*"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Would train: ") and "Done: " in out


def test_update_cards_writes_measured_test_figures(tiny_zoo, tmp_path, capsys):
    import shutil

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(folder),
                 "--update-cards", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    clf = json.loads((folder / "clf-b.json").read_text())
    clean = doc["rows"][0]["accuracy"]["clf-b"]
    assert clf["metrics"]["test_accuracy"] == clean["accuracy"]
    ra = json.loads((folder / "sr-ra.json").read_text())
    assert ra["metrics"]["test_accuracy"] == doc["rows"][3]["accuracy"]["clf-a"]["accuracy"]
    assert ra["metrics"]["test_psnr"] == doc["rows"][3]["psnr"]["mean"]
    from analysis.zoo.checkpoints import load_checkpoint
    load_checkpoint(folder / "sr-ra")  # the weights still match the edited card
    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(folder),
                 "--update-cards", "--sample", "5", "--no-progress"]) == 2


def test_another_tasks_processor_runs_by_name_but_never_writes_its_card(tiny_zoo, tmp_path,
                                                                       capsys):
    """``evaluate --task sr-random --processors sr-plain`` runs the SR processor on randomized
    inputs; with ``--update-cards`` it would write sr-random figures into sr-plain's card, so
    that is one sentence before any run, and no card changes."""
    import shutil

    from tests.bad_input import assert_one_sentence, run_main, snapshot

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    assert main(["evaluate", "--task", "sr-random", "--dataset", SYNTH, "--checkpoints",
                 str(folder), "--processors", "sr-plain", "--sample", "8", "--json",
                 "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["task"] == "sr-random:scale=4" and [r["name"] for r in doc["rows"]][-1] == "sr-plain"
    before = snapshot(folder)
    code, err = run_main(["evaluate", "--task", "sr-random", "--dataset", SYNTH, "--checkpoints",
                          folder, "--processors", "sr-plain", "--update-cards", "--no-progress"],
                         capsys)
    assert_one_sentence(code, err, "sr-plain is not one of them")
    assert snapshot(folder) == before


def test_robustness_reports_clean_and_pgd_accuracy(tiny_zoo, capsys):
    assert main(["robustness", "--classifier", "clf-robust", "--checkpoints", str(tiny_zoo),
                 "--pgd-steps", "3", "--first", "16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["eps"] == 0.5 and out["images"] == 16 and out["units"] == "[0,1]-pixel L2"
    assert out["robust_accuracy"] <= out["clean_accuracy"] + 1e-9
    assert main(["robustness", "--classifier", "clf-a", "--checkpoints", str(tiny_zoo)]) == 2


def test_the_common_verbs_start_without_the_heavy_libraries():
    """A command line of evaluate, list, train-processor, bd or quality imports torch but not
    torchvision (its detection models import torch._dynamo, about 1.1 s), SciPy, pandas, piq or
    matplotlib before the verb runs: the start-up every such command, and every test that runs
    one in a process of its own, pays. The detectors import torchvision when they are built."""

    code = ("import sys\n"
            "from analysis.cli.main import build_parser\n"
            "for verb in ('evaluate', 'list', 'train-processor', 'bd', 'quality'):\n"
            "    build_parser([verb])\n"
            "heavy = ('torchvision', 'scipy', 'pandas', 'piq', 'matplotlib')\n"
            "print(sorted(m for m in heavy if m in sys.modules), 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"], done.stdout + done.stderr
