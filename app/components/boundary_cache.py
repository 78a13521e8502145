"""The Boundaries page's caches, shared with the launcher so that it can draw the page's
opening view (the default image's maps and boundary distances) before the first visit, and
the prefetch that draws the next images of the page's picker while a visitor looks at one."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import streamlit as st

from analysis.explore.plane import image_boundary_distances, plane_maps
from analysis.side_by_side import run_side_by_side
from app.components.background import LatestJob


@st.cache_data(show_spinner="Drawing the map…", max_entries=256)
def cached_map(checkpoints: str, task_spec: str, index: int, name: str, extent: float,
               resolution: int, _ws, _between_levels=None):
    """One classifier's map (cached apart, so that adding a classifier draws one map);
    ``_between_levels`` (not part of the key): see :func:`adaptive_decision_map`."""
    return plane_maps(_ws.plane(index), _ws.models([name]), extent, resolution,
                      between_levels=_between_levels)["maps"][name]


@st.cache_data(show_spinner=False, max_entries=512)
def cached_distances(checkpoints: str, task_spec: str, index: int, name: str, _ws):
    """One classifier's BDs of this image (cached apart, like the maps)."""
    return image_boundary_distances(_ws.plane(index), _ws.models([name]))


def image_steps(ws, index: int, names: list[str], extent, resolution: int,
                between_levels=None) -> list:
    """Each classifier's map and BDs of test image ``index`` as [(key, callable), ...] steps
    (a map, then the BDs, per classifier in ``names``); ``extent()`` gives the map's extent
    when the first map is drawn."""
    steps = []
    for name in names:
        steps.append((("map", index, name), lambda n=name: cached_map(
            str(ws.folder), ws.task.spec, index, n, float(extent()), int(resolution), ws,
            between_levels)))
        steps.append((("bd", index, name), lambda n=name: cached_distances(
            str(ws.folder), ws.task.spec, index, n, ws)))
    return steps


def default_view_steps(ws, others: bool = False, between_levels=None) -> list:
    """The maps and distances of the page's opening view (``others``: those of every other
    classifier at the same image, extent and resolution instead, the ones a visitor adds
    first) as :func:`image_steps`."""
    view = ws.default_view()
    if view is None:
        return []
    names = [n for n in ws.classifiers if n not in view.classifiers] if others else view.classifiers
    return image_steps(ws, view.index, names, lambda: view.extent, view.resolution,
                       between_levels)


def run_steps_side_by_side(ws, steps: list) -> None:
    """Run :func:`image_steps`' steps side by side, the maps (the longer jobs) first."""
    run_side_by_side([step for key, step in steps if key[0] == "map"]
                     + [step for key, step in steps if key[0] == "bd"], ws.device)


def warm_default_view(ws, others: bool = False) -> int:
    """Compute :func:`default_view_steps` now, the classifiers' jobs side by side (maps
    first); the number of classifiers done."""
    steps = default_view_steps(ws, others)
    run_steps_side_by_side(ws, steps)
    return len(steps) // 2


PREFETCH = LatestJob("ra-boundaries-prefetch", quiet_s=1.5)
PREFETCH_AHEAD = 2


def page_map(ws, index: int, name: str, extent: float, resolution: int):
    """The map a page run shows: ``cached_map``, first hurrying the prefetch if it
    is drawing this very map (the run then waits for it on the cache entry's lock)."""
    PREFETCH.hurry(("map", index, name))
    return cached_map(str(ws.folder), ws.task.spec, index, name, float(extent), int(resolution),
                      ws)


def draw_image(ws, index: int, names: list[str], extent: float, resolution: int) -> None:
    """Fill the caches with every map and BD list of ``names`` at test image ``index`` that
    they lack, the classifiers' jobs side by side (:mod:`analysis.side_by_side`: one job per
    core, each single-threaded), the maps first (the longer jobs); the page then reads them
    with :func:`page_map` and :func:`cached_distances`."""
    for name in names:
        PREFETCH.hurry(("map", index, name))
    run_steps_side_by_side(ws, image_steps(ws, index, names, lambda: extent, resolution))


def upcoming(candidates: Sequence[int], index: int, ahead: int = PREFETCH_AHEAD) -> list[int]:
    """The ``ahead`` images after ``index`` in the picker's list ``candidates`` (a list, or a
    range for "by index"; the list's first ones when ``index`` is not in it)."""
    start = candidates.index(index) + 1 if index in candidates else 0
    return [int(i) for i in candidates[start:start + ahead] if int(i) != index]


def prefetch_images(ws, indices: list[int], classifiers: list[str], multiple: float,
                    override: float, resolution: int) -> int:
    """Draw, in the background at the lowest priority, the maps and BDs that the page will
    show for each of ``indices`` with these settings (the extent worked out per image as the
    page does), one classifier's map or BDs per step; a newer call replaces the job. Its
    generation number (for :meth:`LatestJob.wait`); 0 and nothing done where
    ``RA_PREFETCH=0`` (the in-process page tests, whose counts a background job would upset)."""
    from analysis.explore.plane import extent_for

    if os.environ.get("RA_PREFETCH", "1") == "0":
        return 0

    def extent_of(i: int):
        @functools.cache
        def extent() -> float:    # the page's rule, worked out once, when first needed
            return (float(override) if override > 0
                    else extent_for(multiple, ws.plane(i).ra_length))
        return extent

    return PREFETCH.submit([step for i in indices for step in image_steps(
        ws, i, classifiers, extent_of(i), resolution, PREFETCH.pause_point)])
