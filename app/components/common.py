"""Shared helpers for the pages: settings, cached models and data, missing-piece messages."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from analysis import config
from analysis.data import folders
from analysis.errors import RAExplorerError
from analysis.outputs.measured_weights import other_weights
from analysis.outputs.provenance import provenance_summary
from analysis.zoo.catalogue import broken_cards, checkpoint_dir


def results_dir() -> Path:
    """The results folder of the dataset in force ($RA_DATASET; $RA_RESULTS)."""
    return folders.results_dir(dataset=config.default_dataset())


def dataset() -> str:
    return config.default_dataset()


def folder() -> str:
    return str(checkpoint_dir())


@st.cache_resource(show_spinner="Loading models…")
def workspace(task: str, dataset_spec: str, checkpoints: str, collections: tuple = ()):
    from analysis.explore.workspace import Workspace

    return Workspace(task, dataset_spec, checkpoints, collections=collections)


def get_workspace(task: str, dataset_spec: str | None = None, collections: tuple | None = None):
    """The cached workspace, or None after telling the user what is missing.

    Cards that fail their schema are left out of the workspace, each with its sentence.
    ``collections``: checkpoint collections (e.g. ``("loss-grid",)``) shown beside the zoo
    (None: those a randomized task's or a corruption cell's processors live in,
    ``task_collections``).
    """
    from analysis.explore.workspace import task_collections

    for problem in dict.fromkeys(broken_cards(folder()).values()):   # a clash: one sentence
        st.warning(f"Skipped a checkpoint: {problem}")
    try:
        ds = dataset_spec or dataset()
        if collections is None:
            collections = task_collections(task, ds, folder())
        return workspace(task, ds, folder(), tuple(collections))
    except RAExplorerError as exc:
        st.warning(str(exc))
        return None


@st.cache_resource(show_spinner=False, max_entries=64)
def load_result(path: str, mtime: float) -> dict | list | None:
    """The parsed file, shared by every session and rerun (not copied: st.cache_data's copy
    of the Table 17 report took 0.125 s of each Boundaries run); callers never modify it."""
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def result_exists(name: str) -> bool:
    """Whether results/ holds ``name`` (without reading it)."""
    return (results_dir() / name).exists()


def result(name: str):
    """A JSON file from results/ (cached until the file changes), or None."""
    path = results_dir() / name
    return load_result(str(path), path.stat().st_mtime if path.exists() else 0.0)


def show_source(name: str, payload: dict) -> None:
    """Under a table or figure: which file it comes from and how it was made (one line), the
    whole provenance record on demand."""

    path = results_dir() / name
    try:
        shown = path.relative_to(config.PROJECT_ROOT)
    except ValueError:
        shown = path
    record = payload.get("provenance")
    st.caption(f"From `{shown}` — "
               + provenance_summary(record, payload.get("n_images") or payload.get("images")))
    if record:
        with st.expander("How this was made"):
            # plain text: the code highlighter and JSON viewer are 1.7 MB of lazily loaded
            # code, about a second of a page's first view in a slow browser
            st.text(record.get("command", ""))
            st.text(json.dumps(record, indent=1))


def weights_notice(name: str, payload: dict, command: str) -> bool:
    """Above a result from results/: a warning when it was measured with other weights than
    the checkpoint folder holds now, naming them and ``command`` (the command that measures it
    again, with the settings in force). Returns whether it was."""
    note = other_weights(payload, folder(), folders.command_in_force(command))
    if note:
        st.warning(f"`{name}` was {note}; what is shown below describes those weights, not "
                   "the current ones.")
    return note is not None


def missing(what: str, command: str, task: str = "sr"):
    """One sentence: what is not there yet and the command that produces it (``task``: the
    task the training commands of another dataset than the embedded default are for)."""
    st.info(f"Not there yet: {what}. Run " + " then ".join(
        f"`{folders.command_in_force(c)}`" for c in commands_for(command, task))
        + " to produce it.")


def commands_for(command: str, task: str = "sr") -> list[str]:
    """The commands that make what ``command`` makes, on the dataset in force: ``build-zoo``
    plans the embedded default's zoo only, so another dataset gets the training commands of
    ``task`` (:func:`analysis.data.folders.zoo_commands`)."""
    if not command.startswith("python -m analysis build-zoo"):
        return [command]
    return folders.zoo_commands(dataset(), folder(), task)
