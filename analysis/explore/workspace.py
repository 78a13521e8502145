"""What the app's Compare page shows, computed without Streamlit.

A :class:`Workspace` holds one dataset, its test split, one task and the
zoo's models for them, and answers: which images to show (by index, class,
random, or a filter such as "RA right and plain wrong"), the panels for an
image (clean target, LQ input, each processor's output) with top-k
predictions and quality values, difference images, and the same for an
uploaded image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from ..config import EMBEDDED_DATASET
from ..data.datasets import load_dataset
from ..data.tasks import create_task
from ..errors import RAExplorerError
from ..metrics.registry import create_metric
from ..pipeline.records import RecordTable
from ..pipeline.runner import CLEAN, NO_PROCESSING, input_views, stream
from ..zoo.catalogue import checkpoint_dir, classifier_cards, collection_dirs, main_processors, select_models
from ..zoo.checkpoints import load_models

CLEAN_PANEL, LQ_PANEL = "clean target", "LQ input"
LIVE_RECORD_IMAGES = 2000   # a classifier the shipped record table lacks is measured on these
MAX_UPLOAD_BYTES = 8 * 2**20          # 8 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096       # decompression-bomb guard
MAX_UPLOAD_SIDE = 8192                # pixels; the pixel guard alone lets 1 x 16,777,216 through
MAX_UPLOAD_ASPECT = 8                 # longer side / shorter side (resizing a thin strip blows up)
UPLOAD_TYPES = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")


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


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) or (H, W, 3)."""
    arr = x.detach().cpu().clamp(0, 1).numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def enlarge_png(image: np.ndarray, scale: int = 8, crop: tuple[int, int, int] | None = None,
                signed: bool = False) -> bytes:
    """Lossless PNG, nearest-neighbour enlarged by an integer ``scale`` (pixel-exact).

    ``crop`` = (top, left, size) cuts a square region first (the synced zoom);
    ``signed`` maps [-1, 1] to [0, 1] (grey = 0) for signed differences.
    """
    arr = (image + 1) / 2 if signed else image
    if crop is not None:
        top, left, size = crop
        arr = arr[top:top + size, left:left + size]
    return _enlarged_png(np.clip(np.round(arr * 255), 0, 255).astype(np.uint8), scale)


