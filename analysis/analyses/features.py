"""Feature-space views (QualNet Fig. 2 style): t-SNE of clean, degraded and processed images.

For the same N test images (stratified by class), a classifier's penultimate
features are taken for: the clean image (HQ), the degraded input resized to
full size (LQ), and each processor's output (the image the classifier sees:
for RA with transformer, T(P(x))). All sources are embedded jointly (PCA to
50 dimensions, then t-SNE, seeded), and measured in the *original* feature
space, not in t-SNE space:

* ``hq_distance``: mean L2 distance from each image's feature to its own HQ
  feature, divided by the mean distance between HQ class centroids
  (0 = on top of the clean feature; 1 = as far as a typical class apart);
* ``knn_agreement``: accuracy of a k-NN classifier fitted on the HQ features
  and labels, applied to this source's features (k = 10);
* ``silhouette``: silhouette score of this source's features under the true
  labels (euclidean), in [-1, 1].
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..config import EMBEDDED_DATASET
from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..outputs.result_files import result_files
from ..pipeline.runner import CLEAN, NO_PROCESSING
from ..pipeline.setting import Setting
from ..zoo.catalogue import main_processors, model_digests

HQ, LQ = "HQ", "LQ"
TSNE_BACKENDS = ("opentsne", "sklearn")


def stratified_indices(labels: torch.Tensor, n: int, num_classes: int) -> torch.Tensor:
    """n test indices, n // K from each class (the first r classes one more), in index order."""
    base, extra = divmod(n, num_classes)
    chosen = []
    for c in range(num_classes):
        chosen += torch.nonzero(labels == c).flatten()[: base + (c < extra)].tolist()
    return torch.tensor(sorted(chosen), dtype=torch.long)


@torch.no_grad()
def extract(setting: Setting, classifier: str, n: int = 1000, batch_size: int = 500,
            processors: list[str] | None = None, progress: bool = True) -> dict:
    """Penultimate features (float32 arrays) and predictions per source for N stratified images
    of the setting's test split under its task.

    Sources: HQ, LQ and the task's processors named in ``processors`` (default: one per
    method, :func:`analysis.zoo.catalogue.main_processors`; ``[]``: HQ and LQ only). The classifier
    may live in a collection (``checkpoints/recognizers/``).
    """
    the_task = setting.task
    clf, clf_card = setting.checkpoint(classifier, kind="classifier")
    _, proc_cards = setting.select()
    wanted = main_processors(proc_cards, the_task.name) if processors is None else processors
    unknown = sorted(set(wanted) - {c["name"] for c in proc_cards})
    if unknown:
        raise RAExplorerError(f"No processor {', '.join(unknown)} for task {the_task.spec}; "
                              f"'python -m analysis list checkpoints' lists them.")
    chosen_cards = [c for c in proc_cards if c["name"] in wanted]
    procs = setting.load(chosen_cards)
    test = setting.test
    idx = stratified_indices(test.labels, n, test.info.num_classes)
    names = {CLEAN: HQ, NO_PROCESSING: LQ}
    feats = {s: [] for s in [HQ, LQ, *procs]}
    preds = {s: [] for s in feats}
    labels = []
    for batch in setting.batches(procs, desc=f"features {the_task.spec}", progress=progress,
                                 batch_size=batch_size, indices=idx, shard=False):
        for inp, views in batch.views.items():
            out = clf.features(views.machine, ["penultimate", "logits"])
            feats[names.get(inp, inp)].append(out["penultimate"].cpu())
            preds[names.get(inp, inp)].append(out["logits"].argmax(1).cpu())
        labels.append(batch.labels)
    return {"task": the_task.spec,
            "checkpoints": {classifier: clf_card["weights"]["sha256"],
                            **model_digests(chosen_cards)}, "classifier": classifier,
            "dataset": setting.dataset,
            "indices": idx.numpy(), "labels": torch.cat(labels).numpy(),
            "class_names": list(test.info.class_names),
            "features": {s: torch.cat(v).numpy().astype(np.float32) for s, v in feats.items()},
            "predictions": {s: torch.cat(v).numpy() for s, v in preds.items()}}


def embed(features: np.ndarray, seed: int = 0, backend: str = "opentsne",
          perplexity: float = 30.0, pca_dims: int = 50, n_jobs: int = 1) -> np.ndarray:
    """PCA to ``pca_dims`` then 2-D t-SNE (seeded); (P, D) -> (P, 2)."""
    from sklearn.decomposition import PCA

    reduced = PCA(n_components=min(pca_dims, *features.shape), random_state=seed).fit_transform(
        features.astype(np.float64))
    if backend == "opentsne":
        from openTSNE import TSNE

        return np.asarray(TSNE(perplexity=perplexity, random_state=seed, n_jobs=n_jobs,
                               initialization="pca", verbose=False).fit(reduced))
    if backend == "sklearn":
        from sklearn.manifold import TSNE

        return TSNE(perplexity=perplexity, random_state=seed, init="pca",
                    n_jobs=n_jobs).fit_transform(reduced)
    raise ValueError(f"Unknown t-SNE backend {backend!r}; use one of {', '.join(TSNE_BACKENDS)}.")


