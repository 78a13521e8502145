"""The t-SNE points' hover images, drawn once per report and source set (Features page).

The images are written as PNG files under ``app/static/tsne/`` (Streamlit's static serving,
``server.enableStaticServing``), named by a hash of their bytes, and the page sends only
their addresses: the browser fetches an image when its point is hovered, instead of every
page run carrying about 3 MB of data URLs. Where that folder cannot be written the images go
as data URLs, as before."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from analysis.data.tasks import task_slug
from analysis.explore.tsne_chart import png_data_url, point_images
from app.components.common import dataset, folder, get_workspace, result, results_dir

STATIC = Path(__file__).resolve().parents[1] / "static"   # served at app/static/
IMAGES = STATIC / "tsne"


def static_store(folder_path: Path = IMAGES, url_prefix: str = "app/static/tsne"):
    """A ``store`` for :func:`point_images` that writes each PNG once to ``folder_path``
    (content-addressed: the same image is the same file, a changed one a new file) and
    returns ``url_prefix``/its name (relative to the page, so that a ``baseUrlPath`` works);
    None where the folder cannot be written."""
    try:
        folder_path.mkdir(parents=True, exist_ok=True)
        probe = folder_path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return None
    present = {p.name for p in folder_path.iterdir()}

    def store(png: bytes) -> str:
        name = hashlib.blake2b(png, digest_size=12).hexdigest() + ".png"
        if name not in present:
            (folder_path / name).write_bytes(png)
            present.add(name)
        return f"{url_prefix}/{name}"

    return store


@st.cache_data(show_spinner="Drawing the points' images…", max_entries=16)
def _images(task: str, classifier: str, sources: tuple, dataset_spec: str, checkpoints: str,
            report_mtime: float) -> dict:
    ws = get_workspace(task)
    report = result(f"features_{task_slug(task)}_{classifier}.json")
    if ws is None or report is None:
        return {}
    return point_images(ws, report, list(sources), static_store() or png_data_url)


def tsne_images(task: str, classifier: str, sources: tuple) -> dict:
    """{(index, source): image address} for the feature report of ``task`` and ``classifier``."""
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
