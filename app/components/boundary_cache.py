"""The Boundaries page's caches, shared with the launcher so that it can draw the page's
opening view (the default image's maps and boundary distances) before the first visit."""

from __future__ import annotations

import streamlit as st

from analysis.explore.plane import default_view, image_boundary_distances, image_plane
from analysis.explore.workspace import plane_maps


@st.cache_data(show_spinner="Drawing the map…", max_entries=256)
def cached_map(checkpoints: str, task_spec: str, index: int, name: str, extent: float,
               resolution: int, _ws):
    """One classifier's map (cached apart, so that adding a classifier draws one map)."""
    return plane_maps(_ws, index, [name], extent, resolution)["maps"][name]


@st.cache_data(show_spinner=False, max_entries=512)
def cached_distances(checkpoints: str, task_spec: str, index: int, name: str, _ws):
    """One classifier's BDs of this image (cached apart, like the maps)."""
    return image_boundary_distances(_ws, image_plane(_ws, index), [name])


def warm_default_view(ws, others: bool = False) -> int:
    """Compute the maps and distances of the page's opening view (``others``: those of every
    other classifier at the same image, extent and resolution instead, the ones a visitor adds
    first); the number of classifiers done."""
    view = default_view(ws)
    if view is None:
        return 0
    names = [n for n in ws.classifiers if n not in view.classifiers] if others else view.classifiers
    for name in names:
        cached_map(str(ws.folder), ws.task.spec, view.index, name, float(view.extent),
                   int(view.resolution), ws)
        cached_distances(str(ws.folder), ws.task.spec, view.index, name, ws)
    return len(names)
