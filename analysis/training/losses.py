"""Loss terms for processor training.

All take processor outputs ``out`` and clean targets ``target`` in [0, 1] of
shape (N, C, H, W) and return a scalar tensor.

* recognition (RA): cross-entropy of a frozen recognizer on ``out``;
* unsupervised RA: distance between the recognizer's outputs on ``out`` and
  on ``target`` (no labels needed);
* perceptual (Uelwer et al. eq. 1): mean squared difference of feature maps at
  chosen layers, averaged over layers;
* texture (eq. 2, after EnhanceNet): squared difference of Gram matrices of
  feature maps computed on non-overlapping patches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import unknown_name


def recognition_loss(recognizer, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(recognizer(out), labels)


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


def perceptual_loss(classifier, out: torch.Tensor, target: torch.Tensor, layers) -> torch.Tensor:
    feats_out = classifier.features(out, layers)
    with torch.no_grad():
        feats_target = classifier.features(target, layers)
    return sum(F.mse_loss(feats_out[k], feats_target[k]) for k in layers) / len(layers)


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
                 patch: int = 8) -> torch.Tensor:
    feats_out = classifier.features(out, layers)
    with torch.no_grad():
        feats_target = classifier.features(target, layers)
    return sum(F.mse_loss(patch_gram(feats_out[k], patch), patch_gram(feats_target[k], patch))
               for k in layers) / len(layers)
