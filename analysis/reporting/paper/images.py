"""Figures that run the zoo's models on a few chosen test images: ``examples`` (RA paper
Fig. 3) and ``boundary-maps`` (RA paper Fig. 4)."""

from __future__ import annotations

import numpy as np
import torch

from ...analyses.quality import task_slug
from ...errors import RAExplorerError, unknown_name
from ...pipeline.runner import CLEAN, NO_PROCESSING, processor_views, stream
from ..tables import METHOD_LABELS
from .core import FigureOptions, PaperFigure, figure_provenance, new_figure
from .layout import LINE_SPACING, Fitted, fit_all, map_grid, marker_size, text_width
from .selection import SEARCH_IMAGES, choose, record_table
from .style import CLASS_COLOURS, CORRECT, MIN_FONT_PT, WRONG


def column_label(zoo, name: str) -> str:
    """A processor's column header: its method's label (one per method), the loss grid's
    combination and loss network (``EP (rob.)``), else its name."""
    card = zoo.proc_cards[name]
    if card.get("selection") and (card.get("training") or {}).get("losses"):
        network = "rob." if card.get("method") == "robust-perceptual" else "std."
        return f"{card['training']['losses']} ({network})"
    if name == zoo.method_processor(card["method"]):
        return METHOD_LABELS.get(card.get("method"), name)
    return name


class Zoo:
    """The task, test split and checkpoints a figure runs (loaded on demand)."""

    def __init__(self, options: FigureOptions):
        from ...config import default_dataset
        from ...data.datasets import load_dataset
        from ...data.tasks import create_task
        from ...device import pick_device
        from ...zoo.catalogue import select_models
        from ...zoo.checkpoints import checkpoint_dir, collection_dirs

        self.options = options
        self.task = create_task(options.task)
        self.dataset = default_dataset(options.dataset)
        self.folder = checkpoint_dir(options.checkpoints)
        self.device = pick_device(options.device)
        self.test = load_dataset(self.dataset, "test", root=options.data_root)
        self.names = list(self.test.info.class_names)
        clf_cards, proc_cards = select_models(self.task.spec, self.dataset, self.folder)
        for collection in collection_dirs(self.folder).values():   # e.g. the loss grid's
            proc_cards += select_models(self.task.spec, self.dataset, collection)[1]
        self.clf_cards = {c["name"]: c for c in clf_cards}
        self.proc_cards = {c["name"]: c for c in proc_cards}
        if not self.clf_cards:
            raise RAExplorerError(f"No classifier for {self.dataset} in {self.folder}; train the "
                                  "zoo with 'python -m analysis build-zoo'.")

    def method_processor(self, method: str) -> str:
        name = f"{self.task.name}-{method}"
        if name in self.proc_cards:
            return name
        found = [n for n, c in self.proc_cards.items() if c.get("method") == method
                 and not (method == "plain" and c.get("lambda"))]
        if not found:
            raise RAExplorerError(f"No {method} processor for task {self.task.spec} in "
                                  f"{self.folder}; train it with 'python -m analysis build-zoo'.")
        return found[0]

    def classifier(self, name: str | None) -> str:
        if name is None:
            ra = self.proc_cards.get(self.method_processor("ra"), {})
            name = ra.get("source") if ra.get("source") in self.clf_cards else next(iter(self.clf_cards))
        if name not in self.clf_cards:
            raise unknown_name("classifier", name, list(self.clf_cards))
        return name

    def processors(self, names: list[str] | None) -> list[str]:
        names = names or [self.method_processor("plain"), self.method_processor("ra")]
        for n in names:
            if n not in self.proc_cards:
                raise unknown_name(f"processor of {self.task.spec}", n, list(self.proc_cards))
        return list(names)

    def load(self, kind_cards: dict, names: list[str]) -> dict[str, torch.nn.Module]:
        from ...zoo.checkpoints import load_models

        return load_models([kind_cards[n] for n in names], self.device)

    def digests(self, *names: str) -> dict[str, str]:
        cards = {**self.clf_cards, **self.proc_cards}
        return {n: cards[n]["weights"]["sha256"] for n in names}

    def indices(self, classifier: str, plain: str, ra: str, k: int) -> tuple[list[int], str]:
        """(--indices, "given") or (k images of --filter, default ra-right-plain-wrong, where)."""
        opts = self.options
        if opts.indices:
            bad = [i for i in opts.indices if not 0 <= i < len(self.test)]
            if bad:
                raise RAExplorerError(f"Test image index {bad[0]} is outside 0 to "
                                      f"{len(self.test) - 1}.")
            return list(opts.indices), "given by index"
        name = opts.filter or "ra-right-plain-wrong"

        def measure():
            from ...pipeline.records import RecordSink

            sink = RecordSink(self.load(self.clf_cards, [classifier]))
            procs = self.load(self.proc_cards, sorted({plain, ra}))
            for batch in stream(self.task, procs, self.test, self.device, 500, SEARCH_IMAGES,
                                shard=False):
                sink.add(batch)
            return sink.table(self.task.spec, self.dataset, "test")

        table, where = record_table(self.task.spec, self.dataset, opts.results_dir(), classifier,
                                    self.digests(classifier, plain, ra), measure)
        return choose(table, name, classifier, plain, ra, k, opts.seed), f"filter {name} on {where}"


