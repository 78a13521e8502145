import torch

from analysis.zoo.checkpoints import load_checkpoint
from analysis.zoo.weight_import import import_weights


def test_import_weights_from_a_torchvision_style_state_dict(tmp_path):
    from torchvision.models import resnet18

    tv = resnet18(weights=None, num_classes=4)
    torch.save(tv.state_dict(), tmp_path / "r18.pth")
    import_weights("tv-resnet18", tmp_path / "r18.pth", tmp_path / "r18", {"num_classes": 4},
                   dataset="synthetic:classes=4,channels=3")
    model, card = load_checkpoint(tmp_path / "r18")
    x = torch.rand(1, 3, 64, 64)
    tv.eval()
    expected = tv((x - model.mean) / model.std)
    assert torch.allclose(model(x), expected, atol=1e-5)
    assert card["imported_from"].endswith("r18.pth")


def test_import_onto_an_existing_checkpoint_needs_force(tmp_path, capsys):
    """Without --force: one sentence, exit 2, every file byte-identical (also when another card
    of the folder gives the name); with it: overwritten, and the CLI says so."""
    import shutil

    from analysis.cli.main import main
    from analysis.zoo import create_model
    from analysis.zoo.checkpoints import sha256_file
    from tests.bad_input import assert_one_sentence, run_main, snapshot

    def state(seed):
        torch.manual_seed(seed)
        model = create_model("resnet20", width=4, num_classes=10, in_channels=1)   # synthetic
        return {k: v for k, v in model.state_dict().items() if k not in ("mean", "std")}

    zoo = tmp_path / "zoo"
    torch.save(state(0), tmp_path / "a.pth")
    torch.save(state(1), tmp_path / "b.pth")
    argv = ["import-weights", "--arch", "resnet20", "--arch-kw", "width=4", "--dataset",
            "synthetic:n=64"]
    assert run_main([*argv, "--weights", tmp_path / "a.pth", "--out", zoo / "mine"], capsys)[0] == 0
    before = snapshot(zoo)
    code, err = run_main([*argv, "--weights", tmp_path / "b.pth", "--out", zoo / "mine"], capsys)
    assert_one_sentence(code, err, f"error: {zoo / 'mine.json'} already exists; pass --force to "
                                   "overwrite the checkpoint mine (results measured with its "
                                   "weights will then say so), or choose another --out.")
    assert snapshot(zoo) == before
    # a backup copy keeps the card's name: importing under that name is refused as well
    for suffix in (".json", ".safetensors"):
        shutil.move(zoo / f"mine{suffix}", zoo / f"mine-old{suffix}")
    before = snapshot(zoo)
    code, err = run_main([*argv, "--weights", tmp_path / "b.pth", "--out", zoo / "mine"], capsys)
    assert_one_sentence(code, err, f"{zoo / 'mine-old.json'} already exists")
    assert snapshot(zoo) == before
    for suffix in (".json", ".safetensors"):
        shutil.move(zoo / f"mine-old{suffix}", zoo / f"mine{suffix}")
    old = sha256_file(zoo / "mine.safetensors")
    assert main([*map(str, argv), "--weights", str(tmp_path / "b.pth"), "--out",
                 str(zoo / "mine"), "--force"]) == 0
    assert capsys.readouterr().out.startswith(f"Overwrote {zoo / 'mine.json'} and its weights "
                                              "(--force)")
    assert sha256_file(zoo / "mine.safetensors") != old
    _, card = load_checkpoint(zoo / "mine")
    assert card["weights"]["sha256"] == sha256_file(zoo / "mine.safetensors")
