"""Figures that run the zoo's models on a few chosen test images: ``examples`` (RA paper
Fig. 3) and ``boundary-maps`` (RA paper Fig. 4)."""

from __future__ import annotations

import numpy as np
import torch

from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ...explore.plane import extent_for, image_plane, plane_maps
from ...methods import METHOD_LABELS
from ...palette import class_colour
from ...pipeline.runner import CLEAN, NO_PROCESSING, processor_views
from ...pipeline.setting import Setting
from ...zoo.catalogue import COLLECTIONS
from .core import FigureOptions, PaperFigure, figure_provenance, new_figure
from .selection import SEARCH_IMAGES, choose, record_table
from .style import CORRECT, WRONG, class_cmap


def column_label(setting: Setting, name: str) -> str:
    """A processor's column header: its method's label (one per method), the loss grid's
    combination and loss network (``EP (rob.)``), else its name."""
    card = setting.processor_cards[name]
    if card.get("selection") and (card.get("training") or {}).get("losses"):
        network = "rob." if card.get("method") == "robust-perceptual" else "std."
        return f"{card['training']['losses']} ({network})"
    if name == method_processor(setting, card["method"]):
        return METHOD_LABELS.get(card.get("method"), name)
    return name


def figure_setting(options: FigureOptions) -> Setting:
    """The :class:`~analysis.pipeline.setting.Setting` a figure runs: the options' task,
    dataset, checkpoints, device and data root, with the zoo's classifiers and the processors
    of the zoo and of every collection selected (models load on demand)."""
    setting = Setting(options.task, options.dataset, options.checkpoints, options.device,
                      options.data_root)
    _ = setting.test   # the split loads first: a missing dataset fails before the zoo is read
    setting.select(collections=COLLECTIONS)   # e.g. the loss grid's processors
    if not setting.classifier_cards:
        raise RAExplorerError(f"No classifier for {setting.dataset} in {setting.folder}; train "
                              "the zoo with 'python -m analysis build-zoo'.")
    return setting


def method_processor(setting: Setting, method: str) -> str:
    """The processor of ``method``: ``<task>-<method>``, else the first card of the method
    (a plain one without lambda)."""
    name = f"{setting.task.name}-{method}"
    if name in setting.processor_cards:
        return name
    found = [n for n, c in setting.processor_cards.items() if c.get("method") == method
             and not (method == "plain" and c.get("lambda"))]
    if not found:
        raise RAExplorerError(f"No {method} processor for task {setting.task.spec} in "
                              f"{setting.folder}; train it with 'python -m analysis build-zoo'.")
    return found[0]


def figure_classifier(setting: Setting, name: str | None) -> str:
    """``name`` (checked), or by default the RA processor's source (else the first classifier)."""
    clfs = setting.classifier_cards
    if name is None:
        ra = setting.processor_cards.get(method_processor(setting, "ra"), {})
        name = ra.get("source") if ra.get("source") in clfs else next(iter(clfs))
    if name not in clfs:
        raise unknown_name("classifier", name, list(clfs))
    return name


def figure_processors(setting: Setting, names: list[str] | None) -> list[str]:
    """``names`` (checked), or by default the plain and the RA processor."""
    names = names or [method_processor(setting, "plain"), method_processor(setting, "ra")]
    for n in names:
        if n not in setting.processor_cards:
            raise unknown_name(f"processor of {setting.task.spec}", n,
                               list(setting.processor_cards))
    return list(names)


def figure_indices(setting: Setting, options: FigureOptions, classifier: str, plain: str,
                   ra: str, k: int) -> tuple[list[int], str]:
    """(--indices, "given") or (k images of --filter, default ra-right-plain-wrong, where)."""
    if options.indices:
        bad = [i for i in options.indices if not 0 <= i < len(setting.test)]
        if bad:
            raise RAExplorerError(f"Test image index {bad[0]} is outside 0 to "
                                  f"{len(setting.test) - 1}.")
        return list(options.indices), "given by index"
    name = options.filter or "ra-right-plain-wrong"

    def measure():
        return setting.records(setting.models([classifier]), setting.models(sorted({plain, ra})),
                               SEARCH_IMAGES)

    table, where = record_table(setting.task.spec, setting.dataset, options.results_dir(),
                                classifier, setting.digests(classifier, plain, ra), measure)
    return (choose(table, name, classifier, plain, ra, k, options.seed),
            f"filter {name} on {where}")


