"""Compare on detection canvases: one test canvas degraded by the task, restored by every
processor that fits the canvases, and each detector's boxes on each input, drawn over the image.

The inputs are those of ``detection-transfer`` (:mod:`analysis.analyses.detection_transfer`):
clean, no processing, each processor (a transformer processor's machine view T(P(x)) and its
human view P(x)); the degradation is the evaluation's for that canvas index, so a panel shows
exactly what the tables measured. Boxes are ``(x0, y0, x1, y1)`` in canvas pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..analyses.detection_transfer import (
    canvas_dataset,
    detector_inputs,
    select_detection_models,
)
from ..metrics.detection import match_detections
from ..pipeline.setting import Setting
from ..zoo.catalogue import find_checkpoints, trained_on_canvases_of
from ..zoo.checkpoints import load_checkpoint

TRUTH_COLOUR = (0, 158, 115)      # ground-truth boxes (Okabe-Ito green)
FOUND_COLOUR = (0, 114, 178)      # a detection that matches a ground-truth box of its class
WRONG_COLOUR = (213, 94, 0)       # one that does not (IoU < 0.5 or another class)


@dataclass
class CanvasModels:
    """The loaded models of a task on a detection dataset (what a page keeps between runs)."""

    setting: Setting
    processors: dict[str, torch.nn.Module]
    detectors: dict[str, torch.nn.Module]
    digests: dict[str, str] = field(default_factory=dict)   # name -> SHA-256 of its weights
    cards: dict[str, dict] = field(default_factory=dict)     # name -> its model card


@dataclass
class CanvasView:
    """One canvas through every input: ``images[input]`` (H, W) or (H, W, 3) in [0, 1],
    ``detections[(input, detector)]`` {"boxes" (D, 4), "scores" (D,), "labels" (D,)} as NumPy,
    ``truth`` the canvas's {"boxes", "labels"}."""

    index: int
    truth: dict
    images: dict[str, np.ndarray] = field(default_factory=dict)
    detections: dict[tuple[str, str], dict] = field(default_factory=dict)


def canvas_detectors(dataset: str, folder=None) -> list[str]:
    """Names of the folder's detectors trained on detection canvases of ``dataset`` (what
    decides whether a page offers the canvases at all; read from the cards, nothing loaded)."""
    return [c["name"] for c in find_checkpoints(folder, kind="detector")
            if trained_on_canvases_of(c.get("dataset"), dataset)]


def load_canvas_models(task: str, dataset: str | None = None, folder=None,
                       device=None) -> CanvasModels:
    """Every processor of ``task`` and every detector that fit the canvases of ``dataset``
    (a detection dataset, or canvases of the given one / of the dataset in force), loaded;
    refused with one sentence when no detector fits."""
    canvases = canvas_dataset(dataset)
    setting = Setting(task, canvases, folder, device)
    procs, dets = select_detection_models(setting.task.spec, canvases, setting.info, folder)
    load = {c["name"]: load_checkpoint(c["path"], device=setting.device, kind=c["kind"])[0]
            for c in [*procs, *dets]}
    return CanvasModels(setting, {c["name"]: load[c["name"]] for c in procs},
                        {c["name"]: load[c["name"]] for c in dets},
                        {c["name"]: c["weights"]["sha256"] for c in [*procs, *dets]},
                        {c["name"]: c for c in [*procs, *dets]})


@torch.inference_mode()
def canvas_view(models: CanvasModels, index: int, processors: list[str] | None = None,
                seed: int = 0) -> CanvasView:
    """Test canvas ``index`` through the named ``processors`` (default: all) and every
    detector (:class:`CanvasView`)."""
    procs = {n: m for n, m in models.processors.items() if processors is None or n in processors}
    batch = next(iter(models.setting.batches(procs, progress=False, indices=[int(index)],
                                             batch_size=1, seed=seed, shard=False)))
    truth = batch.labels[0]
    view = CanvasView(int(index), {k: np.asarray(v) for k, v in truth.items()})
    inputs = detector_inputs(batch.views)
    stacked = torch.cat(list(inputs.values()))          # every input in one detector call
    for name, image in zip(inputs, stacked.detach().cpu().float().clamp(0, 1).numpy()):
        view.images[name] = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    for d, det in models.detectors.items():
        for name, out in zip(inputs, det(stacked)):
            view.detections[(name, d)] = {k: v.detach().cpu().numpy() for k, v in out.items()}
    return view


def draw_detections(image: np.ndarray, found: dict, truth: dict, class_names, score_min: float,
                    scale: int = 3) -> np.ndarray:
    """``image`` enlarged ``scale`` x (nearest neighbour) as (H*s, W*s, 3) uint8 RGB with the
    ground-truth boxes (green, thin), and each detection scoring at least ``score_min`` as a
    box with its class and score: blue where it matches a ground-truth box of its class at IoU
    >= 0.5, orange where not."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    pil = Image.fromarray(np.round(rgb * 255).astype(np.uint8)).resize(
        (rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    pen = ImageDraw.Draw(pil)
    font = ImageFont.load_default(size=11)
    for box in truth["boxes"]:
        pen.rectangle([float(v) * scale for v in box], outline=TRUTH_COLOUR, width=1)
    hit, _ = match_detections(found, truth, score_min)
    for d in np.argsort(found["scores"])[::-1]:
        if found["scores"][d] < score_min:
            continue
        box = [float(v) * scale for v in found["boxes"][d]]
        colour = FOUND_COLOUR if hit[d] else WRONG_COLOUR
        pen.rectangle(box, outline=colour, width=2)
        label = f"{class_names[int(found['labels'][d])]} {found['scores'][d]:.2f}"
        pen.text((box[0] + 2, max(box[1] - 12, 0)), label, fill=colour, font=font)
    return np.asarray(pil)
