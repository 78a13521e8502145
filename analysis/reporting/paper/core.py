"""What every figure builder takes and returns, and the helpers they share (result files,
provenance, the style context).

A builder is ``build(options: FigureOptions) -> PaperFigure``; it reads existing result files
(or runs the zoo's models on a few chosen images) and never writes anything.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ...analyses.boundary_defaults import FIGURE_EXTENT_L2, FIGURE_RESOLUTION
from ...data.folders import results_dir
from ...errors import RAExplorerError
from ...outputs.measured_weights import other_weights
from ...outputs.provenance import provenance
from .style import DEFAULT_DPI, DEFAULT_WIDTH, rc


@dataclass
class FigureOptions:
    """Options of ``python -m analysis figure`` (every kind reads the ones it needs).

    width: inches at the printed size; dpi: pixels per inch of PNG output (and of the pixel
    grid the ``examples`` panels are laid out on); seed: every random choice of a figure.
    """

    width: float = DEFAULT_WIDTH
    dpi: int = DEFAULT_DPI
    seed: int = 0
    task: str = "sr"
    indices: list[int] | None = None
    filter: str | None = None
    rows: int = 3                          # images when chosen by a filter
    classifier: str | None = None          # examples, tsne: whose predictions / features
    classifiers: list[str] | None = None   # boundary-maps, lambda: which classifiers
    target: str | None = None              # bd: the target classifier of the pair
    processors: list[str] | None = None    # examples, tsne: which processors
    metrics: list[str] | None = None       # quality: which metrics
    classes: list[int] | None = None       # tsne: which classes
    extent: float = FIGURE_EXTENT_L2       # boundary-maps: ± range, [0,1]-pixel L2
    extent_ra: float | None = None         # boundary-maps: ± range as a multiple of
    #                                        ||x_RA - x|| per image (the app's unit); wins
    resolution: int = FIGURE_RESOLUTION    # boundary-maps: grid points per axis
    results: Path | None = None
    checkpoints: Path | None = None
    dataset: str | None = None
    data_root: str | None = None
    device: str | None = None

    def task_spec(self) -> str:
        from ...data.tasks import create_task

        return create_task(self.task).spec

    def task_name(self) -> str:
        return self.task_spec().split(":")[0]

    def results_dir(self) -> Path:

        return results_dir(self.results)


@dataclass
class PaperFigure:
    """One built figure: the matplotlib Figure, the numbers it plots (one dict per row of the
    CSV beside the file), its provenance and the file stem it is saved under."""

    kind: str
    name: str
    figure: object = field(repr=False)                # matplotlib.figure.Figure
    rows: list[dict] = field(repr=False)
    provenance: dict = field(repr=False)
    title: str = ""
    extra: dict = field(default_factory=dict, repr=False)   # builder-specific facts (the tests read them)


@contextlib.contextmanager
def paper_style():
    """The rcParams of :mod:`.style` for building and saving a figure."""
    import matplotlib

    with matplotlib.rc_context(rc()):
        yield


def new_figure(width: float, height: float, layout: str | None = "constrained"):
    """A matplotlib Figure of ``width`` x ``height`` inches, not tied to pyplot (thread-safe)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def result_file(options: FigureOptions, name: str, command: str) -> Path:
    """The path of ``name`` in the results folder, or one sentence naming the command that makes
    it."""
    path = options.results_dir() / name
    if not path.is_file():
        raise RAExplorerError(f"The figure needs {path}, which is not there; make it with "
                              f"'{command}'.")
    check_weights(options, path, command)
    return path


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RAExplorerError(f"Cannot read {path} as JSON ({exc}).") from exc


def check_weights(options: FigureOptions, path: Path, command: str | None) -> None:
    """One sentence when the result file ``path`` was measured with other weights than the
    checkpoint folder (``options.checkpoints``) holds now: a figure never draws it as current.
    ``command`` measures it again (None: the command its provenance recorded)."""
    note = other_weights(read_json(path), options.checkpoints, command)
    if note:
        raise RAExplorerError(f"{path.name} was {note}.")


def figure_provenance(kind: str, *, dataset: str, split: str, n_images: int,
                      checkpoints: dict[str, str], seeds: dict, sources: list[Path] = (),
                      device="cpu") -> dict:
    """:func:`analysis.outputs.provenance.provenance` of the figure, plus the figure kind and
    the SHA-256 of each result file it reads (and that file's own provenance, if it has one)."""
    from ...zoo.checkpoints import sha256_file

    record = provenance(dataset=dataset, split=split, n_images=n_images, checkpoints=checkpoints,
                        seeds=seeds, device=device)
    record["figure"] = kind
    record["sources"] = {}
    for path in sources:
        entry = {"sha256": sha256_file(Path(path))}
        if str(path).endswith(".json"):
            inner = read_json(Path(path)).get("provenance")
            if inner:
                entry["provenance"] = inner
        record["sources"][Path(path).name] = entry
    return record
