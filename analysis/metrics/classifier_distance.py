"""Distances on the zoo's own classifiers, (N,) per image pair: LPIPS-style unit-weight feature
distances (``lpips-<name>``, ``rlpips-<name>`` for robust ones; uncalibrated) and the teacher
feature distance (``fd-<name>``: mean absolute difference of the penultimate features, EDTR's
``fd``)."""

from __future__ import annotations

import torch

from ..zoo.catalogue import find_checkpoints
from ..zoo.checkpoints import load_checkpoint
from ..zoo.dataset_fit import input_channels
from .spec import MetricSpec


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.repeat(1, 3, 1, 1)
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def feature_distance(classifier, x: torch.Tensor, y: torch.Tensor, layers=None) -> torch.Tensor:
    """LPIPS-style distance with unit weights (uncalibrated), shape (N,).

    At each layer, features are normalised to unit L2 norm over channels at
    every position; the squared difference is summed over channels, averaged
    over positions, and the layers are averaged.
    """
    layers = list(layers or classifier.feature_names)
    fx, fy = classifier.features(x, layers), classifier.features(y, layers)
    total = 0
    for name in layers:
        a = fx[name] / (fx[name].norm(dim=1, keepdim=True) + 1e-10)
        b = fy[name] / (fy[name].norm(dim=1, keepdim=True) + 1e-10)
        total = total + (a - b).pow(2).sum(1).flatten(1).mean(1)
    return total / len(layers)


def teacher_feature_distance(classifier, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """EDTR's teacher feature distance ``fd``: L1 between the classifier's penultimate features
    (the vector before its last linear layer, (N, D)) on ``x`` and on ``y``, averaged over the
    D features (mean absolute difference, in the classifier's feature units), shape (N,).

    0 for identical images; it grows as ``x`` moves away from ``y`` in what the classifier
    (the "teacher", trained on clean images) extracts. Images (N, C, H, W) in [0, 1] with the
    classifier's channel count.
    """
    fx, fy = classifier.penultimate(x), classifier.penultimate(y)
    return (fx - fy).abs().flatten(1).mean(1)


def _classifier_metric(card: dict, distance=feature_distance):
    def build(device):
        model, _ = load_checkpoint(card["path"], device=device)
        # the first layer's channels (a normalisation buffer may be shared across channels)
        channels = input_channels(model) or model.mean.shape[1]
        return lambda x, y: distance(model, match_channels(x, channels),
                                     match_channels(y, channels))
    return build


def classifier_metrics(folder=None, dataset: str | None = None) -> dict[str, MetricSpec]:
    """``lpips-<classifier>`` for every classifier checkpoint, ``rlpips-<c>`` for robust ones,
    then ``fd-<classifier>`` (teacher feature distance) for every classifier checkpoint."""
    specs = {}
    filters = {"dataset": dataset} if dataset else {}
    for card in find_checkpoints(folder, kind="classifier", **filters):
        robust = bool((card.get("training") or {}).get("adversarial"))
        prefix = "rlpips" if robust else "lpips"
        name = f"{prefix}-{card['name']}"
        kind = "adversarially robust " if robust else ""
        specs[name] = MetricSpec(
            name, True, (0.0, 2.0),
            f"uncalibrated LPIPS-style distance (unit weights, not BAPPS-trained) on the "
            f"{kind}classifier {card['name']} ({card['arch']}, {card.get('dataset')})",
            _classifier_metric(card))
    for card in find_checkpoints(folder, kind="classifier", **filters):
        name = f"fd-{card['name']}"
        specs[name] = MetricSpec(
            name, True, (0.0, float("inf")),
            f"teacher feature distance (EDTR's fd): mean absolute difference of the "
            f"penultimate features of the classifier {card['name']} ({card['arch']}, "
            f"{card.get('dataset')}) on the processed and the clean image",
            _classifier_metric(card, teacher_feature_distance))
    return specs
