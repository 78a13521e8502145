"""Where a run writes its result files: results/ only for the full protocol, else a run folder.

The shipped numbers in results/ are what README and the app show, so only a run with the full
protocol (the verb's protocol options at their defaults: no ``--sample``, the default
``--first``, selection and seeds) may rewrite them. Any other run writes to
``runs/<verb>/<UTC time stamp>/`` (or the ``--out`` folder the user names) and says where.
Results of a dataset other than the embedded default live under ``results/datasets/<slug>/``
(:func:`analysis.data.folders.results_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..config import runs_dir
from ..data.folders import results_dir


@dataclass(frozen=True)
class Destination:
    """The folder a run writes to, whether it is the full protocol, and why (one sentence)."""

    folder: Path
    full_protocol: bool
    why: str


def run_folder(verb: str, now: datetime | None = None) -> Path:
    """A new ``runs/<verb>/<YYYYmmdd-HHMMSS>[-k]/`` folder (created; never an existing one)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    base = runs_dir() / verb
    for k in range(1, 1000):
        folder = base / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{base} already holds 999 runs stamped {stamp}.")


def destination(verb: str, dataset: str, departures: list[str], out=None) -> Destination:
    """Where ``verb`` writes.

    Args:
        verb: the CLI verb (names the run folder).
        dataset: the dataset spec the result was measured on (scopes results/).
        departures: the protocol options that differ from the full protocol, as the user typed
            them (``["--sample 100"]``); empty for the full protocol.
        out: a folder the user named (``--out``): used as given.
    """
    full = not departures
    if out:
        return Destination(Path(out), full, f"Writing to {out} (--out).")
    if full:
        folder = results_dir(dataset=dataset)
        return Destination(folder, True, f"Full protocol: updating {folder}.")
    folder = run_folder(verb)
    return Destination(folder, False,
                       f"Not the full protocol ({', '.join(departures)}): writing to {folder}; "
                       f"{results_dir(dataset=dataset)} is untouched.")
