"""Whether a classifier fits a dataset: its class count and input channels against the
dataset's, refused with one sentence when they differ (a 1000-class network on a 5-class folder
would be scored at 0 %, a 5-class RGB one on Fashion-MNIST at chance)."""

from __future__ import annotations

from torch import nn

from ..errors import CheckpointError


def classifier_shape(model: nn.Module) -> tuple[int | None, int | None]:
    """(classes, input channels) of a zoo classifier (its ``fc`` and normalisation buffers);
    None for what the model does not say."""
    fc, mean = getattr(model, "fc", None), getattr(model, "mean", None)
    classes = fc.out_features if isinstance(fc, nn.Linear) else None
    channels = int(mean.shape[1]) if mean is not None and mean.ndim == 4 else None
    return classes, channels


def check_classifier_fits(name: str, model: nn.Module, info, fix: str | None = None) -> None:
    """Refuse classifier ``name`` when its class count or input channels differ from those of
    the dataset ``info`` (:class:`~analysis.data.containers.DatasetInfo`); ``fix`` replaces
    the sentence's closing advice."""
    classes, channels = classifier_shape(model)
    if (classes in (None, info.num_classes)) and (channels in (None, info.channels)):
        return
    advice = fix or (f"use a classifier made for it (python -m analysis train-classifier "
                     f"--dataset {info.name}) or import weights with a {info.num_classes}-class "
                     "head")
    raise CheckpointError(f"The classifier {name} has {classes} classes and {channels} input "
                          f"channel{'s' * (channels != 1)}, but the dataset {info.name} has "
                          f"{info.num_classes} classes and {info.channels} "
                          f"channel{'s' * (info.channels != 1)}; {advice}.")
