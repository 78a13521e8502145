"""The API's figures: the paper's ``boundary-maps`` and ``examples`` from tensors and modules
(drawn by :mod:`analysis.reporting.paper.panels`, as the zoo's figures are), every kind from the
zoo, and writing a figure with the CSV of its numbers."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, unknown_name
from ..reporting.paper import FORMATS, KINDS, FigureOptions, PaperFigure, build_figure
from ..reporting.paper import save_figure as _save_figure
from ..reporting.paper.core import paper_style
from ..reporting.paper.images import map_rows
from ..reporting.paper.panels import MapImage, draw_boundary_maps, draw_examples
from ..reporting.paper.style import CORRECT, DEFAULT_DPI, DEFAULT_WIDTH, WRONG
from .boundaries import boundary_map, named_classifiers
from .defaults import MAP_RESOLUTION
from .models import as_batch, load_model, model_device


def _titles(model: nn.Module, images: torch.Tensor, labels, names) -> list[tuple[str, str, dict]]:
    """(title, colour, CSV facts) of each image (N, C, H, W) by ``model``'s top-1 class."""
    probs = model(images.to(model_device(model))).softmax(1).cpu()
    out = []
    for r, p in enumerate(probs):
        pred = int(p.argmax())
        facts = {"prediction": names[pred], "probability": float(p[pred])}
        if labels is None:
            out.append((names[pred], "black", facts))
            continue
        ok = pred == int(labels[r])
        facts.update(label=names[int(labels[r])], correct=ok)
        out.append((("✓ " if ok else "✗ ") + names[pred], CORRECT if ok else WRONG, facts))
    return out


@torch.no_grad()
def _maps_figure(classifiers, images, direction, towards, labels, class_names, extent,
                 resolution, seed, width) -> PaperFigure:
    named = named_classifiers(classifiers)
    x, _ = as_batch(images)
    first = next(iter(named.values())).eval()
    names = list(class_names or [str(k) for k in range(first(x[:1].to(model_device(first))).shape[1])])
    aheads = None if towards is None else as_batch(towards, "towards image")[0]
    dirs = None if direction is None else direction[None] if direction.ndim == 3 else direction
    for what, given in (("towards images", aheads), ("directions", dirs)):
        if given is not None and len(given) not in (1, len(x)):
            raise InputError(f"Give one or {len(x)} {what} for {len(x)} images; got {len(given)}.")
    drawn, rows = [], []
    for i in range(len(x)):
        ahead = None if aheads is None else aheads[i if len(aheads) > 1 else 0]
        found = boundary_map(named, x[i], None if dirs is None else dirs[i if len(dirs) > 1 else 0],
                             towards=ahead, extent=extent, resolution=resolution, seed=seed)
        strip = [("x", x[i])] + ([("towards", ahead)] if ahead is not None else [])
        row_labels = None if labels is None else [labels[i]] * len(strip)
        facts = _titles(first, torch.stack([s for _, s in strip]), row_labels, names)
        shown = []
        for (head, image), (text, colour, fact) in zip(strip, facts):
            shown.append((head, image, (f"#{i} {head}\n{text}" if head == "x" else f"{head}\n{text}",
                                        colour)))
            rows.append({"index": i, "panel": head, "classifier": next(iter(named)), **fact})
        drawn.append(MapImage(shown, found.maps, found.towards_u))
        rows += map_rows(i, found.maps, found.towards_u, "towards marker")
    along = ("u (towards)" if towards is not None else "u (along d)" if direction is not None
             else "u (random)")
    fig, present = draw_boundary_maps(drawn, names, width, "x (the image)",
                                      None if towards is None else "towards", (along, "v (random ⊥)"))
    rows += [{"panel": "legend", "class_index": c, "class": names[c]} for c in sorted(present)]
    prov = {"figure": "boundary-maps", "source": "tensors (analysis.api)", "n_images": len(x),
            "seeds": {"direction": seed}, "resolution": resolution, "extent": extent}
    return PaperFigure("boundary-maps", "boundary-maps", fig, rows, prov,
                       f"decision maps of {', '.join(named)} around {len(x)} image(s)")


