"""Processor methods by name: each is a loss over (output, target, label) and a table label.

``plain``              MSE
``ra``                 MSE + lambda * CE(R(P(x)), y)                       (R frozen)
                       or, through a detector D on detection canvases,
                       MSE + lambda * L_D(D(P(x)), boxes)                  (D frozen)
``ra-unsup``           MSE + lambda * d(R(P(x)), R(target))                (no labels)
``ra-transformer``     P on MSE; T on lambda * CE(R(T(P(x).detach())), y)
``perceptual``         E / EP / EPT / PT: MSE, lambda * feature MSE, texture_weight * Gram MSE
``robust-perceptual``  the same on an adversarially robust classifier

Adding a method is adding a row to ``METHODS`` and its loss function. The rows' order is the
order of processors everywhere (the zoo's listings, the tables' rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import RAExplorerError, unknown_name
from .losses import (
    detection_loss,
    perceptual_loss,
    recognition_loss,
    texture_loss,
    unsupervised_ra_loss,
)


@dataclass
class LossContext:
    """What a method's loss may use besides the batch."""

    recognizer: torch.nn.Module | None = None
    transformed: torch.Tensor | None = None   # T(P(x).detach()) for ra-transformer
    lam: float = 0.0
    unsup_distance: str = "prob-l2"
    layers: tuple[str, ...] = ()
    losses: str = "EP"
    texture_weight: float = 0.0
    patch: int = 8
    # Uelwer et al.'s settings (None / "none": the plain perceptual losses above)
    layer_weights: tuple[float, ...] | None = None   # P: sum_l w_l * MSE_l
    texture_layers: tuple[str, ...] | None = None    # T's layers when not P's
    patch_pixels: int | None = None                  # T's patch in image pixels
    feature_norm: str = "none"                       # or "channel-mean"


def _plain(ctx, out, target, labels):
    return {"mse": F.mse_loss(out, target)}


def _ra(ctx, out, target, labels):
    return {"mse": F.mse_loss(out, target), "ce": ctx.lam * recognition_loss(ctx.recognizer, out, labels)}


def _ra_detection(ctx, out, target, targets):
    return {"mse": F.mse_loss(out, target),
            "det": ctx.lam * detection_loss(ctx.recognizer, out, targets)}


def _ra_unsup(ctx, out, target, labels):
    return {"mse": F.mse_loss(out, target),
            "unsup": ctx.lam * unsupervised_ra_loss(ctx.recognizer, out, target, ctx.unsup_distance)}


def _ra_transformer(ctx, out, target, labels):
    return {"mse": F.mse_loss(out, target),
            "ce_t": ctx.lam * recognition_loss(ctx.recognizer, ctx.transformed, labels)}


def _perceptual(ctx, out, target, labels):
    combo = ctx.losses.upper()
    if combo not in PERCEPTUAL_COMBOS:
        raise unknown_name("perceptual loss combination", combo, list(PERCEPTUAL_COMBOS))
    parts = {}
    if "E" in combo:
        parts["mse"] = F.mse_loss(out, target)
    if "P" in combo:
        parts["perceptual"] = ctx.lam * perceptual_loss(ctx.recognizer, out, target, ctx.layers,
                                                        ctx.layer_weights)
    if "T" in combo:
        parts["texture"] = ctx.texture_weight * texture_loss(
            ctx.recognizer, out, target, ctx.texture_layers or ctx.layers, ctx.patch,
            ctx.patch_pixels)
    return parts


PERCEPTUAL_COMBOS = ("E", "EP", "EPT", "PT", "ET", "P")


def _no_options(ctx: LossContext) -> dict:
    return {}


def _unsup_options(ctx: LossContext) -> dict:
    return {"unsup_distance": ctx.unsup_distance}


def _perceptual_options(ctx: LossContext) -> dict:
    texture = "T" in ctx.losses.upper()
    options = {"layers": list(ctx.layers), "losses": ctx.losses,
               "texture_weight": ctx.texture_weight if texture else None}
    if ctx.layer_weights is not None:
        options["layer_weights"] = list(ctx.layer_weights)
    if texture and ctx.texture_layers is not None:
        options["texture_layers"] = list(ctx.texture_layers)
    if texture and ctx.patch_pixels is not None:
        options["patch_pixels"] = ctx.patch_pixels
    if ctx.feature_norm != "none":
        options["feature_norm"] = ctx.feature_norm
    return options


# Every option a method may record in its card; a method leaves the others None. The
# perceptual methods may add Uelwer et al.'s settings (PERCEPTUAL_OPTIONS) when used.
CARD_OPTIONS = ("layers", "losses", "texture_weight", "unsup_distance")
PERCEPTUAL_OPTIONS = ("layer_weights", "texture_layers", "patch_pixels", "feature_norm")
FEATURE_NORMS = ("none", "channel-mean")
RECOGNIZER_ROLES = ("none", "standard", "robust")


