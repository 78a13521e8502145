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
from ..explore.workspace import to_numpy
from ..zoo import human_view
from .design import DEGRADED, REFERENCE, create_study, design_2afc, design_label

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
    proc = workspace.processors[what]
    out = human_view(proc, lq)
    return to_numpy(out.clamp(0, 1)[0])


@torch.no_grad()
def label_items(workspace, classifier: str, plain: str, ra: str, limit: int = 2000) -> list[dict]:
    """Test images whose plain and RA outputs get different labels from ``classifier``."""
    preds = workspace.predictions(classifier, limit)
    labels = workspace.labels()[: len(preds[plain])]
    differ = torch.nonzero(preds[plain] != preds[ra]).flatten().tolist()
    return [{"image_index": i, "label": int(labels[i]), "label_plain": int(preds[plain][i]),
             "label_ra": int(preds[ra][i])} for i in differ]


def study_from_zoo(session, workspace, name: str, kind: str, methods: list[str],
                   n_images: int = 50, n_trials: int = 60, catch_rate: float = 0.1,
                   seed: int = 0, classifier: str | None = None):
    """Design and store a study on the workspace's task (see design.py for the rules)."""
    missing = [m for m in methods if m not in workspace.processors]
    if missing:
        raise ValueError(f"Not processors of {workspace.task.spec}: {', '.join(missing)}.")
    config = {"methods": methods, "n_images": n_images, "n_trials": n_trials,
              "catch_rate": catch_rate, "seed": seed, "dataset": workspace.dataset}
    if kind == "label":
        if len(methods) != 2 or classifier is None:
            raise ValueError("A label study needs exactly two methods (plain, RA) and a classifier.")
        items = label_items(workspace, classifier, methods[0], methods[1])[:n_images]
        if not items:
            raise ValueError("No test image gets different labels from the two methods.")
        trials = design_label(items, list(workspace.info.class_names), n_trials, catch_rate, seed)
        config["classifier"] = classifier
    else:
        images = workspace.random_indices(n_images, seed)
        trials = design_2afc(methods, images, n_trials, catch_rate, seed,
                             reference=(kind == "2afc"))
    return create_study(session, name, kind, workspace.task.spec, trials, config)


def metric_distances(workspace, trials, metrics: list[str]) -> dict[int, dict[str, tuple]]:
    """For 2AFC trials: each metric's value of A and of B against the reference."""
    from ..metrics.registry import create_metric

    created = {m: create_metric(m, device="cpu", folder=workspace.folder) for m in metrics}
    out = {}
    for t in trials:
        if t.is_catch:
            continue
        ref = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, REFERENCE)))
        a = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, t.left)))
        b = torch.from_numpy(np.atleast_3d(render(workspace, t.image_index, t.right)))
        ref, a, b = (x.permute(2, 0, 1)[None].float() for x in (ref, a, b))
        out[t.id] = {m: (float(fn(a, ref)[0]), float(fn(b, ref)[0])) for m, fn in created.items()}
    return out
