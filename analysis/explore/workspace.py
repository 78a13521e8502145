"""The app's session object, computed without Streamlit.

A :class:`Workspace` is a :class:`~analysis.pipeline.setting.Setting` (one dataset, its test
split, one task) with the zoo's models for them loaded once, and answers: which images to show
(by index, class, random, or a filter such as "RA right and plain wrong"), the panels for an
image (clean target, LQ input, each processor's output) with top-k predictions and quality
values, difference images, the plane of an image for the Boundaries page, and the same for an
uploaded image.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..analyses.boundary_defaults import EXTENT_MULTIPLE, map_opening_marks, map_resolution_for
from ..analyses.evaluate import report_tasks
from ..config import EMBEDDED_DATASET
from ..data.folders import results_dir, zoo_advice
from ..data.tasks import short_spec
from ..errors import RAExplorerError
from ..metrics.flip import flip_map
from ..metrics.registry import create_metric
from ..pipeline.records import RecordTable, shipped_records_path
from ..pipeline.runner import CLEAN, NO_PROCESSING, input_views
from ..pipeline.setting import Setting
from ..zoo.catalogue import classifier_cards, collection_dirs, main_processors, tasks_in_zoo
from .encoders import to_numpy
from .gallery import read_table_once, select, shipped_table
from .plane import (
    PICKERS,
    DefaultView,
    Plane,
    extent_for,
    image_plane,
    picker_indices,
    top_classes,
)

CLEAN_PANEL, LQ_PANEL = "clean target", "LQ input"
LIVE_RECORD_IMAGES = 2000   # a classifier the shipped record table lacks is measured on these


@dataclass
class Panel:
    """One panel of Compare. ``machine`` is set only where the classifier sees another image
    than a person (RA with transformer: ``image`` = P(x), ``machine`` = T(P(x)))."""

    name: str
    image: np.ndarray                 # (H, W) or (H, W, 3) float in [0, 1]: the human view
    topk: list[tuple[str, float]]     # (class name, probability) of the machine view
    values: dict[str, float]          # metric name -> value of the human view vs the target
    machine: np.ndarray | None = None
    region: tuple[int, int, int] | None = None   # (top, left, size) the values were taken on


def crop_image(x: torch.Tensor, crop: tuple[int, int, int] | None) -> torch.Tensor:
    """(..., H, W) -> the square region (top, left, size) of ``crop`` (None: unchanged)."""
    if crop is None:
        return x
    top, left, size = crop
    return x[..., top:top + size, left:left + size]



class Workspace(Setting):
    """A :class:`~analysis.pipeline.setting.Setting` with every model of its dataset and task
    loaded (load once, reuse across requests): ``classifiers`` (the zoo's, then the
    recognizer-side ones) and ``processors`` (the zoo's, then those of ``collections``), name
    -> model, and their ``classifier_cards`` / ``processor_cards``."""

    def __init__(self, task: str, dataset: str = EMBEDDED_DATASET, folder=None,
                 device: str = "cpu", collections: tuple[str, ...] = ()):
        """``collections``: names of :data:`~analysis.zoo.catalogue.COLLECTIONS` whose
        processors are shown beside the zoo's (e.g. ``("loss-grid",)``)."""
        super().__init__(task, dataset, folder, device)
        _ = self.test   # the split loads now: a missing dataset fails at construction
        clf_cards, proc_cards = self.select(collections=collections, recognizers=True)
        self.classifiers = self.load(clf_cards)
        self.processors = self.load(proc_cards)
        self._tables: dict[str, tuple] = {}
        self._metrics: dict[str, object] = {}

    def metric(self, name: str):
        """A metric built once per workspace (LPIPS-style ones load a classifier)."""
        if name not in self._metrics:
            self._metrics[name] = create_metric(name, device="cpu", folder=self.folder)
        return self._metrics[name]

    # ------------------------------------------------------------------ choosing images
    def labels(self) -> torch.Tensor:
        return self.test.labels

    def indices_of_class(self, class_index: int, limit: int = 50) -> list[int]:
        return torch.nonzero(self.labels() == class_index).flatten()[:limit].tolist()

    def random_indices(self, k: int, seed: int) -> list[int]:
        g = torch.Generator().manual_seed(seed)
        return torch.randperm(len(self.test), generator=g)[:k].tolist()

    @torch.inference_mode()
    def record_table(self, classifier: str, on_progress=None) -> tuple[RecordTable, str]:
        """(per-image record table, where it comes from) for ``classifier`` on this task.

        The shipped ``results/records_<task>.parquet`` (every test image) when it holds
        ``classifier`` measured on the same weights; otherwise the classifier's predictions
        on every processor are measured now on the first :data:`LIVE_RECORD_IMAGES` test
        images (once per workspace; ``on_progress(done, total)`` per batch).
        """
        if classifier not in self.classifiers:
            raise RAExplorerError(f"Unknown classifier {classifier!r}; use one of "
                                  f"{', '.join(self.classifiers)}.")
        if classifier in self._tables:
            return self._tables[classifier]
        cards = {**self.processor_cards, classifier: self.classifier_cards[classifier]}
        digests = {n: c["weights"]["sha256"] for n, c in cards.items()
                   if c.get("weights", {}).get("sha256")}
        table, path = shipped_table(results_dir(dataset=self.dataset), self.task.spec,
                                    self.dataset, classifier, digests,
                                    inputs=[CLEAN, NO_PROCESSING, *self.processors])
        if table is not None:
            found = (table, f"{path.name} ({len(table):,} test images)")
        else:
            limit = min(LIVE_RECORD_IMAGES, len(self.test))
            found = (self.records({classifier: self.classifiers[classifier]}, self.processors,
                                  limit, {m: self.metric(m) for m in ("psnr", "ssim")},
                                  on_progress=on_progress),
                     f"the first {limit:,} test images, measured now (run 'python -m analysis "
                     f"evaluate --task {short_spec(self.task.spec)}' for a table of every test image)")
        self._tables[classifier] = found
        return found

    def shipped_classifiers(self) -> list[str]:
        """The classifiers of the shipped record table of this task (empty without one)."""
        path = shipped_records_path(results_dir(dataset=self.dataset), self.task.spec)
        if not path.is_file():
            return []
        return list(read_table_once(str(path), path.stat().st_mtime_ns).classifiers)

    def gallery(self, query, on_progress=None):
        """(:class:`~analysis.explore.gallery.Selection`, where its table comes from) for a
        :class:`~analysis.explore.gallery.Query` over this task's record table."""
        table, where = self.record_table(query.classifier, on_progress)
        return select(table, query), where

    def plain_name(self) -> str | None:
        return next((n for n, c in self.processor_cards.items()
                     if c.get("method") == "plain" and not c.get("lambda")), None)

    def ra_name(self) -> str | None:
        preferred = f"{self.task.name}-ra"
        if preferred in self.processor_cards:
            return preferred
        return next((n for n, c in self.processor_cards.items() if c.get("method") == "ra"), None)

    def main_processors(self) -> list[str]:
        """One processor per method (see :func:`analysis.zoo.catalogue.main_processors`)."""
        return main_processors(list(self.processor_cards.values()), self.task.name)

    def default_pair(self) -> list[str]:
        """The RA processor's source classifier and the first other standard one.

        The Boundaries page starts on this pair, the one the Table 17 analog is
        measured for; falls back to the first two classifiers.
        """
        names = list(self.classifiers)
        ra = self.processor_cards.get(self.ra_name() or "", {})
        source = ra.get("source")
        if source not in names:
            return names[:2]
        others = [n for n in names if n != source
                  and not self.classifier_cards[n].get("training", {}).get("adversarial")]
        return [source, *(others or [n for n in names if n != source])[:1]]

    # ------------------------------------------------------------------ panels
    def topk(self, classifier: str, x: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable (class name, probability) of ``classifier`` on ``x``
        (C, H, W)."""
        return top_classes(self.classifiers[classifier], x, self.info.class_names, k,
                           self.device)

    # ------------------------------------------------------------------ the plane (Boundaries)
    def plane(self, index: int, direction_seed: int | None = None) -> Plane:
        """The plane of test image ``index`` through the plain processor's output along d_RA
        (:func:`analysis.explore.plane.image_plane`)."""
        plain, ra = self.plain_name(), self.ra_name()
        if plain is None or ra is None:
            source = next(iter(self.classifier_cards), "resnet20")
            advice = zoo_advice(self.dataset, self.folder, self.task.spec,
                                tuple(m for m, n in (("plain", plain), ("ra", ra)) if n is None),
                                source)
            raise RAExplorerError(f"The plane needs a plain and an RA processor for "
                                  f"{self.task.spec}; {advice}.")
        clean, _, _ = self.test[index]
        return image_plane(self.task, clean, index, self.processors[plain], self.processors[ra],
                           direction_seed)

    def picker_indices(self, picker: str, classifiers: list[str]) -> tuple[np.ndarray, str]:
        """:func:`analysis.explore.plane.picker_indices` over this workspace's record tables."""
        return picker_indices(picker, classifiers, self.plain_name(), self.ra_name(),
                              len(self.test), self.record_table)

    def map_resolution(self) -> int:
        """The Boundaries page's opening grid points per axis for this dataset's images
        (:func:`~analysis.analyses.boundary_defaults.map_resolution_for`)."""
        return map_resolution_for(self.image_values)

    def map_opening_marks(self) -> int:
        """Points per axis of the Boundaries page's first coarse grid for this dataset's
        images (:func:`~analysis.analyses.boundary_defaults.map_opening_marks`)."""
        return map_opening_marks(self.image_values)

    @functools.cached_property
    def image_values(self) -> int:
        """C*H*W of this dataset's images (its first test image's)."""
        return int(self.test[0][0].numel())

    def default_view(self) -> DefaultView | None:
        """The Boundaries page's opening view (None without two classifiers or a selected
        image): the first image of the first picker for :meth:`default_pair`."""
        chosen = self.default_pair()
        if len(chosen) < 2:
            return None
        try:
            found, _ = self.picker_indices(PICKERS[0], chosen)
        except RAExplorerError:
            return None
        index = int(found[0]) if len(found) else 0
        return DefaultView(index, list(chosen),
                           extent_for(EXTENT_MULTIPLE, self.plane(index).ra_length),
                           self.map_resolution())

    @torch.no_grad()
    def outputs_for(self, clean: torch.Tensor, lq: torch.Tensor,
                    processors: list[str] | None = None) -> dict[str, dict]:
        """For one image: what a person sees and what the classifier sees, per panel
        (``processors``: a subset by name, default all)."""
        chosen = {n: p for n, p in self.processors.items() if processors is None or n in processors}
        views = input_views(self.task, chosen, clean[None].to(self.device),
                            lq[None].to(self.device))
        panel = {CLEAN: CLEAN_PANEL, NO_PROCESSING: LQ_PANEL}
        return {panel.get(n, n): {"human": v.human[0].cpu(), "machine": v.machine[0].cpu()}
                for n, v in views.items()}

    @torch.no_grad()
    def thumbnails(self, indices: list[int], inputs: list[str], gap: int = 2) -> dict[int, np.ndarray]:
        """{index: the human views of ``inputs`` (processor names, ``no processing`` or
        ``clean``) side by side, ``gap`` white pixels apart} for test images ``indices``,
        each (H, k * W + (k - 1) * gap) or with 3 channels; one batch for all of them."""
        if not indices:
            return {}
        clean = torch.stack([self.test[i][0] for i in indices])
        lq = self.task.degrade_eval(clean, list(indices))
        chosen = {n: p for n, p in self.processors.items() if n in inputs}
        views = input_views(self.task, chosen, clean.to(self.device), lq.to(self.device))
        out = {}
        for row, index in enumerate(indices):
            parts = [to_numpy(views[n].human[row]) for n in inputs]
            white = np.ones((parts[0].shape[0], gap, *parts[0].shape[2:]), np.float32)
            out[index] = np.concatenate([x for p in parts for x in (p, white)][:-1], axis=1)
        return out

    def panels(self, index: int, classifier: str, metrics=("psnr", "ssim"), k: int = 3,
               clean: torch.Tensor | None = None, processors: list[str] | None = None,
               crop: tuple[int, int, int] | None = None) -> list[Panel]:
        """The clean target, the LQ input and each processor's output (all, or the names in
        ``processors``) for test image ``index`` (or for ``clean``, an uploaded image already
        in the dataset's format). ``crop`` = (top, left, size): the metric values are taken
        on that region only (the zoomed view); predictions are always of the whole image."""
        if clean is None:
            clean, _, _ = self.test[index]
        lq = self.task.degrade_eval(clean[None], [index])[0]
        outs = self.outputs_for(clean, lq, processors)
        created = {m: self.metric(m) for m in metrics}
        target = crop_image(clean[None], crop)
        panels = []
        for name, views in outs.items():
            values = {}
            if name != CLEAN_PANEL:
                shown = crop_image(views["human"][None], crop)
                values = {m: float(fn(shown, target)[0]) for m, fn in created.items()}
            machine = (None if torch.equal(views["machine"], views["human"])
                       else to_numpy(views["machine"]))
            panels.append(Panel(name, to_numpy(views["human"]),
                                self.topk(classifier, views["machine"], k), values, machine,
                                crop))
        return panels

    def differences(self, panels: list[Panel], crop: tuple[int, int, int] | None = None,
                    perceptual: bool = True) -> dict[str, dict[str, np.ndarray | None]]:
        """Per panel but the target, on the region ``crop`` (None: whole image), each (h, w):
        ``abs_error`` |output - target| (channel mean, in [0, 1]), ``flip`` NVIDIA FLIP's
        perceptual difference map (in [0, 1]; when ``perceptual``) and ``minus_plain`` output -
        plain (signed, in [-1, 1], channels kept). All of a kind share one scale (see
        :func:`~analysis.explore.encoders.difference_scale`)."""
        def region(image):
            return image if crop is None else image[crop[0]:crop[0] + crop[2],
                                                     crop[1]:crop[1] + crop[2]]

        by_name = {p.name: region(p.image) for p in panels}
        target = by_name[CLEAN_PANEL]
        plain = by_name.get(self.plain_name() or "")
        out = {}
        for name, image in by_name.items():
            if name == CLEAN_PANEL:
                continue
            error = np.abs(image - target)
            out[name] = {"abs_error": error.mean(-1) if error.ndim == 3 else error,
                         "flip": flip_map(image, target) if perceptual else None,
                         "minus_plain": (image - plain) if plain is not None else None}
        return out


# collections whose processors bring tasks of their own: the randomized and compound tasks,
# and the corruption benchmark's cells (``corrupt:type=T,level=S``)
TASK_COLLECTIONS = ("randomized", "corruptions")


def available_tasks(dataset: str, folder=None,
                    collections: tuple[str, ...] = TASK_COLLECTIONS) -> list[str]:
    """The tasks the pages offer: the paper's three, then any other with processors in the
    zoo, then those of ``collections`` (default: every one of :data:`TASK_COLLECTIONS`), in
    that order."""
    tasks = report_tasks(dataset, folder)
    present = collection_dirs(folder)
    for name in collections:
        if name in present:
            tasks += [t for t in tasks_in_zoo(dataset, present[name]) if t not in tasks]
    return tasks


def task_collections(task: str, dataset: str, folder=None) -> tuple[str, ...]:
    """The :data:`TASK_COLLECTIONS` whose processors a workspace of ``task`` needs: those that
    hold processors of ``task`` when the zoo itself holds none (the randomized tasks, the
    corruption cells); ``()``
    for the zoo's tasks, so that their cached workspaces stay the same."""
    if task in report_tasks(dataset, folder):
        return ()
    present = collection_dirs(folder)
    return tuple(name for name in TASK_COLLECTIONS if name in present
                 and task in tasks_in_zoo(dataset, present[name]))


def classifier_names(dataset: str, folder=None) -> list[str]:
    """The zoo's classifiers, then the recognizer-side ones (``checkpoints/recognizers/``)."""
    return [c["name"] for c in classifier_cards(folder, dataset)]