@torch.no_grad()
def _examples_figure(images, classifier, labels, class_names, width, dpi) -> PaperFigure:
    columns = images if isinstance(images, dict) else {"image": images}
    columns = {str(h): as_batch(t, f"images of column {h!r}")[0].cpu() for h, t in columns.items()}
    first = next(iter(columns.values()))
    n = len(first)
    titles = [[None] * len(columns) for _ in range(n)]
    rows = []
    model = None if classifier is None else load_model(classifier).eval()
    names = list(class_names or []) or (None if model is None else [
        str(k) for k in range(model(first[:1].to(model_device(model))).shape[1])])
    for c, (head, batch) in enumerate(columns.items()):
        if len(batch) != n:
            raise InputError(f"Every column needs {n} images; {head!r} has {len(batch)}.")
        seen = batch if batch.shape[-2:] == first.shape[-2:] else F.interpolate(
            batch, size=first.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        facts = [None] * n if model is None else _titles(model, seen, labels, names)
        for r in range(n):
            titles[r][c] = None if facts[r] is None else facts[r][:2]
            rows.append({"row": r, "column": head, **({} if facts[r] is None else facts[r][2])})
    row_labels = [f"#{r}" + ("" if labels is None or names is None else f"\n{names[int(labels[r])]}")
                  for r in range(n)]
    size = max(max(t.shape[-2:]) for t in columns.values())
    fig, grid, panels = draw_examples([(h, list(t)) for h, t in columns.items()], row_labels,
                                      titles, width, dpi, size)
    prov = {"figure": "examples", "source": "tensors (analysis.api)", "n_images": n}
    return PaperFigure("examples", "examples", fig, rows, prov, f"{n} image(s), "
                       f"{len(columns)} column(s)", extra={"grid": grid, "panels": panels})


def figure(kind: str, images=None, *, classifiers=None, classifier=None, labels=None,
           class_names=None, direction=None, towards=None, extent: float | None = None,
           resolution: int | None = None, seed: int = 0, width: float = DEFAULT_WIDTH,
           dpi: int = DEFAULT_DPI, **options) -> PaperFigure:
    """A paper figure, from tensors and modules or (without ``images``) from the zoo.

    With ``images``: ``"boundary-maps"`` draws, per image, the image (and ``towards``) titled
    with the first classifier's top-1 class, then each classifier's decision map
    (:func:`boundary_map`); ``"examples"`` draws columns of images (a dict header -> (N, C, H,
    W)), each titled with ``classifier``'s top-1 class. Without ``images``, every kind of
    ``python -m analysis figure`` is built from the zoo and the result files, ``options``
    being that verb's (:class:`~analysis.reporting.paper.core.FigureOptions`: ``task``,
    ``indices``, ``filter``, ``results``, ...).

    Args:
        kind: ``"examples"``, ``"boundary-maps"``, ``"lambda"``, ``"transfer"``, ``"bd"``,
            ``"tsne"``, ``"quality"`` or ``"error-ranking"``.
        images: boundary-maps: (C, H, W) or (N, C, H, W) in [0, 1]; examples: a dict column
            header -> (N, C, h, w) in [0, 1] (or one tensor: one column).
        classifiers: boundary-maps: names, paths or modules (see :func:`boundary_map`).
        classifier: examples: whose predictions title the panels (none: no titles).
        labels: (N,) true classes: titles then say ✓ or ✗.
        class_names: names of the K classes (default "0" .. "K-1").
        direction: boundary-maps: the map's first direction, as :func:`boundary_map`.
        towards: boundary-maps: the image the first direction points to (marked on the map).
        extent: boundary-maps: the half-width of the map, [0,1]-pixel L2 (from the zoo, by
            default 4 x ||x_RA - x|| of each image; ``extent_ra=`` another multiple).
        resolution: boundary-maps: grid points per side (default 128).
        seed: boundary-maps: the random directions' seed.
        width: figure width in inches (default 6.75, a two-column page's full width).
        dpi: examples: the pixel grid (and PNG) resolution.

    Returns:
        A :class:`~analysis.reporting.paper.core.PaperFigure`: ``.figure`` (matplotlib),
        ``.rows`` (the plotted numbers); write it with :func:`save_figure`.

    Example:
        >>> fig = ra.figure("boundary-maps", x, classifiers=[my_net, "resnet20"])
        >>> ra.save_figure(fig, "maps.png")
    """
    if kind not in KINDS:
        raise unknown_name("figure kind", kind, list(KINDS))
    with paper_style():
        if images is None:
            tensors = [k for k, v in {"labels": labels, "class_names": class_names,
                                      "direction": direction, "towards": towards}.items()
                       if v is not None]
            if tensors:
                raise InputError(f"{', '.join(tensors)}: options of figures from images; give "
                                 "the images too.")
            fixed = {k: v for k, v in {"classifiers": classifiers, "classifier": classifier,
                                       "extent": extent, "resolution": resolution}.items()
                     if v is not None}
            return build_figure(kind, FigureOptions(width=width, dpi=dpi, seed=seed,
                                                    **fixed, **options))
        if options:
            raise InputError(f"{', '.join(options)}: options of zoo figures, not of figures "
                             "from images.")
        if kind == "boundary-maps":
            if classifiers is None:
                raise InputError("figure('boundary-maps', images) needs classifiers=.")
            return _maps_figure(classifiers, images, direction, towards, labels, class_names,
                                extent, resolution or MAP_RESOLUTION, seed, width)
        if kind == "examples":
            return _examples_figure(images, classifier, labels, class_names, width, dpi)
    raise InputError(f"Figure kind {kind!r} is drawn from result files, not from images; call "
                     f"figure({kind!r}, task=..., results=...) without images.")


def save_figure(fig: PaperFigure, path: str | Path, dpi: int = DEFAULT_DPI) -> list[Path]:
    """Write a figure file and the CSV of its plotted numbers beside it.

    Args:
        fig: a figure of :func:`figure`.
        path: ``NAME.pdf``, ``NAME.svg`` or ``NAME.png``; without one of these suffixes, all
            three are written (``path`` plus each suffix).
        dpi: pixels per inch of a PNG (vector formats are resolution-free).

    Returns:
        The paths written, the CSV last (the provenance is in each file's metadata).

    Example:
        >>> ra.save_figure(ra.figure("boundary-maps", x, classifiers="resnet20"), "maps.png")
        [PosixPath('maps.png'), PosixPath('maps.csv')]
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return _save_figure(fig, path.with_suffix(""), [suffix], dpi)
    return _save_figure(fig, path, FORMATS, dpi)
