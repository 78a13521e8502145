"""RA Explorer: recognition-aware image processing, trained and analysed.

Conventions (docs/glossary.md): images are float tensors in [0, 1] of shape
(N, C, H, W); classifiers normalise their own inputs; distances are L2 norms in
[0, 1] pixel units; everything random takes a seed.

The Python API (:mod:`analysis.api`) is exported here lazily (PEP 562): ``import analysis``
imports neither torch nor the package's modules; the first use of a name loads them.
"""

from __future__ import annotations

_API = ("BD_FIRST_STEP", "BD_GROWTH", "BD_MAX_DIST", "BD_SCHEDULE", "BD_STEPS", "BD_TOL",
        "BoundaryDistances", "BoundaryMap", "MAP_EXTENT_L2", "MAP_EXTENT_RA", "MAP_RESOLUTION",
        "NB_ATTACK", "NB_STEPS", "bd_max_dist", "boundary_distance", "boundary_map",
        "create_metric", "create_task", "degrade", "figure", "list_metrics", "load_dataset",
        "load_model", "nearest_boundary", "process", "records", "save_figure")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name == "__version__":
        from .config import version

        value = version()
    elif name in _API:
        from . import api

        value = getattr(api, name)
    else:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    globals()[name] = value      # found once: later look-ups are plain attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
