"""Loss terms for processor training.

All take processor outputs ``out`` and clean targets ``target`` in [0, 1] of
shape (N, C, H, W) and return a scalar tensor.

* recognition (RA): cross-entropy of a frozen recognizer on ``out``, or a frozen detector's
  training losses on ``out`` against the canvases' boxes (RA through a detector);
* unsupervised RA: distance between the recognizer's outputs on ``out`` and
  on ``target`` (no labels needed);
* perceptual (Uelwer et al. eq. 1): mean squared difference of feature maps at
  chosen layers, averaged over layers;
* texture (eq. 2, after EnhanceNet): squared difference of Gram matrices of
  feature maps computed on non-overlapping patches.

Uelwer et al.'s settings add per-layer weights (P: sum_l w_l * MSE_l instead of the mean),
texture patches given in image pixels (each layer's patch is that size scaled to the map),
and feature maps normalised so that every channel's mean activation over clean training
images is 1 (:class:`ScaledFeatures`; the paper rescales weights and biases to the same end,
after Gatys et al.; dividing the maps is equivalent for ReLU / max-pool taps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import unknown_name


def recognition_loss(recognizer, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(recognizer(out), labels)


def detection_loss(detector, out: torch.Tensor, targets: list[dict]) -> torch.Tensor:
    """The sum of a frozen detector's training losses (for FCOS: focal classification, GIoU box
    regression and centre-ness BCE; for RetinaNet: focal classification and L1 box regression)
    on ``out`` against the canvases' ``targets`` (one ``{"boxes", "labels"}`` per image), from
    the detector's ``losses(images, targets)`` (:meth:`analysis.zoo.detectors.Detector.losses`,
    which keeps its normalisation statistics fixed)."""
    return sum(detector.losses(out, targets).values())


def _probability_l2(logits_out, logits_target):
    return (logits_out.softmax(1) - logits_target.softmax(1)).pow(2).sum(1).mean()


def _kl(logits_out, logits_target):
    return F.kl_div(logits_out.log_softmax(1), logits_target.log_softmax(1), log_target=True,
                    reduction="batchmean")


def _logit_l2(logits_out, logits_target):
    return (logits_out - logits_target).pow(2).sum(1).mean()


UNSUP_DISTANCES = {"prob-l2": _probability_l2, "kl": _kl, "logit-l2": _logit_l2}


def unsupervised_ra_loss(recognizer, out: torch.Tensor, target: torch.Tensor,
                         distance: str = "prob-l2") -> torch.Tensor:
    """Distance between R(out) and R(target); ``distance`` is prob-l2 (default), kl or logit-l2."""
    if distance not in UNSUP_DISTANCES:
        raise unknown_name("unsupervised RA distance", distance, list(UNSUP_DISTANCES))
    with torch.no_grad():
        reference = recognizer(target)
    return UNSUP_DISTANCES[distance](recognizer(out), reference)


def perceptual_loss(classifier, out: torch.Tensor, target: torch.Tensor, layers,
                    weights=None) -> torch.Tensor:
    """Feature MSE: the mean over ``layers``, or ``sum_l weights[l] * MSE_l`` when given."""
    feats_out = classifier.features(out, layers)
    with torch.no_grad():
        feats_target = classifier.features(target, layers)
    terms = [F.mse_loss(feats_out[k], feats_target[k]) for k in layers]
    if weights is None:
        return sum(terms) / len(layers)
    return sum(w * t for w, t in zip(weights, terms))


def layer_patch(patch_pixels: int, map_size: int, image_size: int) -> int:
    """A texture patch of ``patch_pixels`` image pixels in a map of ``map_size`` pixels
    (of an image of ``image_size``): rounded, at least 2 (a 1 x 1 Gram is one outer product)."""
    return max(2, round(patch_pixels * map_size / image_size))


class ScaledFeatures(torch.nn.Module):
    """A classifier's feature taps divided channel-wise by fixed ``scales`` (layer -> (C,)).

    ``features(x, layers)`` returns the scaled maps; every other call goes to the classifier.
    """

    def __init__(self, classifier: torch.nn.Module, scales: dict[str, torch.Tensor]):
        super().__init__()
        self.classifier = classifier
        self.scales = {k: v.detach().view(1, -1, 1, 1) for k, v in scales.items()}

    def features(self, x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        feats = self.classifier.features(x, layers)
        return {k: (v / self.scales[k].to(v.device) if k in self.scales else v)
                for k, v in feats.items()}

    def forward(self, x):
        return self.classifier(x)


@torch.no_grad()
def channel_mean_scales(classifier, images: torch.Tensor, layers,
                        batch_size: int = 256) -> dict[str, torch.Tensor]:
    """Per-channel mean activation of each tap over ``images`` (N, C, H, W) in [0, 1].

    Channels that never fire (mean below 1e-6) get scale 1: their maps are zero anyway.
    """
    sums: dict[str, torch.Tensor] = {}
    for start in range(0, len(images), batch_size):
        feats = classifier.features(images[start:start + batch_size], layers)
        for k in layers:
            part = feats[k].mean(dim=(2, 3)).sum(0)
            sums[k] = sums.get(k, 0) + part
    scales = {k: v / len(images) for k, v in sums.items()}
    return {k: torch.where(v > 1e-6, v, torch.ones_like(v)) for k, v in scales.items()}


def patch_gram(features: torch.Tensor, patch: int) -> torch.Tensor:
    """Gram matrices of non-overlapping ``patch`` x ``patch`` patches.

    features (N, C, H, W) -> (N, P, C, C), normalised by the patch's element count.
    A patch larger than the map means one patch covering the whole map.
    """
    n, c, h, w = features.shape
    p = max(1, min(patch, h, w))
    tiles = F.unfold(features, kernel_size=p, stride=p)           # (N, C*p*p, P)
    tiles = tiles.view(n, c, p * p, -1).permute(0, 3, 1, 2)       # (N, P, C, p*p)
    return tiles @ tiles.transpose(-1, -2) / (c * p * p)


def texture_loss(classifier, out: torch.Tensor, target: torch.Tensor, layers,
                 patch: int = 8, patch_pixels: int | None = None) -> torch.Tensor:
    """Gram-matrix MSE averaged over ``layers``; patches of ``patch`` map pixels, or of
    ``patch_pixels`` image pixels scaled to each map (:func:`layer_patch`) when given."""
    feats_out = classifier.features(out, layers)
    with torch.no_grad():
        feats_target = classifier.features(target, layers)

    def size(k):
        if patch_pixels is None:
            return patch
        return layer_patch(patch_pixels, feats_out[k].shape[-1], out.shape[-1])

    return sum(F.mse_loss(patch_gram(feats_out[k], size(k)), patch_gram(feats_target[k], size(k)))
               for k in layers) / len(layers)
