"""Recognizer-side methods by name: how a classifier R is trained for degraded inputs.

Fix the recognizer instead of the image. Each method, by name in :data:`RECOGNIZER_METHODS`,
trains a classifier R on the training split; the degradation is a task spec (``sr``,
``jpeg:quality=10`` ...) or a named mix of :data:`MIXES` (each image degraded by one of its
tasks, drawn uniformly): ``mix``, the three randomized tasks ``sr-random``, ``denoise-random``
and ``jpeg-random``; ``corrupt-seen``, the corruption cells of :data:`SEEN_CORRUPTIONS` at
every severity. "LQ" below is the
degraded image resized bicubically to the clean size (the "no processing" input).

``augment``                naive augmentation: each image is clean or LQ with probability 1/2;
                           cross-entropy.
``train-on-lq``            every image LQ (the RA paper's section 7: R trained on interpolated
                           LQ images); cross-entropy.
``finetune-on-processed``  R initialised from ``init`` and fine-tuned on the frozen
                           ``processor``'s outputs P(LQ) (RA paper section 7).
``feature-kd``             FitNet-style distillation: the batch as for ``augment``; cross-entropy
                           + lambda * D(f_R(x_in), f_teacher(x_clean)) at ``kd_layer`` (D: mean
                           squared (``l2``) or absolute (``l1``) difference), the teacher frozen.
``qualnet``                QualNet's stage 2 (Kim et al., section 3.3): the batch as for
                           ``augment``; cross-entropy + lambda * mean |x_clean -
                           g^-1(c(f_R(x_in)))| with g^-1 the inverse of a frozen invertible
                           classifier (``decoder``, stage 1: ``irevnet``) and c a trained 3 x 3
                           convolution from R's ``kd_layer`` map to g's last map; c and the
                           decoder are not part of the saved classifier.
``qualnet-trained-decoder`` QualNet's ablation (the paper's Table 6): as ``qualnet``, but the
                           decoder's invertible levels are trained with R and c instead of
                           frozen (its normalisation keeps the stage-1 statistics; the decoder
                           checkpoint itself is not changed). Reconstruction off is ``augment``.

:func:`classifier_method` names the plain classifier trainings (``standard``, ``adversarial``,
``adversarial-alp``) the same way for their cards.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.corruptions import LEVELS
from ..data.tasks import corruption_specs
from ..errors import RAExplorerError, unknown_name

MIX = ("sr-random", "denoise-random", "jpeg-random")
# The corruption benchmark's types a recognizer may see in training (the QualNet paper's Table 3
# setting): the first type of each of ImageNet-C's four families (noise, blur, weather,
# digital), every severity; the other 11 benchmark types and the 4 extra ones stay unseen.
SEEN_CORRUPTIONS = ("gaussian_noise", "defocus_blur", "snow", "contrast")
# Named degradations that draw one task per image, uniformly: name -> task specs.
MIXES = {"mix": MIX, "corrupt-seen": tuple(corruption_specs(SEEN_CORRUPTIONS, LEVELS))}


def degradation_tasks(degradation: str) -> tuple[str, ...]:
    """The task specs of a recognizer's ``degradation``: a mix of :data:`MIXES`, or one task."""
    return MIXES.get(degradation, (degradation,))


@dataclass(frozen=True)
class RecognizerMethod:
    """What a recognizer-side method needs and how it forms a batch's input."""

    description: str
    inputs: str                        # "half-lq", "all-lq" or "processed"
    needs: tuple[str, ...] = ()        # of "teacher", "decoder", "processor", "init"
    extra_loss: str | None = None      # None, "kd" or "reconstruction"
    uses_lambda: bool = False
    decoder_trained: bool = False      # the decoder trained with R (else frozen)


RECOGNIZER_METHODS: dict[str, RecognizerMethod] = {
    "augment": RecognizerMethod("half clean, half LQ images; cross-entropy", "half-lq"),
    "train-on-lq": RecognizerMethod("every image LQ (bicubic-upsampled); cross-entropy",
                                    "all-lq"),
    "finetune-on-processed": RecognizerMethod(
        "fine-tuned from --init on the frozen --processor's outputs", "processed",
        needs=("processor", "init")),
    "feature-kd": RecognizerMethod(
        "half LQ; cross-entropy + lambda * feature distance to a frozen clean teacher",
        "half-lq", needs=("teacher",), extra_loss="kd", uses_lambda=True),
    "qualnet": RecognizerMethod(
        "half LQ; cross-entropy + lambda * L1 reconstruction through a frozen invertible "
        "decoder (QualNet)", "half-lq", needs=("decoder",), extra_loss="reconstruction",
        uses_lambda=True),
    "qualnet-trained-decoder": RecognizerMethod(
        "as qualnet, the invertible decoder trained with R instead of frozen (QualNet's "
        "ablation)", "half-lq", needs=("decoder",), extra_loss="reconstruction",
        uses_lambda=True, decoder_trained=True),
}


def list_recognizer_methods() -> list[dict]:
    """One entry per recognizer-side method (``list methods`` shows them beside the
    processor methods)."""
    return [{"name": n, "kind": "classifier", "description": m.description,
             "needs": list(m.needs), "uses_lambda": m.uses_lambda}
            for n, m in RECOGNIZER_METHODS.items()]


def get_recognizer_method(name: str) -> RecognizerMethod:
    if name not in RECOGNIZER_METHODS:
        raise unknown_name("recognizer method", name, list(RECOGNIZER_METHODS))
    return RECOGNIZER_METHODS[name]


def recognizer_card_fields(method_name: str, degradation: str, lam: float, kd_layer: str | None,
                           kd_norm: str | None, used: dict) -> dict:
    """The training record of a recognizer-side method, for the card."""
    spec = get_recognizer_method(method_name)
    return {"recognizer_method": method_name, "degradation": degradation,
            "degradation_tasks": list(degradation_tasks(degradation)),
            "lambda": lam if spec.uses_lambda else None,
            "kd_layer": kd_layer if spec.extra_loss else None,
            "kd_norm": kd_norm if spec.extra_loss == "kd" else None,
            **{k: used.get(k) for k in ("teacher", "decoder", "processor", "init")}}


def check_needs(method_name: str, given: dict) -> None:
    """One sentence when ``given`` (option -> checkpoint path) lacks a checkpoint the method
    needs, or names a teacher, decoder or processor it does not use."""
    spec = get_recognizer_method(method_name)
    missing = [n for n in spec.needs if not given.get(n)]
    if missing:
        flags = ", ".join(f"--{m}" for m in missing)
        raise RAExplorerError(f"Method {method_name!r} needs {flags} (a checkpoint).")
    extra = [n for n in ("teacher", "decoder", "processor") if given.get(n)
             and n not in spec.needs]
    if extra:
        raise RAExplorerError(f"Method {method_name!r} does not use --{extra[0]}.")


def classifier_method(adv_eps: float, alp: float = 0.0) -> str:
    """The card's ``method`` of a classifier: standard, adversarial, or adversarial-alp."""
    return "standard" if adv_eps <= 0 else ("adversarial-alp" if alp > 0 else "adversarial")
