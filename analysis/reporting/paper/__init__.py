"""Paper figures as files (matplotlib): one module per kind, the registry :data:`KINDS` maps a
kind to its builder ``build(FigureOptions) -> PaperFigure``; :func:`build_figure` checks the
name, :mod:`.output` writes PDF / SVG / PNG and the CSV beside them; :mod:`.layout` fits the
image-panel figures' labels and grids to the width and the number of panels.

The app's download buttons and ``python -m analysis figure`` use the same builders.
"""

from __future__ import annotations

import threading

from ...data.tasks import task_slug
from ...errors import unknown_name
from .agreement import build_agreement, build_agreement_scatter
from .architectures import build_architecture_transfer
from .categories import build_category_transfer
from .core import FigureOptions, PaperFigure, paper_style
from .corruption import build_corruption_grid, build_reliability
from .corruption_cells import build_corruption_gain, build_severity_curves
from .detection import build_detection_transfer
from .distances import build_bd
from .evaluation import build_lambda, build_transfer
from .images import build_boundary_maps, build_examples
from .loss_grid import build_error_ranking, build_error_ranking_seeds
from .output import FORMATS, MIME, figure_bytes, save_figure
from .quality import build_quality
from .seeds import build_seeds
from .tsne import build_tsne

KINDS = {
    "examples": build_examples,          # RA paper Fig. 3
    "boundary-maps": build_boundary_maps,  # RA paper Fig. 4
    "lambda": build_lambda,              # Table 16 trade-off
    "transfer": build_transfer,          # Table 3 heatmap
    "bd": build_bd,                      # Table 17 distributions
    "tsne": build_tsne,                  # QualNet Fig. 2
    "quality": build_quality,            # quality table bars
    "error-ranking": build_error_ranking,  # Uelwer et al. Fig. 1 (loss grid)
    "error-ranking-seeds": build_error_ranking_seeds,  # the same over training seeds
    "detection-transfer": build_detection_transfer,  # Tables 2, 4, 8, 10 (detection canvases)
    "category-transfer": build_category_transfer,  # Table 7 (disjoint category halves)
    "architecture-transfer": build_architecture_transfer,  # Table 11 (processing architectures)
    "corruption-grid": build_corruption_grid,  # accuracy per corruption type x severity
    "reliability": build_reliability,    # calibration (ECE) of a task's record table
    "corruption-gain": build_corruption_gain,  # Tables 12 and 14: RA - plain per type
    "severity-curves": build_severity_curves,  # Table 13: accuracy against severity
    "agreement": build_agreement,        # per-image agreement of metrics with recognition
    "agreement-scatter": build_agreement_scatter,  # one metric against a classifier's margin
    "seeds": build_seeds,                # Table 1 claims per training seed
}


def build_figure(kind: str, options: FigureOptions | None = None) -> PaperFigure:
    """Build one figure of ``kind`` (see :data:`KINDS`) inside the paper style."""
    if kind not in KINDS:
        raise unknown_name("figure kind", kind, list(KINDS))
    with paper_style():
        return KINDS[kind](options or FigureOptions())


_LOCK = threading.Lock()   # rc_context changes matplotlib's global rcParams: one figure at a time


def download(kind: str, options: FigureOptions, fmt: str) -> bytes:
    """The bytes of one figure file (the app's download buttons, which call this on a thread
    of their own)."""
    with _LOCK:
        fig = build_figure(kind, options)
        return figure_bytes(fig, fmt, options.dpi)


def file_name(kind: str, options: FigureOptions, fmt: str) -> str:
    """``<kind>_<task slug>.<fmt>``: the name a download is saved under."""
    return f"{kind}_{task_slug(options.task_spec())}.{fmt}"


__all__ = ["FORMATS", "KINDS", "MIME", "FigureOptions", "PaperFigure", "build_figure",
           "download", "figure_bytes", "file_name", "save_figure"]