def convergence_measures(features: dict[str, np.ndarray], labels: np.ndarray, k: int = 10) -> dict:
    """Per source: hq_distance (relative), knn_agreement and silhouette (see module docstring)."""
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier

    hq = features[HQ]
    classes = np.unique(labels)
    centroids = np.stack([hq[labels == c].mean(0) for c in classes])
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(centroids) for b in centroids[i + 1:]]
    centroid_gap = float(np.mean(gaps)) if gaps else 1.0
    knn = KNeighborsClassifier(n_neighbors=min(k, len(hq))).fit(hq, labels)
    out = {}
    for source, f in features.items():
        dist = np.linalg.norm(f - hq, axis=1)
        out[source] = {
            "hq_distance": float(dist.mean() / centroid_gap),
            "hq_distance_raw": float(dist.mean()),
            "knn_agreement": float((knn.predict(f) == labels).mean()),
            # defined for 2 <= classes <= images - 1 (NaN otherwise, e.g. one image per class)
            "silhouette": (float(silhouette_score(f, labels))
                           if 1 < len(classes) < len(f) else float("nan")),
        }
    return {"centroid_gap": centroid_gap, "k": k, "sources": out}


def feature_report(task: str, classifier: str, n: int = 1000, seed: int = 0,
                   backend: str = "opentsne", folder=None, dataset: str = EMBEDDED_DATASET,
                   device: str | None = None, with_embedding: bool = True,
                   processors: list[str] | None = None, progress: bool = True) -> dict:
    """HQ / LQ / processed features of ``n`` stratified test images: convergence measures,
    accuracy per source and (``with_embedding``) the 2-D t-SNE points, with provenance."""
    setting = Setting(task, dataset, folder, device)
    data = extract(setting, classifier, n=n, processors=processors, progress=progress)
    sources = list(data["features"])
    report = {k: data[k] for k in ("task", "classifier", "dataset", "class_names")}
    report.update({"n_images": int(len(data["labels"])), "sources": sources, "seed": seed,
                   "measures": convergence_measures(data["features"], data["labels"]),
                   "accuracy": {s: float((data["predictions"][s] == data["labels"]).mean())
                                for s in sources}})
    if with_embedding:
        stacked = np.concatenate([data["features"][s] for s in sources])
        xy = embed(stacked, seed=seed, backend=backend)
        m = len(data["labels"])
        report["backend"] = backend
        report["points"] = [
            {"source": s, "index": int(data["indices"][i]), "label": int(data["labels"][i]),
             "prediction": int(data["predictions"][s][i]),
             "x": float(xy[k * m + i, 0]), "y": float(xy[k * m + i, 1])}
            for k, s in enumerate(sources) for i in range(m)]
    report["provenance"] = setting.provenance(
        n_images=report["n_images"], checkpoints=data["checkpoints"],
        seeds={"degradation": 0, "tsne": seed})
    return report


SYMBOLS = ("circle", "x", "diamond", "square", "triangle-up", "star", "cross", "triangle-down",
           "pentagon", "hexagon")


def _shade(colour: str, towards: float) -> str:
    """A hex colour mixed with black (``towards`` < 0) or white (> 0) by |towards| in [0, 1]."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    target = 255 if towards > 0 else 0
    mix = [round(c + (target - c) * abs(towards)) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


MAIN_SOURCE_SUFFIXES = ("-plain", "-ra")


def default_sources(report: dict) -> list[str]:
    """The sources a t-SNE view opens on: HQ, LQ and the plain and RA processors' outputs
    (every source when fewer than two of those are present). Each source adds
    ``n_images`` points; four draw in about 40 % of the time of eight in Chromium."""
    sources = report["sources"]
    main = [s for s in sources if s in (HQ, LQ) or s.endswith(MAIN_SOURCE_SUFFIXES)]
    return main if len(main) >= 2 else list(sources)


def format_measures(report: dict) -> str:
    lines = [f"Feature convergence on task {report['task']}, classifier {report['classifier']}, "
             f"{report['n_images']} stratified test images. Distances in the original "
             f"penultimate space; hq_distance is relative to the mean distance between HQ class "
             f"centroids ({report['measures']['centroid_gap']:.3f}).", "",
             "| source | accuracy (%) | hq_distance ↓ | k-NN agreement (%) ↑ | silhouette ↑ |",
             "|---|---:|---:|---:|---:|"]
    for s in report["sources"]:
        m = report["measures"]["sources"][s]
        lines.append(f"| {s} | {100 * report['accuracy'][s]:.1f} | {m['hq_distance']:.3f} | "
                     f"{100 * m['knn_agreement']:.1f} | {m['silhouette']:.3f} |")
    return "\n".join(lines)


def save_feature_report(report: dict, out_dir: Path | None = None) -> list[Path]:
    json_path, md_path = result_files(
        out_dir, f"features_{task_slug(report['task'])}_{report['classifier']}",
        report.get("dataset"))
    json_path.write_text(json.dumps(report) + "\n")
    md_path.write_text(format_measures(report) + "\n")
    return [json_path, md_path]
