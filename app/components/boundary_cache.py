"""The Boundaries page's caches: each map's progressive state (drawn level by level within the
page's time budget, taken further by later runs and the background jobs) and each image's
boundary distances; the launcher's warm-up job, which draws the page's opening view behind
the server, and the prefetch that finishes the shown image's maps and draws the next images
of the page's picker while a visitor looks at one."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence

import streamlit as st

from analysis.explore.plane import image_boundary_distances, progressive_map, refine_maps
from analysis.side_by_side import run_side_by_side
from app.components.background import WARM_UP, LatestJob


@st.cache_resource(show_spinner=False, max_entries=256)
def map_state(checkpoints: str, task_spec: str, index: int, name: str, extent: float,
              resolution: int, opening_marks: int = 5):
    """One classifier's map at one image, extent and resolution, as far as drawn (a
    :class:`~analysis.analyses.boundary_maps.MapRefinement`, shared by every session and the
    background jobs, so that each level is drawn once and a page shows what is there)."""
    return progressive_map(extent, resolution, opening_marks=opening_marks)


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
        steps.append((("map", index, name), lambda n=name: complete_map(
            ws, index, n, float(extent()), int(resolution), between_levels)))
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
    """Run :func:`image_steps`' steps side by side, the maps (the longer jobs) first (the
    launcher's warm-up in one go, and the tests)."""
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


def hurry(index: int, names: list[str]) -> None:
    """Let a background job drawing one of these maps run on without pausing (a page run
    waits for the level it is drawing)."""
    for job in (PREFETCH, WARM_UP):
        for name in names:
            job.hurry(("map", index, name))


def complete_map(ws, index: int, name: str, extent: float, resolution: int,
                 between_levels: Callable[[], None] | None = None):
    """Draw ``name``'s map at test image ``index`` to its last level (the levels not drawn
    yet); the map."""
    state = map_state(str(ws.folder), ws.task.spec, index, name, float(extent), int(resolution),
                      ws.map_opening_marks())
    return refine_maps(ws.plane(index), ws.models([name]), {name: state}, device=ws.device,
                       between_levels=between_levels)[name]


def draw_maps(ws, index: int, names: list[str], extent: float, resolution: int,
              budget_s: float | None = None, on_level=None) -> dict:
    """The maps of ``names`` at test image ``index``, refined level by level, the
    classifiers side by side (:func:`analysis.explore.plane.refine_maps`), until complete or
    ``budget_s`` seconds have passed (after a level); ``on_level`` sees each level. A map
    already drawn further (by an earlier run or the background jobs) goes on from there."""
    hurry(index, names)
    states = {n: map_state(str(ws.folder), ws.task.spec, index, n, float(extent),
                           int(resolution), ws.map_opening_marks()) for n in names}
    deadline = None if budget_s is None else time.monotonic() + float(budget_s)
    return refine_maps(ws.plane(index), ws.models(names), states, deadline=deadline,
                       on_level=on_level, device=ws.device)


def draw_distances(ws, index: int, names: list[str]) -> list[dict]:
    """Each classifier's BDs of test image ``index`` (the cached rows, computed side by side
    where missing), in the order of ``names``."""
    rows = run_side_by_side([lambda n=n: cached_distances(str(ws.folder), ws.task.spec, index,
                                                          n, ws) for n in names], ws.device)
    return [row for found in rows for row in found]


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
