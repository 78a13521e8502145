"""What a trial shows, and studies created from the zoo.

Images come from an :class:`~analysis.explore.Workspace`: a method name is a
processor of the task (its output as a person sees it), ``@reference`` the
clean image and ``@degraded`` the clean image with heavy Gaussian noise
(sigma 0.3, seeded by the image index) for catch trials.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.tasks import index_seed
from ..errors import RAExplorerError
from ..explore.encoders import to_numpy
from ..explore.plane import image_boundary_distances, image_plane
from ..pipeline.runner import processor_views, stream
from . import balance, display, handout, validate, visibility
from .design import (
    DEGRADED,
    KINDS,
    REFERENCE,
    create_study,
    design_2afc,
    design_label,
    design_practice,
)

CATCH_NOISE = 0.3


@torch.no_grad()
def render(workspace, image_index: int, what: str) -> np.ndarray:
    """The image named ``what`` for test image ``image_index``: (H, W) or (H, W, 3) in [0, 1]."""
    clean, _, _ = workspace.test[image_index]
    if what == REFERENCE:
        return to_numpy(clean)
    if what == DEGRADED:
        gen = torch.Generator().manual_seed(index_seed(image_index, 99))
        return to_numpy((clean + CATCH_NOISE * torch.randn(clean.shape, generator=gen)).clamp(0, 1))
    if what not in workspace.processors:
        raise KeyError(f"The study shows {what!r}, which is not a processor of this task.")
    lq = workspace.task.degrade_eval(clean[None], [image_index])
    return to_numpy(processor_views(workspace.processors[what], lq).human[0])


def render_blend(workspace, image_index: int, plain: str, ra: str, a: float) -> np.ndarray:
    """The blend x_plain + a (x_RA - x_plain) of two processors' outputs (a visibility trial)."""
    return visibility.blend(render(workspace, image_index, plain),
                            render(workspace, image_index, ra), a)


IMAGE_CHOICES = ("random", "stratified", "ra-right-plain-wrong", "plain-wrong",
                 "methods-disagree")
CHUNK = 256          # test images per forward pass while screening (bounded memory)
SCREEN_LIMIT = 2000  # the first N test images are screened for labels and filters


@torch.no_grad()
def screen(workspace, classifier: str, methods: list[str], want, limit: int = SCREEN_LIMIT,
           progress=None) -> list[dict]:
    """Predicted labels of ``methods`` on the first ``limit`` test images, in chunks, stopping
    as soon as ``want(rows)`` is true.

    Only the named processors run (the workspace's ``predictions`` runs every processor of
    the task on all 2,000 images in one batch). Rows are
    ``{"image_index", "label", <method>: predicted class}`` in index order, so a study
    designed from them is the same however early the screening stops.
    ``progress(done, total)`` is called after every chunk. Predictions are kept on the
    workspace, so a second study on the same methods screens nothing again.
    """
    clf = workspace.classifiers[classifier]
    cache = workspace.__dict__.setdefault("_survey_screen", {})   # per (classifier, method)
    n = min(limit, len(workspace.test))
    todo = {m: workspace.processors[m] for m in methods
            if len(cache.setdefault((classifier, m), [])) < n}     # not screened yet
    rows: list[dict] = []
    batches = stream(workspace.task, todo, workspace.test, workspace.device, CHUNK, n,
                     include_clean=False, shard=False)
    for start in range(0, n, CHUNK):
        idx = torch.arange(start, min(start + CHUNK, n))
        labels = workspace.test.labels[idx]
        if todo:
            batch = next(batches)
            for m in todo:
                known = cache[(classifier, m)]
                known[start:start + len(idx)] = clf(batch.views[m].machine).argmax(1).tolist()
        preds = {m: cache[(classifier, m)][start:start + len(idx)] for m in methods}
        for k, i in enumerate(idx.tolist()):
            rows.append({"image_index": i, "label": int(labels[k]),
                         **{m: int(preds[m][k]) for m in methods}})
        if progress is not None:
            progress(min(start + CHUNK, n), n)
        if want(rows):
            break
    return rows


def label_items(workspace, classifier: str, plain: str, ra: str, limit: int = SCREEN_LIMIT,
                needed: int | None = None, progress=None) -> list[dict]:
    """Test images whose plain and RA outputs get different labels from ``classifier``
    (the first ``needed`` of them, screening no further than that)."""
    def differ(rows):
        return [r for r in rows if r[plain] != r[ra]]

    rows = screen(workspace, classifier, [plain, ra],
                  lambda rows: needed is not None and len(differ(rows)) >= needed, limit, progress)
    return [{"image_index": r["image_index"], "label": r["label"], "label_plain": r[plain],
             "label_ra": r[ra]} for r in differ(rows)][:needed]


