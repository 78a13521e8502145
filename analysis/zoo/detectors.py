"""Object detectors for the detection canvases: torchvision's FCOS and RetinaNet on a small
ResNet + FPN backbone, sized for 1- or 3-channel canvases of about 112 pixels.

The backbone (:class:`SmallResNetFPN`) is a stride-2 3x3 stem and three stages of two basic
residual blocks of widths (w, 2w, 4w), each stage halving the resolution, so the feature pyramid
(torchvision's ``FeaturePyramidNetwork``, ``fpn_channels`` channels) has levels at strides 4, 8
and 16 pixels (28, 14 and 7 cells on a 112-pixel canvas): the canvases' items are 20 to 48
pixels wide and their boxes 8 to 48. Nothing is pretrained (no weights exist here).

torchvision's transform would resize every image to 800 pixels and normalise with ImageNet's
3-channel statistics; here ``min_size = max_size = image_size`` (a canvas of that size is not
resized), ``image_mean`` / ``image_std`` are the dataset's per-channel statistics and images are
padded to a multiple of 16 pixels, not 32 (112 stays 112).

Anchors (``RetinaNet``): one size per level and three scales (1, 2^(1/3), 2^(2/3)) x three
aspect ratios (0.5, 1, 2), the base sizes 8, 16 and 32 pixels at strides 4, 8 and 16, so boxes
of 8 to 50 pixels meet an anchor of IoU >= 0.5. ``FCOS`` uses one point per cell whose "anchor
size" is the level's stride (torchvision's convention: objects whose largest centre-to-side
distance is below 8 strides go to the level).

:class:`Detector` is what the zoo builds: ``forward(images (N, C, H, W) in [0, 1], targets=None)``
returns the torchvision losses ({name: scalar}) in training mode with targets, else one
``{"boxes" (D, 4) x0, y0, x1, y1 in pixels, "scores" (D,), "labels" int64 (D,)}`` per image.

torchvision's detection classes are imported where a detector is built: ``torchvision.ops``
imports ``torch._dynamo`` (about 1.1 s of one core), which every command that imports the model
registry would otherwise pay.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

import torch
from torch import nn

from .small_classifiers import BasicBlock, conv_bn

STRIDES = (4, 8, 16)             # pixels per cell of the pyramid's levels
RETINA_SIZES = (8, 16, 32)       # RetinaNet's base anchor side per level, pixels
RETINA_SCALES = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
ASPECT_RATIOS = (0.5, 1.0, 2.0)
SIZE_DIVISIBLE = 16


class SmallResNetFPN(nn.Module):
    """A stride-2 stem, three stages of two basic blocks (widths w, 2w, 4w; strides 4, 8 and 16
    pixels) and an FPN of ``fpn_channels`` channels; ``forward(x (N, C, H, W))`` returns the
    levels ``{"0", "1", "2"}`` (N, fpn_channels, H / s, W / s) for s = 4, 8, 16."""

    def __init__(self, in_channels: int = 1, width: int = 32, fpn_channels: int = 64):
        from torchvision.ops import FeaturePyramidNetwork  # start-up cost: module docstring

        super().__init__()
        self.stem = conv_bn(in_channels, width, 3, 2, act=nn.ReLU(inplace=True))
        widths = (width, 2 * width, 4 * width)
        stages, cin = [], width
        for cout in widths:
            stages.append(nn.Sequential(BasicBlock(cin, cout, 2), BasicBlock(cout, cout, 1)))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.fpn = FeaturePyramidNetwork(list(widths), fpn_channels)
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        h = self.stem(x)
        levels = OrderedDict()
        for i, stage in enumerate(self.stages):
            h = stage(h)
            levels[str(i)] = h
        return self.fpn(levels)


class Detector(nn.Module):
    """A torchvision detector over batches: ``forward(images (N, C, H, W) in [0, 1], targets)``;
    ``targets`` a list of N ``{"boxes" float (K, 4), "labels" int64 (K,)}`` (training), the
    module docstring says what it returns."""

    def __init__(self, net: nn.Module, num_classes: int):
        super().__init__()
        self.net = net
        self.num_classes = num_classes

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None):
        return self.net(list(images), targets)

    def losses(self, images: torch.Tensor, targets: list[dict]) -> dict[str, torch.Tensor]:
        """torchvision's training losses ({name: scalar}) of ``images`` (N, C, H, W) in [0, 1]
        against ``targets``, with every submodule left in its own mode: torchvision computes
        the losses only while the top-level detector's ``training`` flag is set, so this sets
        that one flag (not ``.train()``, which would recurse) for the call and puts it back.
        A frozen detector (:func:`analysis.training.engine.freeze`: eval mode, no gradients)
        thus keeps its BatchNorm layers on their running statistics, never updates them and
        sends gradients only to the images (the RA loss of a processor through a detector).
        The transform does not depend on the flag here: ``min_size`` has one value, so
        training and evaluation resize alike (not at all at the detector's image size). The
        losses run in float32 even inside an autocast region (the fit engine's bfloat16 on
        CUDA): box regression in bfloat16 would round 112-pixel coordinates to half pixels."""
        was = self.net.training
        self.net.training = True
        try:
            with torch.autocast(images.device.type, enabled=False):
                return self.net(list(images.float()), targets)
        finally:
            self.net.training = was


def _transform_options(in_channels: int, image_size: int, mean, std) -> dict:
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    if len(mean) != in_channels or len(std) != in_channels:
        raise ValueError(f"mean and std need one value per channel ({in_channels}); got "
                         f"{len(mean)} and {len(std)}.")
    return {"min_size": image_size, "max_size": image_size, "image_mean": mean, "image_std": std,
            "size_divisible": SIZE_DIVISIBLE}


def fcos_detector(in_channels: int = 1, num_classes: int = 10, width: int = 32,
                  fpn_channels: int = 64, head_convs: int = 4, image_size: int = 112,
                  mean=(0.5,), std=(0.25,), score_thresh: float = 0.05,
                  detections: int = 100) -> Detector:
    """FCOS (Tian et al. 2019, torchvision's) on :class:`SmallResNetFPN`: per-cell class scores
    (focal loss), box distances (GIoU loss) and centre-ness; ``head_convs`` GroupNorm'd 3x3 convs
    per tower; keeps detections scoring above ``score_thresh``, at most ``detections`` per image."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOS, FCOSHead

    backbone = SmallResNetFPN(in_channels, width, fpn_channels)
    anchors = AnchorGenerator(tuple((s,) for s in STRIDES), ((1.0,),) * len(STRIDES))
    head = FCOSHead(fpn_channels, 1, num_classes, num_convs=head_convs)
    net = FCOS(backbone, num_classes, anchor_generator=anchors, head=head,
               score_thresh=score_thresh, detections_per_img=detections,
               **_transform_options(in_channels, image_size, mean, std))
    return Detector(net, num_classes)


def retinanet_detector(in_channels: int = 1, num_classes: int = 10, width: int = 32,
                       fpn_channels: int = 64, image_size: int = 112, mean=(0.5,), std=(0.25,),
                       score_thresh: float = 0.05, detections: int = 100) -> Detector:
    """RetinaNet (Lin et al. 2017, torchvision's, with GroupNorm in its four-conv towers) on
    :class:`SmallResNetFPN`: 9 anchors per cell (module docstring), focal loss for classes,
    L1 for box offsets; keeps detections above ``score_thresh``, at most ``detections``."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead

    backbone = SmallResNetFPN(in_channels, width, fpn_channels)
    sizes = tuple(tuple(round(base * s) for s in RETINA_SCALES) for base in RETINA_SIZES)
    anchors = AnchorGenerator(sizes, (ASPECT_RATIOS,) * len(sizes))
    head = RetinaNetHead(fpn_channels, anchors.num_anchors_per_location()[0], num_classes,
                         norm_layer=partial(nn.GroupNorm, math.gcd(32, fpn_channels)))
    net = RetinaNet(backbone, num_classes, anchor_generator=anchors, head=head,
                    score_thresh=score_thresh, detections_per_img=detections,
                    **_transform_options(in_channels, image_size, mean, std))
    return Detector(net, num_classes)
