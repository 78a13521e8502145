"""The t-SNE points' hover images, drawn once per report and source set (Features page)."""

import streamlit as st

from analysis.analyses.quality import task_slug
from analysis.explore.tsne_chart import point_images
from app.components.common import dataset, folder, get_workspace, result, results_dir


@st.cache_data(show_spinner="Drawing the points' images…", max_entries=16)
def _images(task: str, classifier: str, sources: tuple, dataset_spec: str, checkpoints: str,
            report_mtime: float) -> dict:
    ws = get_workspace(task)
    report = result(f"features_{task_slug(task)}_{classifier}.json")
    if ws is None or report is None:
        return {}
    return point_images(ws, report, list(sources))


def tsne_images(task: str, classifier: str, sources: tuple) -> dict:
    """{(index, source): data URL} for the feature report of ``task`` and ``classifier``."""
    path = results_dir() / f"features_{task_slug(task)}_{classifier}.json"
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _images(task, classifier, tuple(sources), dataset(), folder(), mtime)


def warm_opening_view(task: str) -> None:
    """Draw the hover images of the view the Features page opens on for ``task`` (the first
    classifier with a feature report, the default sources), as the page asks for them."""
    from analysis.analyses.features import default_sources
    from analysis.explore.tsne_chart import shown_sources
    from analysis.explore.workspace import classifier_names

    for classifier in classifier_names(dataset(), folder()):
        report = result(f"features_{task_slug(task)}_{classifier}.json")
        if report is not None:
            tsne_images(task, classifier,
                        tuple(shown_sources(report, default_sources(report), None)))
            return
