"""The model registry: every architecture by name, one factory, one listing.

``create_model(name, **kwargs)`` builds an untrained model; ``list_models()``
describes them. Kinds: ``classifier`` (a :class:`Classifier`), ``processor``
(SRResNet, and SRDenseNet, RDN and DBPN beside it), ``transformer`` (the CycleGAN
generator) and ``detector`` (FCOS and RetinaNet for the detection canvases). Adding a model
is adding a row to ``MODELS``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..errors import unknown_name
from .detectors import Detector, fcos_detector, retinanet_detector
from .imagenet_classifiers import tv_densenet, tv_resnet, tv_vgg
from .invertible import irevnet
from .processors import SRResNet
from .small_classifiers import densenet_bc, mobilenet_v2, resnet_cifar, vgg_bn
from .sr_architectures import DBPN, RDN, SRDenseNet
from .transformer import ResnetGenerator, TransformedProcessor
from .wrapper import Classifier

__all__ = ["DBPN", "MODELS", "Detector", "RDN", "Classifier", "ModelSpec", "SRDenseNet", "SRResNet",
           "ResnetGenerator", "TransformedProcessor", "create_model", "human_view", "list_models",
           "model_kind"]


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    builder: Callable[..., nn.Module]
    description: str
    defaults: dict = field(default_factory=dict)
    family: str = ""


MODELS: dict[str, ModelSpec] = {
    # Small classifiers for 28-32 px images (the embedded default zoo).
    "resnet20": ModelSpec("classifier", functools.partial(resnet_cifar, 20),
                          "ResNet-20 (CIFAR form), widths 16/32/64", {"width": 16}, "resnet"),
    "resnet32": ModelSpec("classifier", functools.partial(resnet_cifar, 32),
                          "ResNet-32 (CIFAR form), widths 16/32/64", {"width": 16}, "resnet"),
    "vgg11-bn": ModelSpec("classifier", functools.partial(vgg_bn, "vgg11"),
                          "VGG-11 with batch norm, half width", {"width_mult": 0.5}, "vgg"),
    "densenet-bc": ModelSpec("classifier", densenet_bc,
                             "DenseNet-BC, growth 12, blocks 4/4/4",
                             {"growth": 12, "blocks": [4, 4, 4]}, "densenet"),
    "mobilenetv2": ModelSpec("classifier", mobilenet_v2,
                             "MobileNetV2, strides adapted to 28-32 px", {"width_mult": 1.0}, "mobilenet"),
    "irevnet": ModelSpec("classifier", irevnet,
                         "i-RevNet-style invertible classifier (QualNet's stage 1): zero-padded "
                         "channels, pixel-unshuffle levels, additive coupling blocks",
                         {"pad_to": 4, "levels": 2, "blocks": 3}, "irevnet"),
    # torchvision ImageNet classifiers (no weights are downloaded; bring your own).
    "tv-resnet18": ModelSpec("classifier", functools.partial(tv_resnet, "resnet18"),
                             "torchvision ResNet-18 (ImageNet layout)", family="resnet"),
    "tv-resnet50": ModelSpec("classifier", functools.partial(tv_resnet, "resnet50"),
                             "torchvision ResNet-50 (ImageNet layout)", family="resnet"),
    "tv-resnet101": ModelSpec("classifier", functools.partial(tv_resnet, "resnet101"),
                              "torchvision ResNet-101 (ImageNet layout)", family="resnet"),
    "tv-densenet121": ModelSpec("classifier", functools.partial(tv_densenet, "densenet121"),
                                "torchvision DenseNet-121 (ImageNet layout)", family="densenet"),
    "tv-vgg16-bn": ModelSpec("classifier", functools.partial(tv_vgg, "vgg16_bn"),
                             "torchvision VGG-16-BN (ImageNet layout)", family="vgg"),
    # Processors and transformers.
    "srresnet": ModelSpec("processor", SRResNet,
                          "SRResNet: residual blocks with BN + PReLU, global skip, pixel shuffle",
                          {"channels": 64, "blocks": 16, "scale": 4}, "srresnet"),
    "srdensenet": ModelSpec("processor", SRDenseNet,
                            "SRDenseNet-style: dense blocks, all-block skips fused by a 1x1 "
                            "bottleneck, pixel shuffle",
                            {"channels": 32, "blocks": 4, "layers": 5, "growth": 10, "scale": 4},
                            "srdensenet"),
    "rdn": ModelSpec("processor", RDN,
                     "RDN-style: residual dense blocks, global feature fusion and residual, "
                     "pixel shuffle",
                     {"channels": 32, "blocks": 3, "layers": 4, "growth": 16, "scale": 4}, "rdn"),
    "dbpn": ModelSpec("processor", DBPN,
                      "DBPN-style: dense iterative up- and down-projection units with error "
                      "feedback", {"channels": 14, "stages": 3, "scale": 4}, "dbpn"),
    "cyclegan-resnet": ModelSpec("transformer", ResnetGenerator,
                                 "CycleGAN ResNet generator (the RA transformer T)",
                                 {"ngf": 64, "blocks": 9, "norm": "instance"}, "cyclegan"),
    # Detectors for the detection canvases (analysis.data.canvases), trained from scratch.
    "fcos": ModelSpec("detector", fcos_detector,
                      "FCOS (torchvision) on a small ResNet + FPN, levels at strides 4/8/16 px",
                      {"width": 32, "fpn_channels": 64}, "fcos"),
    "retinanet": ModelSpec("detector", retinanet_detector,
                           "RetinaNet (torchvision, GroupNorm heads) on a small ResNet + FPN, "
                           "9 anchors per cell at strides 4/8/16 px",
                           {"width": 32, "fpn_channels": 64}, "retinanet"),
}


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise unknown_name("model", name, list(MODELS))
    return MODELS[name]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the architecture ``name`` with ``kwargs`` (see ``list_models`` for the names)."""
    spec = _spec(name)
    return spec.builder(**{**spec.defaults, **kwargs})


def human_view(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The image a person sees from ``model``: P's output for P followed by T, else the output."""
    return model.human_view(x) if isinstance(model, TransformedProcessor) else model(x)


def model_kind(name: str) -> str:
    return _spec(name).kind


def list_models(kind: str | None = None) -> list[dict]:
    """One entry per architecture: name, kind, family, defaults and description."""
    return [{"name": n, "kind": s.kind, "family": s.family, "defaults": s.defaults,
             "description": s.description}
            for n, s in MODELS.items() if kind is None or s.kind == kind]
