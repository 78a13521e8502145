"""Whether a classifier fits a dataset: its class count and input channels against the
dataset's, refused with one sentence when they differ (a 1000-class network on a 5-class folder
would be scored at 0 %, a 5-class RGB one on Fashion-MNIST at chance)."""

from __future__ import annotations

from torch import nn

from ..errors import CheckpointError


def input_channels(model: nn.Module) -> int | None:
    """The channels the first layer takes: the first convolution's, or a channel pad's (an
    invertible network's first step); None if neither comes first."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
        if hasattr(module, "pad_to") and hasattr(module, "channels"):
            return int(module.channels)
    return None


def classifier_shape(model: nn.Module) -> tuple[int | None, int | None]:
    """(classes, input channels) of a zoo classifier (its ``fc`` and its first layer); None
    for what the model does not say."""
    fc = getattr(model, "fc", None)
    return (fc.out_features if isinstance(fc, nn.Linear) else None), input_channels(model)


def check_classifier_fits(name: str, model: nn.Module, info, dataset: str | None = None,
                          fix: str | None = None) -> None:
    """Refuse classifier ``name`` when its class count or input channels differ from those of
    the dataset ``info`` (:class:`~analysis.data.containers.DatasetInfo`), named ``dataset``
    (default: its info's name) in the sentence; ``fix`` replaces its closing advice."""
    classes, channels = classifier_shape(model)
    if (classes in (None, info.num_classes)) and (channels in (None, info.channels)):
        return
    dataset = dataset or info.name
    advice = fix or (f"use a classifier made for it (python -m analysis train-classifier "
                     f"--dataset {dataset}) or import weights with a {info.num_classes}-class "
                     "head")
    raise CheckpointError(f"The classifier {name} has {classes} classes and {channels} input "
                          f"channel{'s' * (channels != 1)}, but the dataset {dataset} has "
                          f"{info.num_classes} classes and {info.channels} "
                          f"channel{'s' * (info.channels != 1)}; {advice}.")
