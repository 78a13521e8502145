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