def _enlarged_png(pixels: np.ndarray, scale: int) -> bytes:
    """uint8 (H, W) or (H, W, 3) -> PNG bytes, each pixel repeated ``scale`` x ``scale``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)).save(buf, "PNG")
    return buf.getvalue()


class Workspace:
    """Models and data for one dataset and task (load once, reuse across requests)."""

    def __init__(self, task: str, dataset: str = EMBEDDED_DATASET, folder=None,
                 device: str = "cpu", collections: tuple[str, ...] = ()):
        """``collections``: names of :data:`~analysis.zoo.catalogue.COLLECTIONS` whose
        processors are shown beside the zoo's (e.g. ``("loss-grid",)``)."""
        self.task = create_task(task)
        self.dataset = dataset
        self.folder = checkpoint_dir(folder)
        self.device = torch.device(device)
        self.test = load_dataset(dataset, "test")
        self.info = self.test.info
        _, proc_cards = select_models(self.task.spec, dataset, self.folder)
        clf_cards = classifier_cards(self.folder, dataset)   # with the recognizer-side ones
        present = collection_dirs(self.folder)
        for name in collections:
            if name in present:
                proc_cards += select_models(self.task.spec, dataset, present[name])[1]
        self.classifier_cards = {c["name"]: c for c in clf_cards}
        self.processor_cards = {c["name"]: c for c in proc_cards}
        self.classifiers = load_models(clf_cards, self.device)
        self.processors = load_models(proc_cards, self.device)
        self._tables: dict[str, tuple] = {}
        self._predictors: dict[str, object] = {}
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
        from ..data.folders import results_dir
        from ..pipeline.records import RecordSink
        from .gallery import shipped_table

        if classifier not in self.classifiers:
            raise RAExplorerError(f"Unknown classifier {classifier!r}; use one of "
                                  f"{', '.join(self.classifiers)}.")
        if classifier in self._tables:
            return self._tables[classifier]
        cards = {**self.processor_cards, classifier: self.classifier_cards[classifier]}
        digests = {n: c["weights"]["sha256"] for n, c in cards.items()
                   if c.get("weights", {}).get("sha256")}
        table, path = shipped_table(results_dir(dataset=self.dataset), self.task.spec,
                                    self.dataset, classifier, digests)
        if table is not None:
            found = (table, f"{path.name} ({len(table):,} test images)")
        else:
            sink = RecordSink({classifier: self.classifiers[classifier]},
                              {m: self.metric(m) for m in ("psnr", "ssim")})
            limit = min(LIVE_RECORD_IMAGES, len(self.test))
            for batch in stream(self.task, self.processors, self.test, self.device, 500, limit,
                                shard=False, on_progress=on_progress):
                sink.add(batch)
            found = (sink.table(self.task.spec, self.dataset, "test"),
                     f"the first {limit:,} test images, measured now (run 'python -m analysis "
                     f"evaluate --task {self.task.name}' for a table of every test image)")
        self._tables[classifier] = found
        return found

    def shipped_classifiers(self) -> list[str]:
        """The classifiers of the shipped record table of this task (empty without one)."""
        from ..data.folders import results_dir
        from ..pipeline.records import records_path
        from .gallery import read_table_once

        path = records_path(results_dir(dataset=self.dataset), self.task.spec)
        if not path.is_file():
            return []
        return list(read_table_once(str(path), path.stat().st_mtime_ns).classifiers)

    def gallery(self, query, on_progress=None):
        """(:class:`~analysis.explore.gallery.Selection`, where its table comes from) for a
        :class:`~analysis.explore.gallery.Query` over this task's record table."""
        from .gallery import select

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
        """One processor per method (see :func:`analysis.evaluate.main_processors`)."""
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
    @torch.no_grad()
    def topk(self, classifier: str, x: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
        probs = self.classifiers[classifier](x[None].to(self.device)).softmax(1)[0].cpu()
        values, idx = probs.topk(min(k, len(probs)))
        return [(self.info.class_names[i], float(v)) for v, i in zip(values, idx)]

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
        :func:`difference_scale`)."""
        from ..metrics.flip import flip_map

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


def difference_scale(diffs: dict[str, dict], kind: str) -> float:
    """The largest value of ``kind`` over every panel (> 0): one colour scale for all of them,
    so that equal colours mean equal errors across panels."""
    peaks = [float(np.abs(d[kind]).max()) for d in diffs.values() if d.get(kind) is not None]
    return max([p for p in peaks if p > 0], default=1.0)


def colour_png(values: np.ndarray, vmax: float, scale: int = 8, cmap: str = "magma") -> bytes:
    """(h, w) values in [0, vmax] -> a colour-mapped PNG, nearest-neighbour enlarged by
    ``scale`` (pixel-exact; the same ``vmax`` gives every panel the same scale)."""
    from matplotlib import colormaps

    rgb = colormaps[cmap](np.clip(values / vmax, 0, 1))[..., :3]
    return _enlarged_png(np.round(rgb * 255).astype(np.uint8), scale)


def colour_bar_png(vmax: float, label: str, cmap: str = "magma", width_px: int = 320) -> bytes:
    """A horizontal colour bar from 0 to ``vmax`` with ticks and ``label`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import Normalize

    fig, ax = plt.subplots(figsize=(width_px / 100, 0.62), dpi=100)
    fig.subplots_adjust(left=0.04, right=0.96, bottom=0.55, top=0.95)
    fig.colorbar(matplotlib.cm.ScalarMappable(Normalize(0, vmax), cmap), cax=ax,
                 orientation="horizontal")
    ax.tick_params(labelsize=8)
    ax.set_xlabel(label, fontsize=8, labelpad=1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@torch.no_grad()
def plane_maps(workspace, index: int, classifiers: list[str], extent: float, resolution: int,
               coarse_step: int = 8, direction_seed: int | None = None,
               batch_size: int = 128, between_levels=None) -> dict:
    """2-D decision maps of ``classifiers`` around test image ``index``.

    The plane passes through the plain output x along d_RA (towards the RA
    output) and a random direction orthogonal to it (seeded by ``direction_seed``, default
    the index).
    Returns {"maps": {name: DecisionMap}, "ra_length": ||x_RA - x||,
    "agreement": matrix}. ``batch_size``: points per forward; 128 drew the four 128 x 128
    maps of two images 13-20 % faster than 4,096 in three alternating runs (densenet-bc
    1.5x: its concatenations are memory-bound on large batches), on this machine under load.
    ``between_levels``: see :func:`adaptive_decision_map`. The classifiers run as their
    channels-last copies (:class:`analysis.pipeline.backends.ChannelsLast`; float rounding
    aside, the same function, and the same maps in the measurements quoted there).
    """
    from ..analyses.boundary import adaptive_decision_map, agreement_matrix
    from ..pipeline.backends import channels_last_copy
    from .plane import image_plane

    plane = image_plane(workspace, index, direction_seed)
    maps = {name: adaptive_decision_map(channels_last_copy(workspace.classifiers[name]),
                                        plane.x, plane.d_ra,
                                        plane.d_r, extent, resolution, coarse_step=coarse_step,
                                        batch_size=batch_size, between_levels=between_levels)
            for name in classifiers}
    return {"maps": maps, "ra_length": plane.ra_length,
            "agreement": agreement_matrix({n: m.classes for n, m in maps.items()})}


def _upload_too_large(size: tuple[int, int] | None) -> RAExplorerError:
    """The one sentence for every size limit (the header's, PIL's bomb guard, MemoryError)."""
    what = f"The image is {size[0]:,} x {size[1]:,} pixels" if size else "The image is too large"
    return RAExplorerError(
        f"{what}; uploads may be at most {MAX_UPLOAD_SIDE:,} pixels a side, "
        f"{MAX_UPLOAD_PIXELS:,} pixels in all and {MAX_UPLOAD_ASPECT}:1 in aspect ratio "
        "(decompression-bomb guard).")


def read_upload(data: bytes, channels: int, size: int) -> torch.Tensor:
    """An uploaded file -> (channels, size, size) in [0, 1], or one clear error.

    Refuses empty or over-large files, non-images, truncated images, and images
    whose sides, pixel count or aspect ratio exceed the limits above -- read from
    the header, before anything is decoded; PIL's own decompression-bomb guard and
    a MemoryError while decoding give the same sentence. The image is converted
    to the dataset's channels and resized (shorter side) and centre-cropped to ``size``.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RAExplorerError("The uploaded file is empty; choose an image file.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RAExplorerError(f"The upload is {len(data) / 2**20:.1f} MiB; the limit is "
                              f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB.")
    not_an_image = RAExplorerError("The upload is not an image this app can read; use PNG, JPEG, "
                                   "BMP, GIF, TIFF or WebP.")
    bombs = (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))   # reads the header only
        except bombs:
            raise _upload_too_large(None) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise not_an_image from None
        if img.format not in UPLOAD_TYPES:
            raise RAExplorerError(f"The upload is a {img.format} file; use PNG, JPEG, BMP, GIF, "
                                  "TIFF or WebP.")
        width, height = img.size
        if min(width, height) < 1:
            raise not_an_image
        if (max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS
                or max(width, height) > MAX_UPLOAD_ASPECT * min(width, height)):
            raise _upload_too_large((width, height))
        try:
            img = img.convert("RGB" if channels == 3 else "L")
            scale = size / min(width, height)
            img = img.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                             Image.BICUBIC)
        except bombs:
            raise _upload_too_large(None) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise RAExplorerError(f"The image could not be decoded ({' '.join(str(exc).split())}); "
                                  "the file may be truncated or damaged.") from None
    left, top = (img.width - size) // 2, (img.height - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())


def available_tasks(dataset: str, folder=None) -> list[str]:
    from ..analyses.evaluate import report_tasks

    return report_tasks(dataset, folder)


def classifier_names(dataset: str, folder=None) -> list[str]:
    """The zoo's classifiers, then the recognizer-side ones (``checkpoints/recognizers/``)."""
    return [c["name"] for c in classifier_cards(folder, dataset)]
