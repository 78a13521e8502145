"""Each dataset's folder name and results folder, and the command line that reaches them."""
import shlex
from pathlib import Path

from analysis.data.folders import (
    command_in_force,
    dataset_slug,
    results_dir,
    zoo_advice,
    zoo_commands,
)


def test_dataset_slugs_are_folder_names_and_keep_long_paths_apart():
    assert dataset_slug("fashion-mnist") == "fashion-mnist"
    assert dataset_slug("cifar10") == dataset_slug("cifar10:verify=false") == "cifar10"
    assert dataset_slug("imagefolder:/data/pets/:size=64") == dataset_slug(
        "imagefolder:/data/pets:size=64,channels=3")
    a = dataset_slug("imagefolder:/" + "x" * 80 + "/a/pets")
    b = dataset_slug("imagefolder:/" + "y" * 80 + "/a/pets")
    assert a != b and len(a) <= 80 and "/" not in a


def test_results_folders_keep_datasets_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    assert results_dir() == results_dir(dataset="fashion-mnist") == tmp_path
    assert results_dir(dataset="synthetic:n=64") == tmp_path / "datasets" / dataset_slug(
        "synthetic:n=64")
    assert results_dir(tmp_path / "mine", dataset="synthetic") == tmp_path / "mine"
    assert results_dir("mine") == Path("mine")


def test_command_in_force_spells_out_the_settings_another_shell_lacks(tmp_path, monkeypatch):
    for variable in ("RA_DATASET", "RA_CHECKPOINTS", "RA_DATA_ROOT", "RA_RESULTS"):
        monkeypatch.delenv(variable, raising=False)
    assert command_in_force("python -m analysis quality") == "python -m analysis quality"
    monkeypatch.setenv("RA_DATASET", "synthetic:n=64")
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    line = command_in_force("python -m analysis quality")
    assert line == ("python -m analysis quality --dataset synthetic:n=64 --out "
                    f"{tmp_path / 'datasets' / dataset_slug('synthetic:n=64')}")
    assert command_in_force("python -m analysis quality --dataset x --out y").endswith("--out y")


def test_command_in_force_adds_only_the_options_the_verb_takes(tmp_path, monkeypatch):
    """train-classifier / train-processor / import-weights name their checkpoint by --out (no
    --checkpoints); build-zoo takes neither --dataset nor --out; an explicit dataset wins."""
    from analysis.cli.main import build_parser

    monkeypatch.setenv("RA_DATASET", "synthetic:n=64")
    (tmp_path / "zoo").mkdir()
    monkeypatch.setenv("RA_CHECKPOINTS", str(tmp_path / "zoo"))
    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "res"))
    monkeypatch.delenv("RA_DATA_ROOT", raising=False)
    train = command_in_force("python -m analysis train-classifier --arch resnet20 --out z/r")
    assert train == ("python -m analysis train-classifier --arch resnet20 --out z/r "
                     "--dataset synthetic:n=64")
    assert command_in_force("python -m analysis build-zoo") == (
        f"python -m analysis build-zoo --checkpoints {tmp_path / 'zoo'}")
    bd = command_in_force("python -m analysis bd --task sr --target b", "synthetic:n=32")
    assert (f"--dataset synthetic:n=32 --checkpoints {tmp_path / 'zoo'} --out "
            f"{tmp_path / 'res' / 'datasets' / dataset_slug('synthetic:n=32')}") in bd
    parser = build_parser()
    for line in (train, bd, command_in_force("python -m analysis import-weights --arch "
                                             "tv-resnet18 --weights w.pth --out z/x")):
        parser.parse_args(shlex.split(line)[3:])


def test_zoo_commands_fit_the_dataset(tmp_path, monkeypatch):
    """build-zoo for the embedded default only; any other dataset gets one training line per
    model with --dataset (each parses), and the advice names import-weights for classifiers."""
    from analysis.cli.main import build_parser

    monkeypatch.delenv("RA_DATASET", raising=False)
    assert zoo_commands() == zoo_commands("fashion-mnist") == ["python -m analysis build-zoo"]
    assert zoo_advice("fashion-mnist", what="it") == "train it with 'python -m analysis build-zoo'"
    zoo = tmp_path / "my zoo"
    lines = zoo_commands("synthetic:n=64", zoo, "denoise:sigma=0.2",
                         ("classifier", "plain", "ra", "ra@0.01", "ra-src:b"), source="a")
    q = shlex.quote(str(zoo))
    assert lines == [
        f"python -m analysis train-classifier --dataset synthetic:n=64 --arch resnet20 --out {q}/a",
        "python -m analysis train-processor --dataset synthetic:n=64 --task denoise:sigma=0.2 "
        f"--method plain --out {q}/denoise-plain",
        "python -m analysis train-processor --dataset synthetic:n=64 --task denoise:sigma=0.2 "
        f"--method ra --classifier {q}/a --out {q}/denoise-ra",
        "python -m analysis train-processor --dataset synthetic:n=64 --task denoise:sigma=0.2 "
        f"--method ra --classifier {q}/a --lambda 0.01 --out {q}/denoise-ra-lam0.01",
        "python -m analysis train-processor --dataset synthetic:n=64 --task denoise:sigma=0.2 "
        f"--method ra --classifier {q}/b --out {q}/denoise-ra-src-b"]
    parser = build_parser()
    for line in lines:
        parser.parse_args(shlex.split(line)[3:])
    advice = zoo_advice("synthetic:n=64", zoo, "sr")
    assert "build-zoo" not in advice and "--task sr --method plain" in advice
    assert f"'python -m analysis import-weights --arch ARCH --weights FILE --dataset " \
           f"synthetic:n=64 --out {q}/NAME'" in advice
