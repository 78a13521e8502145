"""Each dataset's folder name and results folder, and the command line that reaches them."""
from pathlib import Path

from analysis.data.folders import command_in_force, dataset_slug, results_dir


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
