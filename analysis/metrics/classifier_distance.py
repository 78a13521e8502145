"""LPIPS-style distances on the zoo's own classifiers (``lpips-<name>``, ``rlpips-<name>`` for
robust ones): unit-weight feature distances, uncalibrated, (N,) per image pair."""

from __future__ import annotations

import torch

from ..zoo.catalogue import find_checkpoints
from ..zoo.checkpoints import load_checkpoint
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


def _classifier_metric(card: dict):
    def build(device):
        model, _ = load_checkpoint(card["path"], device=device)
        channels = model.mean.shape[1]
        return lambda x, y: feature_distance(model, match_channels(x, channels),
                                             match_channels(y, channels))
    return build


def classifier_metrics(folder=None, dataset: str | None = None) -> dict[str, MetricSpec]:
    """``lpips-<classifier>`` for every classifier checkpoint, ``rlpips-<c>`` for robust ones."""
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
    return specs