STACK_BELOW_IN = 0.75   # boundary-maps: narrower columns than this put the maps on a row of their own


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8, rounded as the app's PNGs are."""
    arr = np.clip(np.round(image.detach().cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=0).transpose(1, 2, 0) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def pixel_grid(width: float, dpi: int, ncols: int, nrows: int, size: int) -> dict:
    """The examples layout on the PNG's pixel grid: every panel starts on a whole pixel and is
    ``scale * size`` pixels wide (``scale`` an integer), so a nearest-neighbour panel repeats
    each image pixel exactly ``scale`` times. Lengths in pixels at ``dpi``."""
    W = round(width * dpi)
    left, right, gap = round(0.34 * dpi), round(0.02 * dpi), round(0.03 * dpi)
    title, header, bottom = round(0.12 * dpi), round(0.13 * dpi), round(0.02 * dpi)
    scale = (W - left - right - gap * (ncols - 1)) // (ncols * size)
    if scale < 1:
        raise RAExplorerError(f"{ncols} panels of {size} pixels do not fit a {width:g}-inch "
                              f"figure at {dpi} dpi; use a wider figure, a higher --dpi or fewer "
                              "processors.")
    panel = scale * size
    H = header + nrows * (title + panel) + (nrows - 1) * gap + bottom
    boxes = {(r, c): (left + c * (panel + gap), header + r * (title + panel + gap) + title)
             for r in range(nrows) for c in range(ncols)}   # (x, y) of the top-left, from the top
    return {"width": W, "height": H, "scale": scale, "panel": panel, "boxes": boxes,
            "left": left, "title": title, "header": header}


@torch.inference_mode()
def build_examples(options: FigureOptions) -> PaperFigure:
    """Rows: test images; columns: clean, LQ, then each processor (default plain and RA); each
    panel nearest-neighbour on whole pixels, titled with ``--classifier``'s top-1 class (✓ and
    green when correct, ✗ and vermillion when wrong). Images chosen by ``--indices`` or by
    ``--filter`` (default ra-right-plain-wrong, ``--rows`` of them, seeded)."""
    setting = figure_setting(options)
    names = list(setting.info.class_names)
    clf_name = figure_classifier(setting, options.classifier)
    procs = figure_processors(setting, options.processors)
    plain, ra = method_processor(setting, "plain"), method_processor(setting, "ra")
    indices, chosen_by = figure_indices(setting, options, clf_name, plain, ra, options.rows)
    clf = setting.models([clf_name])[clf_name]
    batch = next(setting.batches(setting.models(procs), batch_size=len(indices),
                                 indices=indices, seed=0, shard=False))
    columns = [CLEAN, NO_PROCESSING, *procs]
    headers = ["clean", "LQ input", *[column_label(setting, p) for p in procs]]
    size = setting.info.size
    grid = pixel_grid(options.width, options.dpi, len(columns), len(indices), size)
    W, H = grid["width"], grid["height"]
    fig = new_figure(W / options.dpi, H / options.dpi, layout=None)
    rows, panels = [], []
    for c, (inp, head) in enumerate(zip(columns, headers)):
        x, _ = grid["boxes"][(0, c)]
        fig.text((x + grid["panel"] / 2) / W, 1 - (grid["header"] / 2) / H, head, ha="center",
                 va="center", fontsize=7, fontweight="bold")
        views = batch.views[inp]
        probs = clf(views.machine).softmax(1)
        for r, index in enumerate(indices):
            shown = batch.lq[r] if inp == NO_PROCESSING else views.human[r]
            pixels = to_uint8(shown)
            x, y = grid["boxes"][(r, c)]
            ax = fig.add_axes((x / W, 1 - (y + grid["panel"]) / H, grid["panel"] / W,
                               grid["panel"] / H))
            ax.imshow(pixels, interpolation="nearest", extent=(0, pixels.shape[1], pixels.shape[0], 0))
            ax.set_axis_off()
            pred = int(probs[r].argmax())
            label = int(batch.labels[r])
            ok = pred == label
            ax.set_title(("✓ " if ok else "✗ ") + names[pred], fontsize=6, pad=1.5,
                         color=CORRECT if ok else WRONG)
            panels.append({"row": r, "column": c, "input": inp, "x": x, "y": y,
                           "scale": grid["panel"] // pixels.shape[1], "pixels": pixels})
            rows.append({"row": r, "index": index, "label": names[label], "input": inp,
                         "shown": "LQ input" if inp == NO_PROCESSING else "human view",
                         "prediction": names[pred], "probability": float(probs[r, pred]),
                         "correct": ok, "classifier": clf_name,
                         "height_px": pixels.shape[0], "width_px": pixels.shape[1]})
        if c == 0:
            for r, index in enumerate(indices):
                _, y = grid["boxes"][(r, 0)]
                fig.text((grid["left"] * 0.45) / W, 1 - (y + grid["panel"] / 2) / H,
                         f"#{index}\n{names[int(batch.labels[r])]}", ha="center", va="center",
                         rotation=90, fontsize=6)
    title = (f"{setting.task.spec}: test images ({chosen_by}), predictions of {clf_name}")
    prov = figure_provenance("examples", dataset=setting.dataset, split="test",
                             n_images=len(indices), checkpoints=setting.digests(clf_name, *procs),
                             seeds={"degradation": 0, "selection": options.seed},
                             device=setting.device)
    prov["images"] = {"indices": indices, "chosen_by": chosen_by}
    return PaperFigure("examples", f"examples_{task_slug(setting.task.spec)}_{clf_name}", fig, rows,
                       prov, title, extra={"grid": grid, "panels": panels, "indices": indices})


@torch.inference_mode()
def build_boundary_maps(options: FigureOptions) -> PaperFigure:
    """Per image (``--indices``, or one image of ``--filter``): the strip clean / plain output /
    RA output, then the 2-D decision map of each of ``--classifiers`` (default the RA source
    and two others) in the plane through the plain output along d_RA and a seeded random
    orthogonal direction (:func:`analysis.explore.plane.plane_maps`); one class legend,
    the plain output (x) and the RA output (star) marked, axes in [0,1]-pixel L2. The maps
    span ± ``extent`` ([0,1]-pixel L2), or ± ``extent_ra`` x ||x_RA - x|| of each image when
    that is set (the app's unit)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    setting = figure_setting(options)
    names = list(setting.info.class_names)
    source = figure_classifier(setting, options.classifier)
    plain, ra = method_processor(setting, "plain"), method_processor(setting, "ra")
    clfs = options.classifiers or [source, *[n for n in setting.classifier_cards
                                             if n != source][:2]]
    for n in clfs:
        if n not in setting.classifier_cards:
            raise unknown_name("classifier", n, list(setting.classifier_cards))
    indices, chosen_by = figure_indices(setting, options, source, plain, ra,
                                        options.rows if options.filter else 1)
    procs = setting.models(sorted({plain, ra}))
    classifiers = setting.models([source, *clfs])
    k = len(names)
    cmap = class_cmap(k)
    # one row per image (strip, then maps) when the figure is wide enough, else two rows
    stacked = options.width / (3 + len(clfs)) < STACK_BELOW_IN
    ncols = max(3, len(clfs)) if stacked else 3 + len(clfs)
    per_image = 2 if stacked else 1
    fig = new_figure(options.width,
                     len(indices) * per_image * (options.width / ncols + 0.5) + 0.45)
    grid = fig.subplots(len(indices) * per_image, ncols, squeeze=False)
    for ax in grid.flat:
        ax.set_visible(False)

    def place(r: int, c: int):
        ax = grid[r * 2 + (c >= 3), c - 3 * (c >= 3)] if stacked else grid[r, c]
        ax.set_visible(True)
        return ax
    rows, present = [], set()
    extents = []
    for r, index in enumerate(indices):
        clean, label, _ = setting.test[index]
        plane = image_plane(setting.task, clean, index, procs[plain], procs[ra],
                            direction_seed=options.seed * 1_000_003 + index)
        e = (options.extent if options.extent_ra is None
             else extent_for(options.extent_ra, plane.ra_length))
        extents.append(e)
        maps = plane_maps(plane, {n: classifiers[n] for n in clfs}, e, options.resolution)
        lq = setting.task.degrade_eval(clean[None], [index])
        strip = {"clean": clean, "plain": processor_views(procs[plain], lq).human[0],
                 "RA": processor_views(procs[ra], lq).human[0]}
        src_model = classifiers[source]
        for c, (head, image) in enumerate(strip.items()):
            ax = place(r, c)
            ax.imshow(to_uint8(image), interpolation="nearest")
            ax.set_axis_off()
            pred = int(src_model(image[None]).argmax(1))
            ok = pred == int(label)
            name = f"#{index} {head}" if c == 0 else head
            ax.set_title(f"{name}\n" + ("✓ " if ok else "✗ ") + names[pred], fontsize=6,
                         color=CORRECT if ok else WRONG, pad=2)
            rows.append({"index": index, "panel": head, "classifier": source,
                         "prediction": names[pred], "label": names[int(label)]})
        for c, name in enumerate(clfs, start=3):
            ax = place(r, c)
            dmap = maps["maps"][name]
            classes = dmap.classes.numpy()
            present |= set(np.unique(classes).tolist())
            us, vs = dmap.us.numpy(), dmap.vs.numpy()
            ax.imshow(classes, origin="lower", cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                      extent=(us[0], us[-1], vs[0], vs[-1]), interpolation="nearest",
                      aspect="equal")
            ax.plot([0], [0], marker="X", color="black", markersize=4, linestyle="")
            ax.plot([maps["ra_length"]], [0], marker="*", color="white", markeredgecolor="black",
                    markeredgewidth=0.5, markersize=6, linestyle="")
            ax.set_title(name)
            if c == 3:
                ax.set_xlabel("u (along d_RA)")
                ax.set_ylabel("v (random ⊥)")
            else:
                ax.set_yticklabels([])
            rows.append({"index": index, "panel": "RA output", "classifier": name,
                         "u": maps["ra_length"], "v": 0.0})
            rows += [{"index": index, "panel": "map", "classifier": name,
                      "u": float(f"{us[j]:.6g}"), "v": float(f"{vs[i]:.6g}"),
                      "class_index": int(classes[i, j])}
                     for i in range(len(vs)) for j in range(len(us))]
    rows += [{"panel": "legend", "class_index": c, "class": names[c]} for c in sorted(present)]
    handles = [Patch(facecolor=class_colour(c), edgecolor="black",
                     linewidth=0.3, label=names[c]) for c in sorted(present)]
    handles += [Line2D([], [], marker="X", color="black", linestyle="", markersize=4,
                       label=f"plain output ({plain})"),
                Line2D([], [], marker="*", color="white", markeredgecolor="black",
                       markeredgewidth=0.5, linestyle="", markersize=6, label=f"RA output ({ra})")]
    fig.legend(handles=handles, loc="outside lower center",
               ncols=max(1, min(len(handles), int(options.width / 1.15))),
               title="class; u and v in [0,1]-pixel L2")
    title = (f"{setting.task.spec}: decision maps around the {plain} output along d_RA (towards "
             f"{ra}), images {', '.join(map(str, indices))} ({chosen_by})")
    prov = figure_provenance("boundary-maps", dataset=setting.dataset, split="test",
                             n_images=len(indices), checkpoints=setting.digests(*clfs, plain, ra),
                             seeds={"degradation": 0, "direction": options.seed,
                                    "selection": options.seed}, device=setting.device)
    prov["images"] = {"indices": indices, "chosen_by": chosen_by,
                      "extent": extents[0] if len(set(extents)) == 1 else extents,
                      **({} if options.extent_ra is None else {"extent_ra": options.extent_ra}),
                      "resolution": options.resolution}
    return PaperFigure("boundary-maps", f"boundary-maps_{task_slug(setting.task.spec)}", fig, rows,
                       prov, title, extra={"indices": indices, "classifiers": clfs})