@dataclass(frozen=True)
class MethodSpec:
    """A processor training method: its loss, what it needs, and the options it owns.

    ``recognizer``: the role of the frozen classifier the loss uses — ``none``, ``standard``
    or ``robust`` (adversarially trained). ``options(ctx)`` returns the method's own settings
    for the model card (keys of :data:`CARD_OPTIONS`). ``label``: the method's name in the
    tables and figures. ``detection_loss``: the method's loss when the frozen recognizer is a
    detector and the labels are the canvases' box targets (None: the method takes classifiers
    only).
    """

    loss: Callable[..., dict]
    description: str
    label: str
    recognizer: str = "standard"
    uses_transformer: bool = False
    uses_labels: bool = True
    options: Callable[[LossContext], dict] = _no_options
    detection_loss: Callable[..., dict] | None = None

    @property
    def needs_recognizer(self) -> bool:
        return self.recognizer != "none"

    @property
    def needs_robust(self) -> bool:
        return self.recognizer == "robust"

    def card_options(self, ctx: LossContext) -> dict:
        """Every key of :data:`CARD_OPTIONS`: this method's values, None for the others."""
        return {**dict.fromkeys(CARD_OPTIONS), **self.options(ctx)}


METHODS: dict[str, MethodSpec] = {
    "plain": MethodSpec(_plain, "MSE only", "plain", recognizer="none", uses_labels=False),
    "ra": MethodSpec(_ra, "MSE + lambda * cross-entropy through the frozen recognizer (or "
                     "lambda * the detection losses through a frozen detector)", "RA",
                     detection_loss=_ra_detection),
    "ra-unsup": MethodSpec(_ra_unsup, "MSE + lambda * distance of recognizer outputs on output "
                           "and target", "RA-unsup", uses_labels=False, options=_unsup_options),
    "ra-transformer": MethodSpec(_ra_transformer, "P on MSE; T on lambda * cross-entropy of "
                                 "R(T(P(x))) with P's output detached", "RA+T",
                                 uses_transformer=True),
    "perceptual": MethodSpec(_perceptual, "MSE and/or feature / texture losses on a standard "
                             f"classifier ({', '.join(PERCEPTUAL_COMBOS)})", "perceptual", uses_labels=False,
                             options=_perceptual_options),
    "robust-perceptual": MethodSpec(_perceptual, "the perceptual losses on an adversarially "
                                    "robust classifier", "robust-perceptual", recognizer="robust",
                                    uses_labels=False, options=_perceptual_options),
}
# Method name -> its label in the tables and figures.
METHOD_LABELS: dict[str, str] = {name: spec.label for name, spec in METHODS.items()}


def get_method(name: str) -> MethodSpec:
    if name not in METHODS:
        raise unknown_name("method", name, list(METHODS))
    return METHODS[name]


def list_processor_methods() -> list[dict]:
    """One entry per processor method (kind ``processor``), in registry order."""
    return [{"name": n, "kind": "processor", "description": s.description,
             "recognizer": s.recognizer, "needs_recognizer": s.needs_recognizer,
             "uses_transformer": s.uses_transformer}
            for n, s in METHODS.items()]


def perceptual_settings(options: dict | None, spec: MethodSpec, layers) -> dict:
    """:class:`LossContext` fields from Uelwer et al.'s settings ``options`` (keys of
    :data:`PERCEPTUAL_OPTIONS`) of a perceptual method on feature ``layers``, checked."""
    if not options:
        return {}
    unknown = set(options) - set(PERCEPTUAL_OPTIONS)
    if unknown:
        raise RAExplorerError(f"Unknown perceptual option(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(PERCEPTUAL_OPTIONS)}.")
    if spec.loss is not METHODS["perceptual"].loss:
        raise RAExplorerError("Perceptual options (layer weights, texture layers, patch pixels, "
                              "feature normalisation) apply to the perceptual methods only.")
    out = dict(options)
    if out.get("layer_weights") is not None:
        out["layer_weights"] = tuple(float(w) for w in out["layer_weights"])
        if len(out["layer_weights"]) != len(layers):
            raise RAExplorerError(f"{len(out['layer_weights'])} layer weights for "
                                  f"{len(layers)} perceptual layers ({', '.join(layers)}).")
    if out.get("texture_layers") is not None:
        out["texture_layers"] = tuple(out["texture_layers"])
    norm = out.get("feature_norm", "none")
    if norm not in FEATURE_NORMS:
        raise unknown_name("feature normalisation", norm, list(FEATURE_NORMS))
    return out
