"""Figures that run the zoo's models on a few chosen test images: ``examples`` (RA paper
Fig. 3) and ``boundary-maps`` (RA paper Fig. 4). This module chooses the images and runs the
models; :mod:`.panels` draws."""

from __future__ import annotations

import torch

from ...data.folders import zoo_advice
from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ...explore.plane import extent_for, image_plane, plane_maps
from ...methods import METHOD_LABELS
from ...pipeline.runner import CLEAN, NO_PROCESSING, processor_views
from ...pipeline.setting import Setting
from ...zoo.catalogue import COLLECTIONS
from .core import FigureOptions, PaperFigure, figure_provenance
from .panels import MapImage, draw_boundary_maps, draw_examples
from .selection import SEARCH_IMAGES, choose, record_table
from .style import CORRECT, WRONG


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
        raise RAExplorerError(f"No classifier for {setting.dataset} in {setting.folder}; "
                              + zoo_advice(setting.dataset, setting.folder, setting.task.spec)
                              + ".")
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
        source = next(iter(setting.classifier_cards), "resnet20")
        advice = zoo_advice(setting.dataset, setting.folder, setting.task.spec,
                            (method,) if method in ("plain", "ra") else ("plain", "ra"), source,
                            what="it")
        raise RAExplorerError(f"No {method} processor for task {setting.task.spec} in "
                              f"{setting.folder}; {advice}.")
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
    inputs = [CLEAN, NO_PROCESSING, *procs]
    headers = ["clean", "LQ input", *[column_label(setting, p) for p in procs]]
    labels = [int(y) for y in batch.labels]
    columns, titles, rows = [], [[] for _ in indices], []
    for inp, head in zip(inputs, headers):
        views = batch.views[inp]
        probs = clf(views.machine).softmax(1)
        columns.append((head, [batch.lq[r] if inp == NO_PROCESSING else views.human[r]
                               for r in range(len(indices))]))
        for r, index in enumerate(indices):
            pred = int(probs[r].argmax())
            ok = pred == labels[r]
            titles[r].append((("✓ " if ok else "✗ ") + names[pred], CORRECT if ok else WRONG))
            rows.append({"row": r, "index": index, "label": names[labels[r]], "input": inp,
                         "shown": "LQ input" if inp == NO_PROCESSING else "human view",
                         "prediction": names[pred], "probability": float(probs[r, pred]),
                         "correct": ok, "classifier": clf_name,
                         "height_px": columns[-1][1][r].shape[-2],
                         "width_px": columns[-1][1][r].shape[-1]})
    fig, grid, panels = draw_examples(columns, [f"#{i}\n{names[y]}" for i, y in zip(indices, labels)],
                                      titles, options.width, options.dpi, setting.info.size)
    for panel in panels:
        panel["input"] = inputs[panel["column"]]
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
    span ± ``extent_ra`` x ||x_RA - x|| of each image (the app's unit; by default
    :data:`~analysis.analyses.boundary_defaults.EXTENT_MULTIPLE`, so that both outputs lie
    inside at any image size), or ± ``extent`` ([0,1]-pixel L2) when that is given.
    ``extra``: the indices, classifiers, and per image its ``ra_length`` (||x_RA - x||) and
    ``extent``."""
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
    rows, drawn, extents, ra_lengths = [], [], [], []
    for index in indices:
        clean, label, _ = setting.test[index]
        plane = image_plane(setting.task, clean, index, procs[plain], procs[ra],
                            direction_seed=options.seed * 1_000_003 + index)
        multiple = options.extent_multiple()
        e = options.extent if multiple is None else extent_for(multiple, plane.ra_length)
        extents.append(e)
        ra_lengths.append(float(plane.ra_length))
        maps = plane_maps(plane, {n: classifiers[n] for n in clfs}, e, options.resolution)
        lq = setting.task.degrade_eval(clean[None], [index])
        strip = []
        for c, (head, image) in enumerate({
                "clean": clean, "plain": processor_views(procs[plain], lq).human[0],
                "RA": processor_views(procs[ra], lq).human[0]}.items()):
            pred = int(classifiers[source](image[None]).argmax(1))
            ok = pred == int(label)
            name = f"#{index} {head}" if c == 0 else head
            strip.append((head, image, (f"{name}\n" + ("✓ " if ok else "✗ ") + names[pred],
                                        CORRECT if ok else WRONG)))
            rows.append({"index": index, "panel": head, "classifier": source,
                         "prediction": names[pred], "label": names[int(label)]})
        drawn.append(MapImage(strip, maps["maps"], maps["ra_length"]))
        rows += map_rows(index, maps["maps"], maps["ra_length"])
    fig, present = draw_boundary_maps(drawn, names, options.width, f"plain output ({plain})",
                                      f"RA output ({ra})", ("u (along d_RA)", "v (random ⊥)"))
    rows += [{"panel": "legend", "class_index": c, "class": names[c]} for c in sorted(present)]
    title = (f"{setting.task.spec}: decision maps around the {plain} output along d_RA (towards "
             f"{ra}), images {', '.join(map(str, indices))} ({chosen_by})")
    prov = figure_provenance("boundary-maps", dataset=setting.dataset, split="test",
                             n_images=len(indices), checkpoints=setting.digests(*clfs, plain, ra),
                             seeds={"degradation": 0, "direction": options.seed,
                                    "selection": options.seed}, device=setting.device)
    prov["images"] = {"indices": indices, "chosen_by": chosen_by,
                      "extent": extents[0] if len(set(extents)) == 1 else extents,
                      **({} if options.extent_multiple() is None
                         else {"extent_ra": options.extent_multiple()}),
                      "resolution": options.resolution}
    return PaperFigure("boundary-maps", f"boundary-maps_{task_slug(setting.task.spec)}", fig, rows,
                       prov, title, extra={"indices": indices, "classifiers": clfs,
                                           "ra_length": ra_lengths, "extent": extents})


def map_rows(index: int, maps: dict, star_u: float | None, star: str = "RA output") -> list[dict]:
    """The CSV rows of one image's decision maps (name -> DecisionMap): per classifier the star
    marker (panel ``star``, when there is one), then every grid point with its class."""
    rows = []
    for name, dmap in maps.items():
        classes, us, vs = dmap.classes.numpy(), dmap.us.numpy(), dmap.vs.numpy()
        if star_u is not None:
            rows.append({"index": index, "panel": star, "classifier": name,
                         "u": star_u, "v": 0.0})
        rows += [{"index": index, "panel": "map", "classifier": name,
                  "u": float(f"{us[j]:.6g}"), "v": float(f"{vs[i]:.6g}"),
                  "class_index": int(classes[i, j])}
                 for i in range(len(vs)) for j in range(len(us))]
    return rows
