"""What every figure builder takes and returns, and the helpers they share (result files,
provenance, the style context).

A builder is ``build(options: FigureOptions) -> PaperFigure``; it reads existing result files
(or runs the zoo's models on a few chosen images) and never writes anything.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ...analyses.boundary_defaults import EXTENT_MULTIPLE, FIGURE_RESOLUTION
from ...config import default_dataset
from ...data.folders import command_in_force, dataset_slug, results_dir, zoo_advice
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
    extent: float | None = None            # boundary-maps: ± range, [0,1]-pixel L2; wins
    extent_ra: float | None = None         # boundary-maps: ± range as a multiple of
    #                                        ||x_RA - x|| per image (the app's unit); when
    #                                        neither is set, EXTENT_MULTIPLE of it
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

    def dataset_spec(self) -> str:
        """The dataset the figure is of: ``dataset``, else $RA_DATASET, else the embedded
        default."""
        return default_dataset(self.dataset)

    def results_dir(self) -> Path:
        """``results`` if given, else the results folder of the figure's dataset."""
        return results_dir(self.results, self.dataset_spec())

    def extent_multiple(self) -> float | None:
        """boundary-maps: the half-width as a multiple of ||x_RA - x|| (``extent_ra``, by
        default :data:`~analysis.analyses.boundary_defaults.EXTENT_MULTIPLE`), or None when an
        absolute ``extent`` is given."""
        if self.extent is not None:
            return None
        return EXTENT_MULTIPLE if self.extent_ra is None else self.extent_ra

    def command(self, command: str) -> str:
        """``command`` (a ``python -m analysis VERB ...`` line) for the figure's dataset,
        checkpoint folder, data root and results folder: the command that makes a result
        file where this figure looks for it."""
        extra = []
        if self.checkpoints and "--checkpoints" not in command:
            extra.append(f"--checkpoints {shlex.quote(str(self.checkpoints))}")
        if self.data_root and "--data-root" not in command:
            extra.append(f"--data-root {shlex.quote(str(self.data_root))}")
        if (self.results and "--out" not in command
                and Path(self.results) != results_dir(None, self.dataset_spec())):
            extra.append(f"--out {shlex.quote(str(self.results))}")
        return command_in_force(" ".join([command, *extra]), self.dataset_spec())

    def zoo_advice(self, models=("classifier", "plain", "ra"), source: str = "resnet20") -> str:
        """``train them with '...'``: the commands that train ``models`` for the figure's
        dataset into its checkpoint folder (:func:`analysis.data.folders.zoo_advice`)."""
        return zoo_advice(self.dataset_spec(), self.checkpoints, self.task_spec(), models, source)


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
    """The path of ``name`` in the results folder of the figure's dataset, or one sentence
    naming the command that makes it there."""
    path = options.results_dir() / name
    if not path.is_file():
        raise RAExplorerError(f"The figure needs {path}, which is not there; make it with "
                              f"'{options.command(command)}'.")
    read_result(options, path, command)   # another dataset's file: that sentence first
    check_weights(options, path, options.command(command))
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


def read_result(options: FigureOptions, path: Path, command: str) -> dict:
    """The result file ``path``, checked to hold results of the figure's dataset (else one
    sentence naming the command that makes them)."""
    result = read_json(path)
    held = result.get("dataset")
    wanted = options.dataset_spec()
    if held and dataset_slug(held) != dataset_slug(wanted):
        raise RAExplorerError(f"{path} holds results of {held}, not of {wanted}; make them with "
                              f"'{options.command(command)}'.")
    return result


def load_result(options: FigureOptions, name: str, command: str) -> tuple[Path, dict]:
    """(path, content) of the result file ``name`` of the figure's dataset
    (:func:`result_file`, :func:`read_result`)."""
    path = result_file(options, name, command)
    return path, read_json(path)


def result_provenance(kind: str, result: dict, path: Path) -> dict:
    """:func:`figure_provenance` of a figure drawn from one result file ``path`` (``result``,
    its content): the result's dataset, split, images, checkpoints and degradation seed."""
    return figure_provenance(kind, dataset=result["dataset"], split=result.get("split", "test"),
                             n_images=result["n_images"],
                             checkpoints=result.get("provenance", {}).get("checkpoints", {}),
                             seeds={"degradation": result.get("seed", 0)}, sources=[path])


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
