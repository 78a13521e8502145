from pathlib import Path

import pytest
import torch

from analysis.analyses.storage_check import (
    CAST,
    _detections,
    convert,
    float16_rounded,
    format_storage_check,
    storage_check,
    storage_check_stem,
)
from analysis.cli.main import main as cli_main
from analysis.data.folders import dataset_slug
from analysis.errors import RAExplorerError
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from analysis.zoo.checkpoints import load_card, load_checkpoint
from tests.conftest import SYNTH, TINY_CLASSIFIER, TINY_PROCESSOR


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two zoos of the same runs: weights stored as float16 and as float32, one state folder each."""
    out = {}
    for dtype in ("float16", "float32"):
        folder, state = tmp_path_factory.mktemp(f"zoo-{dtype}"), tmp_path_factory.mktemp(f"st-{dtype}")
        common = {"dataset": SYNTH, "epochs": 1, "batch_size": 32, "val_limit": 40,
                  "state_dir": str(state), "progress": False, "dtype": dtype}
        train_classifier("resnet20", out=str(folder / "clf"), arch_kwargs=TINY_CLASSIFIER,
                         max_steps=6, **common)
        train_processor("sr", "ra", out=str(folder / "sr-ra"), recognizer=str(folder / "clf"),
                        lam=0.1, arch_kwargs=TINY_PROCESSOR, max_steps=3, **common)
        out[dtype] = (folder, state)
    return out


def test_float32_storage_changes_nothing(trained):
    folder, state = trained["float32"]
    result = storage_check(folder=folder, state_dir=state, dataset_name=SYNTH, progress=False)
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"clf", "sr-ra"}
    assert rows["sr-ra"]["judge"] == "clf" and rows["clf"]["kind"] == "classifier"
    for r in rows.values():
        assert r["predictions_changed"] == 0 and r["accuracy_change_points"] == 0
        assert r["images"] == 40 and r["within_tolerance"]   # synthetic:n=200 has 40 test images
    assert rows["sr-ra"]["psnr_stored"] == rows["sr-ra"]["psnr_float32"]


def test_float16_storage_is_compared_with_the_float32_state(trained):
    folder, state = trained["float16"]
    result = storage_check(["sr-ra"], folder=folder, state_dir=state, dataset_name=SYNTH,
                           progress=False)
    row = result["rows"][0]
    assert row["storage"] == "float16"
    # float16 rounding moves the outputs a little, not the mean PSNR by more than 0.01 dB
    assert row["psnr_stored"] != row["psnr_float32"]
    assert abs(row["psnr_stored"] - row["psnr_float32"]) < 0.01
    assert "| sr-ra | clf | 40 |" in format_storage_check(result)


def test_a_different_state_is_reported_as_a_change(trained, tmp_path):
    folder, state = trained["float32"]
    saved = torch.load(state / "clf.state.pt", weights_only=True)
    torch.manual_seed(0)
    saved["model"] = {k: (v + torch.randn_like(v) if v.is_floating_point() else v)
                      for k, v in saved["model"].items()}
    torch.save(saved, tmp_path / "clf.state.pt")
    row = storage_check(["clf"], folder=folder, state_dir=tmp_path, dataset_name=SYNTH,
                        progress=False)["rows"][0]
    assert row["predictions_changed"] > 0


def test_a_missing_state_gets_one_sentence(trained, tmp_path):
    folder, _ = trained["float32"]
    with pytest.raises(RAExplorerError, match="No training state .*clf"):
        storage_check(["clf"], folder=folder, state_dir=tmp_path, dataset_name=SYNTH)
    with pytest.raises(RAExplorerError, match="No checkpoint named 'nope'"):
        storage_check(["nope"], folder=folder, state_dir=tmp_path, dataset_name=SYNTH)


def test_cli_writes_the_table_and_exits_zero_within_tolerance(trained, tmp_path, capsys):
    folder, state = trained["float32"]
    code = cli_main(["float16-check", "--checkpoints", str(folder), "--state-dir", str(state),
                     "--dataset", SYNTH, "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    assert (tmp_path / "float16_check.json").exists()
    assert "| clf | - | " in (tmp_path / "float16_check.md").read_text()


def test_a_float32_checkpoint_is_checked_against_its_float16_rounding(trained):
    from analysis.analyses.storage_check import float16_rounded

    folder, _ = trained["float32"]
    model = load_checkpoint(folder / "sr-ra")[0]
    rounded = float16_rounded(model)
    weight = next(model.parameters())
    assert torch.equal(next(rounded.parameters()), weight.half().float())
    assert not torch.equal(next(rounded.parameters()), weight)        # a copy, rounded
    result = storage_check(folder=folder, dataset_name=SYNTH, progress=False, cast=True,
                           state_dir="/nonexistent")                    # no training state needed
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"clf", "sr-ra"} and result["collection"] == folder.name
    assert rows["sr-ra"]["candidate"] == CAST
    assert rows["sr-ra"]["psnr_stored"] != rows["sr-ra"]["psnr_float32"]
    assert abs(rows["sr-ra"]["psnr_stored"] - rows["sr-ra"]["psnr_float32"]) < 0.01
    assert "rounded to float16" in format_storage_check(result)
    assert storage_check_stem(result) == f"float16_cast_check_{folder.name}_{dataset_slug(SYNTH)}"


def test_cast_refuses_a_float16_checkpoint_and_convert_needs_cast(trained, tmp_path):
    folder, state = trained["float16"]
    with pytest.raises(RAExplorerError, match="is stored as float16; the float16 cast check"):
        storage_check(["sr-ra"], folder=folder, dataset_name=SYNTH, progress=False, cast=True)
    with pytest.raises(RAExplorerError, match="Only a float16 cast check"):
        convert(storage_check(folder=folder, state_dir=state, dataset_name=SYNTH,
                              progress=False), folder)


def test_convert_rewrites_what_is_within_tolerance_as_float16_keeping_the_card(trained, tmp_path):
    import shutil

    folder = tmp_path / "zoo"
    shutil.copytree(trained["float32"][0], folder)
    before = load_card(folder / "sr-ra.json")
    result = storage_check(folder=folder, dataset_name=SYNTH, progress=False, cast=True)
    result["rows"][0]["within_tolerance"] = False                     # clf stays float32
    assert convert(result, folder, note="results/x.json") == ["sr-ra"]
    after = load_card(folder / "sr-ra.json")
    assert after["weights"]["dtype"] == "float16"
    assert load_card(folder / "clf.json")["weights"]["dtype"] == "float32"
    assert after["weights"]["sha256"] != before["weights"]["sha256"]
    assert {k: v for k, v in after.items() if k not in ("weights", "storage")} == \
        {k: v for k, v in before.items() if k != "weights"}
    assert after["storage"]["check"] == "results/x.json" and after["storage"]["from"] == "float32"
    assert after["storage"]["float32_sha256"] == before["weights"]["sha256"]   # what was checked
    model = load_checkpoint(folder / "sr-ra")[0]
    assert torch.equal(next(model.parameters()),
                       next(load_checkpoint(trained["float32"][0] / "sr-ra")[0].parameters()).half().float())


def test_cli_cast_convert(trained, tmp_path, capsys):
    import shutil

    folder = tmp_path / "zoo"
    shutil.copytree(trained["float32"][0], folder)
    args = ["float16-check", "--checkpoints", str(folder), "--dataset", SYNTH, "--no-progress"]
    assert cli_main(args + ["--convert", "--out", str(tmp_path)]) != 0
    assert "add --cast" in capsys.readouterr().err
    assert cli_main(args + ["--cast", "--convert", "--out", str(tmp_path / "res")]) == 0
    assert "Stored as float16: clf, sr-ra." in capsys.readouterr().err
    assert (tmp_path / "res" / f"float16_cast_check_zoo_{dataset_slug(SYNTH)}.md").exists()
    assert load_card(folder / "clf.json")["weights"]["dtype"] == "float16"


def test_a_converted_cards_note_names_the_check_in_its_run_folder(trained, tmp_path, capsys,
                                                                   monkeypatch):
    """Outside the full protocol the check goes to a new runs/ folder: the cards must name
    that folder's file, not a second stamp's."""
    import shutil

    folder = tmp_path / "zoo"
    shutil.copytree(trained["float32"][0], folder)
    monkeypatch.setenv("RA_RUNS", str(tmp_path / "runs"))
    assert cli_main(["float16-check", "--checkpoints", str(folder), "--dataset", SYNTH,
                     "--no-progress", "--cast", "--convert", "--classifier", "clf"]) == 0
    note = Path(load_card(folder / "sr-ra.json")["storage"]["check"])
    assert note.parent.parent == tmp_path / "runs" / "float16-check" and note.exists()
    assert len(list(note.parent.parent.iterdir())) == 1


def test_a_bases_folder_is_judged_from_the_folders_around_it(trained, tmp_path):
    """``<collection>/bases`` holds plain starting points only: their judge is found in the
    collection and the checkpoint folder around it, and the check is named after both."""
    import shutil

    from analysis.zoo.catalogue import places

    root = tmp_path / "zoo"
    bases = root / "architectures" / "bases"
    bases.mkdir(parents=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(trained["float32"][0] / f"clf{suffix}", root / f"clf{suffix}")
        shutil.copy(trained["float32"][0] / f"sr-ra{suffix}", bases / f"sr-ra{suffix}")
    assert places(bases)[:3] == [bases, root / "architectures", root]
    result = storage_check(folder=bases, dataset_name=SYNTH, progress=False, cast=True)
    assert [r["name"] for r in result["rows"]] == ["sr-ra"] and result["rows"][0]["judge"] == "clf"
    assert result["collection"] == "architectures-bases"
    assert storage_check_stem(result).startswith("float16_cast_check_architectures-bases")


def test_a_float32_detector_is_checked_by_its_map_on_the_clean_canvases(tmp_path):
    """The zoo's fcos, stored here as float32 with a small perturbation off the float16 grid
    (the zoo keeps it as float16): the cast check compares its mAP@[.5:.95] on the clean test
    canvases with its float16 rounding's and counts the canvases whose found items differ; the
    figures equal the detection metric computed here by hand."""
    from analysis.config import PROJECT_ROOT
    from analysis.metrics.detection import mean_average_precision
    from analysis.pipeline.setting import Setting
    from analysis.zoo.checkpoints import save_checkpoint

    folder = tmp_path / "zoo"
    zoo_model, zoo_card = load_checkpoint(PROJECT_ROOT / "checkpoints" / "fcos")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in zoo_model.parameters():
            p.mul_(1 + 1e-3 * torch.randn(p.shape, generator=generator))
    kept = {k: v for k, v in zoo_card.items() if k not in ("format", "weights", "version", "path")}
    save_checkpoint(zoo_model, kept, folder / "fcos", dtype="float32")
    card = load_card(folder / "fcos.json")
    assert card["weights"]["dtype"] == "float32"
    result = storage_check(folder=folder, dataset_name=card["dataset"], limit=12,
                           device="cpu", progress=False, cast=True)
    [row] = result["rows"]
    assert row["kind"] == "detector" and row["images"] == 12 and row["measure"] == "mAP@[.5:.95]"
    model = load_checkpoint(folder / "fcos")[0].eval()
    setting = Setting(None, card["dataset"], folder, "cpu")
    targets, [preds] = _detections([model], setting, 12)
    assert row["map_float32"] == pytest.approx(mean_average_precision(preds, targets)["map"])
    assert row["map_float32"] > 0.5                     # a trained detector, not an empty one
    rounded = _detections([float16_rounded(model)], setting, 12)[1][0]
    assert row["map_stored"] == pytest.approx(mean_average_precision(rounded, targets)["map"])
    assert "mAP@[.5:.95]" in format_storage_check(result)
    assert storage_check_stem(result) == "float16_cast_check_zoo-detectors"
    row["within_tolerance"] = True                      # convert follows the check's verdict
    assert convert(result, folder, note="results/x.json") == ["fcos"]
    stored = load_card(folder / "fcos.json")
    assert stored["weights"]["dtype"] == "float16"
    assert stored["storage"]["map_change_points"] == row["map_change_points"]


def test_processors_on_canvases_are_refused_before_anything_runs(tmp_path):
    """Their judges are detectors, which the check does not use as judges: one sentence."""
    import shutil

    from analysis.config import PROJECT_ROOT

    folder = tmp_path / "zoo"
    folder.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(PROJECT_ROOT / "checkpoints" / f"sr-plain-canvas{suffix}", folder)
    card = load_card(folder / "sr-plain-canvas.json")
    with pytest.raises(RAExplorerError, match="sr-plain-canvas works on detection canvases"):
        storage_check(["sr-plain-canvas"], folder=folder, dataset_name=card["dataset"],
                      progress=False, cast=False)
