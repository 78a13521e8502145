"""The Python API: the names a researcher calls from a notebook, exported lazily from the package
top (``import analysis as ra`` imports nothing heavy until a name is used).

Conventions: images are float tensors in [0, 1], one image (C, H, W) or a batch (N, C, H, W); a
classifier is any ``nn.Module`` that takes such a batch and returns logits (N, K), normalising
its input itself (the zoo's :class:`~analysis.zoo.wrapper.Classifier` does; wrap a bare network
that expects normalised input, e.g. ``nn.Sequential(torchvision.transforms.Normalize(mean, std),
net)``); distances are L2 norms in [0,1]-pixel units, with the per-pixel RMS (L2 / sqrt(C*H*W))
beside them. A model given by name comes from the checkpoint folder (``python -m analysis list
checkpoints``); the defaults of the boundary search and maps are those of ``python -m analysis
bd`` and of the app (:mod:`analysis.api.defaults`).

Example:
    >>> import analysis as ra
    >>> clf = ra.load_model("resnet20")
    >>> x, label, index = ra.load_dataset("fashion-mnist", "test")[0]   # (1, 28, 28) in [0, 1]
    >>> print(ra.boundary_distance(clf, x))
"""

from __future__ import annotations

from .boundaries import (
    BoundaryDistances,
    BoundaryMap,
    boundary_distance,
    boundary_map,
    nearest_boundary,
)
from .defaults import (
    BD_FIRST_STEP,
    BD_GROWTH,
    BD_MAX_DIST,
    BD_SCHEDULE,
    BD_STEPS,
    BD_TOL,
    MAP_EXTENT_L2,
    MAP_EXTENT_RA,
    MAP_RESOLUTION,
    NB_ATTACK,
    NB_STEPS,
    bd_max_dist,
)
from .figures import figure, save_figure
from .models import create_task, degrade, load_dataset, load_model, process
from .tables import create_metric, list_metrics, records

__all__ = ["BD_FIRST_STEP", "BD_GROWTH", "BD_MAX_DIST", "BD_SCHEDULE", "BD_STEPS", "BD_TOL",
           "BoundaryDistances", "BoundaryMap", "MAP_EXTENT_L2", "MAP_EXTENT_RA", "MAP_RESOLUTION",
           "NB_ATTACK", "NB_STEPS", "bd_max_dist", "boundary_distance", "boundary_map",
           "create_metric", "create_task", "degrade", "figure", "list_metrics", "load_dataset",
           "load_model", "nearest_boundary", "process", "records", "save_figure"]