class PlaneView:
    """What :func:`analysis.explore.workspace.plane_maps` reads of a workspace, from a
    :class:`Zoo` (only the plain and RA processors and the named classifiers are loaded)."""

    def __init__(self, zoo: Zoo, plain: str, ra: str, classifiers: list[str]):
        self.task, self.test = zoo.task, zoo.test
        self._plain, self._ra = plain, ra
        self.processors = zoo.load(zoo.proc_cards, sorted({plain, ra}))
        self.classifiers = zoo.load(zoo.clf_cards, list(dict.fromkeys(classifiers)))

    def plain_name(self) -> str:
        return self._plain

    def ra_name(self) -> str:
        return self._ra


def legend_columns(handles, width: float) -> int:
    """As many legend columns as the widest entry allows on ``width`` inches (at least one)."""
    widest = max(text_width(h.get_label(), 6.0) for h in handles) + 0.45   # handle and padding
    return max(1, min(len(handles), int((width - 0.1) // widest)))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8, rounded as the app's PNGs are."""
    arr = np.clip(np.round(image.detach().cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=0).transpose(1, 2, 0) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def pixel_grid(width: float, dpi: int, ncols: int, nrows: int, size: int,
               title_in: float = 0.12, header_in: float = 0.13) -> dict:
    """The examples layout on the PNG's pixel grid: every panel starts on a whole pixel and is
    ``scale * size`` pixels wide (``scale`` an integer), so a nearest-neighbour panel repeats
    each image pixel exactly ``scale`` times. ``title_in`` / ``header_in``: inches above each
    panel for its title and above the first row for the column headers. Lengths in pixels at
    ``dpi``."""
    W = round(width * dpi)
    left, right, gap = round(0.34 * dpi), round(0.02 * dpi), round(0.03 * dpi)
    title, header, bottom = round(title_in * dpi), round(header_in * dpi), round(0.02 * dpi)
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
            "left": left, "title": title, "header": header, "gap": gap}


@torch.inference_mode()
def build_examples(options: FigureOptions) -> PaperFigure:
    """Rows: test images; columns: clean, LQ, then each processor (default plain and RA); each
    panel nearest-neighbour on whole pixels, titled with ``--classifier``'s top-1 class (✓ and
    green when correct, ✗ and vermillion when wrong). Images chosen by ``--indices`` or by
    ``--filter`` (default ra-right-plain-wrong, ``--rows`` of them, seeded)."""
    zoo = Zoo(options)
    clf_name = zoo.classifier(options.classifier)
    procs = zoo.processors(options.processors)
    plain, ra = zoo.method_processor("plain"), zoo.method_processor("ra")
    indices, chosen_by = zoo.indices(clf_name, plain, ra, options.rows)
    clf = zoo.load(zoo.clf_cards, [clf_name])[clf_name]
    models = zoo.load(zoo.proc_cards, procs)
    batch = next(stream(zoo.task, models, zoo.test, zoo.device, len(indices), indices=indices,
                        seed=0, shard=False))
    columns = [CLEAN, NO_PROCESSING, *procs]
    headers = ["clean", "LQ input", *[column_label(zoo, p) for p in procs]]
    size = zoo.test.info.size
    probs = {inp: clf(batch.views[inp].machine).softmax(1) for inp in columns}
    preds = {inp: probs[inp].argmax(1).tolist() for inp in columns}
    marks = {inp: [("✓ " if p == int(y) else "✗ ") + zoo.names[p]
                   for p, y in zip(preds[inp], batch.labels)] for inp in columns}
    # headers and titles fitted to a panel and its gap (wrapped, else smaller, else upright)
    probe = pixel_grid(options.width, options.dpi, len(columns), len(indices), size)
    room = (probe["panel"] + probe["gap"] / 3) / options.dpi   # a third of the gap stays clear
    fitted = fit_all(headers, room, 7.0, bold=True)
    upright = fitted is None
    if upright:
        fitted = [Fitted(h, MIN_FONT_PT, 1) for h in headers]
        header_in = max(text_width(h, MIN_FONT_PT, True) for h in headers) + 0.06
    else:
        header_in = max(f.height for f in fitted) + 0.04
    titles = fit_all([t for inp in columns for t in marks[inp]], room, 6.0)
    title_in = max(f.height for f in titles) + 0.03 if titles else 0.12
    titles = iter(titles or [Fitted(t, 6.0, 1) for inp in columns for t in marks[inp]])
    grid = pixel_grid(options.width, options.dpi, len(columns), len(indices), size,
                      title_in=title_in, header_in=header_in)
    W, H = grid["width"], grid["height"]
    fig = new_figure(W / options.dpi, H / options.dpi, layout=None)
    rows, panels = [], []
    for c, (inp, head) in enumerate(zip(columns, fitted)):
        x, _ = grid["boxes"][(0, c)]
        fig.text((x + grid["panel"] / 2) / W, 1 - (grid["header"] / 2) / H, head.text,
                 ha="center", va="center", fontsize=head.size, fontweight="bold",
                 rotation=90 if upright else 0, linespacing=LINE_SPACING)
        views = batch.views[inp]
        for r, index in enumerate(indices):
            shown = batch.lq[r] if inp == NO_PROCESSING else views.human[r]
            pixels = to_uint8(shown)
            x, y = grid["boxes"][(r, c)]
            ax = fig.add_axes((x / W, 1 - (y + grid["panel"]) / H, grid["panel"] / W,
                               grid["panel"] / H))
            ax.imshow(pixels, interpolation="nearest", extent=(0, pixels.shape[1], pixels.shape[0], 0))
            ax.set_axis_off()
            pred = preds[inp][r]
            label = int(batch.labels[r])
            ok = pred == label
            title = next(titles)
            ax.set_title(title.text, fontsize=title.size, pad=1.5, linespacing=LINE_SPACING,
                         color=CORRECT if ok else WRONG)
            panels.append({"row": r, "column": c, "input": inp, "x": x, "y": y,
                           "scale": grid["panel"] // pixels.shape[1], "pixels": pixels})
            rows.append({"row": r, "index": index, "label": zoo.names[label], "input": inp,
                         "shown": "LQ input" if inp == NO_PROCESSING else "human view",
                         "prediction": zoo.names[pred], "probability": float(probs[inp][r, pred]),
                         "correct": ok, "classifier": clf_name,
                         "height_px": pixels.shape[0], "width_px": pixels.shape[1]})
        if c == 0:
            for r, index in enumerate(indices):
                _, y = grid["boxes"][(r, 0)]
                fig.text((grid["left"] * 0.45) / W, 1 - (y + grid["panel"] / 2) / H,
                         f"#{index}\n{zoo.names[int(batch.labels[r])]}", ha="center", va="center",
                         rotation=90, fontsize=6)
    title = (f"{zoo.task.spec}: test images ({chosen_by}), predictions of {clf_name}")
    prov = figure_provenance("examples", dataset=zoo.dataset, split="test", n_images=len(indices),
                             checkpoints=zoo.digests(clf_name, *procs),
                             seeds={"degradation": 0, "selection": options.seed},
                             device=zoo.device)
    prov["images"] = {"indices": indices, "chosen_by": chosen_by}
    return PaperFigure("examples", f"examples_{task_slug(zoo.task.spec)}_{clf_name}", fig, rows,
                       prov, title, extra={"grid": grid, "panels": panels, "indices": indices})


@torch.inference_mode()
def build_boundary_maps(options: FigureOptions) -> PaperFigure:
    """Per image (``--indices``, or one image of ``--filter``): the strip clean / plain output /
    RA output, then the 2-D decision map of each of ``--classifiers`` (default the RA source
    and two others) in the plane through the plain output along d_RA and a seeded random
    orthogonal direction (:func:`analysis.explore.workspace.plane_maps`); one class legend,
    the plain output (x) and the RA output (star) marked, axes in [0,1]-pixel L2."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ...explore.workspace import plane_maps

    zoo = Zoo(options)
    source = zoo.classifier(options.classifier)
    plain, ra = zoo.method_processor("plain"), zoo.method_processor("ra")
    clfs = options.classifiers or [source, *[n for n in zoo.clf_cards if n != source][:2]]
    for n in clfs:
        if n not in zoo.clf_cards:
            raise unknown_name("classifier", n, list(zoo.clf_cards))
    indices, chosen_by = zoo.indices(source, plain, ra, options.rows if options.filter else 1)
    ws = PlaneView(zoo, plain, ra, [source, *clfs])
    k = len(zoo.names)
    cmap = ListedColormap([CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in range(k)])
    # one row per image (strip, then maps) when the figure is wide enough, else the maps below
    layout = map_grid(options.width, len(indices), clfs)
    fig = new_figure(options.width, layout.height + 1.0, layout=None)
    boxes = []                                   # (axes, (x, y, side) in inches from the top)

    def place(r: int, c: int):
        x, y = layout.strip[r][c] if c < 3 else layout.maps[r][c - 3]
        side = layout.strip_size if c < 3 else layout.map_size
        ax = fig.add_axes((0, 0, 1, 1))
        boxes.append((ax, (x, y, side)))
        return ax
    rows, present = [], set()
    e = options.extent
    per_row = [y for _, y in layout.maps[0]]
    first_of_row = {i for i, y in enumerate(per_row) if i == 0 or y != per_row[i - 1]}
    for r, index in enumerate(indices):
        maps = plane_maps(ws, index, clfs, e, options.resolution,
                          direction_seed=options.seed * 1_000_003 + index)
        clean, label, _ = ws.test[index]
        lq = ws.task.degrade_eval(clean[None], [index])
        strip = {"clean": clean, "plain": processor_views(ws.processors[plain], lq).human[0],
                 "RA": processor_views(ws.processors[ra], lq).human[0]}
        src_model = ws.classifiers[source]
        for c, (head, image) in enumerate(strip.items()):
            ax = place(r, c)
            ax.imshow(to_uint8(image), interpolation="nearest")
            ax.set_axis_off()
            pred = int(src_model(image[None]).argmax(1))
            ok = pred == int(label)
            name = f"#{index} {head}" if c == 0 else head
            ax.set_title(f"{name}\n" + ("✓ " if ok else "✗ ") + zoo.names[pred], fontsize=6,
                         color=CORRECT if ok else WRONG, pad=2)
            rows.append({"index": index, "panel": head, "classifier": source,
                         "prediction": zoo.names[pred], "label": zoo.names[int(label)]})
        for c, name in enumerate(clfs, start=3):
            ax = place(r, c)
            dmap = maps["maps"][name]
            classes = dmap.classes.numpy()
            present |= set(np.unique(classes).tolist())
            us, vs = dmap.us.numpy(), dmap.vs.numpy()
            ax.imshow(classes, origin="lower", cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                      extent=(us[0], us[-1], vs[0], vs[-1]), interpolation="nearest",
                      aspect="equal")
            # the two markers as large as they can be without covering each other
            mark = marker_size(maps["ra_length"] / (us[-1] - us[0]) * layout.map_size * 72)
            ax.plot([0], [0], marker="x", color="black", markersize=mark,
                    markeredgewidth=0.8, linestyle="")
            ax.plot([maps["ra_length"]], [0], marker="*", color="white", markeredgecolor="black",
                    markeredgewidth=0.5, markersize=mark * 1.3, linestyle="")
            title = layout.titles[c - 3]
            ax.set_title(title.text, fontsize=title.size, pad=2)
            if c - 3 in first_of_row:
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
    rows += [{"panel": "legend", "class_index": c, "class": zoo.names[c]} for c in sorted(present)]
    handles = [Patch(facecolor=CLASS_COLOURS[c % len(CLASS_COLOURS)], edgecolor="black",
                     linewidth=0.3, label=zoo.names[c]) for c in sorted(present)]
    handles += [Line2D([], [], marker="x", color="black", linestyle="", markersize=4,
                       markeredgewidth=0.8, label=f"plain output ({plain})"),
                Line2D([], [], marker="*", color="white", markeredgecolor="black",
                       markeredgewidth=0.5, linestyle="", markersize=6, label=f"RA output ({ra})")]
    legend = fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0),
                        ncols=legend_columns(handles, options.width),
                        title="class; u and v in [0,1]-pixel L2")
    legend_h = legend.get_window_extent(FigureCanvasAgg(fig).get_renderer()).height / fig.dpi
    height = layout.height + legend_h + 0.06
    fig.set_size_inches(options.width, height)
    for ax, (x, y, side) in boxes:
        ax.set_position((x / options.width, 1 - (y + side) / height, side / options.width,
                         side / height))
    title = (f"{zoo.task.spec}: decision maps around the {plain} output along d_RA (towards "
             f"{ra}), images {', '.join(map(str, indices))} ({chosen_by})")
    prov = figure_provenance("boundary-maps", dataset=zoo.dataset, split="test",
                             n_images=len(indices), checkpoints=zoo.digests(*clfs, plain, ra),
                             seeds={"degradation": 0, "direction": options.seed,
                                    "selection": options.seed}, device=zoo.device)
    prov["images"] = {"indices": indices, "chosen_by": chosen_by, "extent": e,
                      "resolution": options.resolution}
    return PaperFigure("boundary-maps", f"boundary-maps_{task_slug(zoo.task.spec)}", fig, rows,
                       prov, title, extra={"indices": indices, "classifiers": clfs})