def choose_images(workspace, how: str, n: int, seed: int, methods: list[str],
                  classifier: str | None = None, progress=None) -> list[int]:
    """``n`` test indices: ``random``, ``stratified`` (the same number per class, seeded), or
    a filter of the explorer on the study's methods (the first of them taken as plain, the
    second as RA): ``ra right, plain wrong``, ``plain wrong``, ``methods disagree``."""
    if how == "random":
        return workspace.random_indices(n, seed)
    if how == "stratified":
        labels = workspace.labels()
        classes = sorted(set(labels.tolist()))
        g = torch.Generator().manual_seed(seed)
        per = [torch.nonzero(labels == c).flatten() for c in classes]
        per = [p[torch.randperm(len(p), generator=g)].tolist() for p in per]
        out = [per[k % len(classes)][k // len(classes)] for k in range(n)
               if k // len(classes) < len(per[k % len(classes)])]
        return out
    if how not in IMAGE_CHOICES:
        raise RAExplorerError(f"Unknown image choice {how!r}; use one of {', '.join(IMAGE_CHOICES)}.")
    if classifier is None or classifier not in workspace.classifiers:
        raise RAExplorerError(f"The filter {how!r} needs a classifier of the zoo; use one of "
                              f"{', '.join(workspace.classifiers)}.")
    plain, ra = methods[0], methods[1] if len(methods) > 1 else methods[0]
    tests = {"ra-right-plain-wrong": lambda r: r[ra] == r["label"] and r[plain] != r["label"],
             "plain-wrong": lambda r: r[plain] != r["label"],
             "methods-disagree": lambda r: len({r[m] for m in methods}) > 1}
    match = tests[how]
    rows = screen(workspace, classifier, list(dict.fromkeys(methods)),
                  lambda rows: sum(map(match, rows)) >= n, progress=progress)
    found = [r["image_index"] for r in rows if match(r)][:n]
    if not found:
        raise RAExplorerError(f"No test image among the first {SCREEN_LIMIT:,} matches "
                              f"{how!r} for these methods.")
    return found


def design_from_zoo(workspace, kind: str, methods: list[str], n_images: int = 50,
                    n_trials: int = 60, catch_rate: float = 0.1, seed: int = 0,
                    classifier: str | None = None, images: str = "random", n_practice: int = 0,
                    progress=None, n_catch: int | None = None, blocks: int = 1,
                    sides: bool = False,
                    abandon_after_min: float = balance.DEFAULT_ABANDON_MIN,
                    display_check: str = "ignore", afc: int = 2, trials_per_image: int = 20,
                    pairs: str = "uniform", batch: int = handout.DEFAULT_BATCH,
                    ) -> tuple[list[dict], list[dict], dict]:
    """(trials, practice trials, config) of a study on the workspace's task, not stored.

    ``n_trials`` regular trials and ``n_catch`` catch trials (by default ``catch_rate`` of
    all trials; :func:`analysis.survey.design.split_total` splits a total that includes them).
    ``images``: how the 2AFC images are chosen (:data:`IMAGE_CHOICES`); ``n_practice``
    practice trials come first. ``progress(done, total)`` reports the screening of a
    label study or an image filter. Counterbalancing (:mod:`analysis.survey.balance`): the
    trials cut into ``blocks`` blocks ordered by a balanced latin square, each order with
    its sides swapped too when ``sides``; a session idle ``abandon_after_min`` minutes is
    reassigned. ``display_check``: flag, refuse or ignore a rater whose browser resamples
    the stimuli (:mod:`analysis.survey.display`). A ``visibility`` study (methods: plain,
    then RA) runs an ``afc``-alternative staircase of ``trials_per_image`` trials on each of
    ``n_images`` images (``n_trials`` and the catch rate do not apply;
    :mod:`analysis.survey.visibility`). ``pairs``: a 2AFC study's method pairs ``uniform``
    (every pair equally often, designed ahead) or ``active`` (each regular trial's pair chosen
    when first shown, in batches of ``batch`` by expected information gain;
    :mod:`analysis.survey.handout`).
    """
    if kind not in KINDS:
        raise RAExplorerError(f"Unknown study kind {kind!r}; use one of {', '.join(KINDS)}.")
    for number, what in ((n_images, "images"), (n_trials, "trials")):
        if not 1 <= number <= 10_000:
            raise RAExplorerError(f"The number of {what} must be between 1 and 10,000.")
    if not 0 <= n_practice <= 20:
        raise RAExplorerError("The number of practice trials must be between 0 and 20.")
    missing = [m for m in methods if m not in workspace.processors]
    if missing:
        raise RAExplorerError(f"Not processors of {workspace.task.spec}: "
                              f"{', '.join(validate.method_name(m)[:40] for m in missing)}; "
                              f"use some of {', '.join(workspace.processors)}.")
    config = {"methods": methods, "n_images": n_images, "n_trials": n_trials,
              "catch_rate": catch_rate, "seed": seed, "dataset": workspace.dataset,
              "images": images, "practice": n_practice}
    if n_catch is not None:
        config["n_catch"] = n_catch
    if kind == "visibility":
        if len(methods) != 2 or methods[0] == methods[1]:
            raise RAExplorerError("A visibility study needs exactly two different methods: "
                                  "plain, then RA.")
        if sides:
            raise RAExplorerError("A visibility study has no left and right to swap; leave "
                                  "the sides unbalanced.")
        try:
            visibility.check_afc(afc)
            chosen = choose_images(workspace, images, n_images, seed, methods, classifier,
                                   progress)
            trials = visibility.design_visibility(methods[0], methods[1], chosen,
                                                  int(trials_per_image), int(afc), seed)
        except ValueError as exc:
            raise RAExplorerError(str(exc)) from None
        config.update(n_trials=len(trials), catch_rate=0.0, n_images=len(chosen),
                      visibility={"m": int(afc), "trials_per_image": int(trials_per_image),
                                  "start": visibility.START, "step": visibility.STEP})
        config.pop("n_catch", None)
        if classifier:
            config["classifier"] = classifier
    elif kind == "label":
        if len(methods) != 2 or classifier is None:
            raise RAExplorerError("A label study needs exactly two methods (plain, RA) and a "
                                  "classifier (--classifier; by default the RA method's source).")
        items = label_items(workspace, classifier, methods[0], methods[1],
                            needed=min(n_images, n_trials), progress=progress)
        if not items:
            raise RAExplorerError("No test image gets different labels from the two methods.")
        trials = design_label(items, list(workspace.info.class_names), n_trials, catch_rate, seed,
                              n_catch=n_catch)
        config["classifier"] = classifier
    else:
        if len(set(methods)) < 2:
            raise RAExplorerError("A 2AFC study needs at least two different methods.")
        chosen = choose_images(workspace, images, n_images, seed, methods, classifier, progress)
        trials = design_2afc(methods, chosen, n_trials, catch_rate, seed,
                             reference=(kind == "2afc"), n_catch=n_catch)
        if classifier:
            config["classifier"] = classifier
        if pairs not in handout.PAIR_DESIGNS:
            raise RAExplorerError(f"Unknown pair design {pairs!r}; use uniform or active.")
        if pairs == "active":
            if not 1 <= batch <= 1000:
                raise RAExplorerError("The batch of actively chosen pairs must hold 1 to 1,000 "
                                      "pairs.")
            trials = [{**t, "payload": {**t["payload"], "active": True}} if not t["is_catch"]
                      else t for t in trials]
            config["pairs"] = "active"
            config["active"] = {"batch": int(batch), "batches": []}
    if abandon_after_min < 0:
        raise RAExplorerError("The minutes after which a session counts as abandoned must be "
                              "0 (never) or more.")
    config["display_check"] = display.check_policy(display_check)
    conds = balance.conditions(blocks, sides)
    config["counterbalance"] = {"blocks": blocks, "sides": sides, "conditions": conds,
                                "abandon_after_min": float(abandon_after_min)}
    if kind == "visibility":
        practice = visibility.design_practice(methods[0], methods[1], chosen, n_practice,
                                              int(afc), seed)
    else:
        practice = design_practice(kind, trials, n_practice, seed)
    return balance.expand(trials, conds), practice, config


def study_from_zoo(session, workspace, name: str, kind: str, methods: list[str], **options):
    """Design (see :func:`design_from_zoo`) and store a study; the name is checked first."""
    validate.study_name(name)
    trials, practice, config = design_from_zoo(workspace, kind, methods, **options)
    return create_study(session, name, kind, workspace.task.spec, trials, config, practice)


def metric_distances(workspace, trials, metrics: list[str]) -> dict[int, dict[str, tuple]]:
    """For 2AFC trials: each metric's value of A and of B against the reference."""
    from ..metrics.registry import create_metric

    created = {m: create_metric(m, device="cpu", folder=workspace.folder) for m in metrics}
    out = {}
    for t in trials:
        if t.is_catch or t.is_practice:
            continue
        ref = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, REFERENCE)))
        a = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, t.left)))
        b = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, t.right)))
        ref, a, b = (x.permute(2, 0, 1)[None].float() for x in (ref, a, b))
        out[t.id] = {m: (float(fn(a, ref)[0]), float(fn(b, ref)[0])) for m, fn in created.items()}
    return out


def ra_boundary_distances(workspace, plain: str, ra: str, images: list[int],
                          classifiers: list[str]) -> dict[int, dict]:
    """Per test image: ``ra_l2`` = ||x_RA - x_plain||_2 and ``bd`` = {classifier: BD at x_plain
    along d_RA, or None where censored} ([0, 1]-pixel L2 units; the plane of
    :func:`analysis.explore.plane.image_plane` through the two processors' outputs)."""
    models = {c: workspace.classifiers[c] for c in classifiers if c in workspace.classifiers}
    out = {}
    for index in images:
        clean, _, _ = workspace.test[index]
        plane = image_plane(workspace.task, clean, index, workspace.processors[plain],
                            workspace.processors[ra])
        rows = image_boundary_distances(plane, models) if models else []
        out[index] = {"ra_l2": plane.ra_length,
                      "bd": {r["classifier"]: r["bd"] for r in rows if r["direction"] == "ra"}}
    return out
