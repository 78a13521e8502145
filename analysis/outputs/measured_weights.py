"""Whether a result still describes the checkpoints it names: every reader of a result file or
record table compares the SHA-256 each checkpoint had when the result was measured (its
provenance) with the one the checkpoint folder's card holds now.

``changed_weights(recorded, current)`` names the checkpoints whose digests differ (the one
comparison: record tables and JSON result files both use it); ``recorded_digests(result)`` the
digests a result document recorded; ``folder_digests(names, folder)`` the current ones;
``other_weights(result, folder, command)`` the phrase a reader shows for a result measured
with other weights, "measured with other weights of NAME: re-run 'COMMAND'", or None.

A card's digest is the one of its weights file (loading refuses a card and weights that
disagree), so comparing with the cards compares with the folder's current files without
reading every weights file on each page run.
"""

from __future__ import annotations

import os

from ..zoo.catalogue import find_checkpoints, places


def changed_weights(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """The names in both ``recorded`` and ``current`` (checkpoint name -> SHA-256) whose
    digests differ, sorted; a name only one of them holds is not compared."""
    return sorted(n for n, digest in recorded.items() if n in current and current[n] != digest)


def recorded_digests(result: dict) -> dict[str, str]:
    """{checkpoint name: SHA-256} a result document was measured with: its provenance's
    ``checkpoints`` and, where it has one, its ``models`` field (an evaluation's)."""
    record = result.get("provenance") or {}
    digests = {}
    for source in (result.get("models"), record.get("checkpoints")):
        if isinstance(source, dict):
            digests.update({n: d for n, d in source.items() if isinstance(d, str)})
    return digests


def folder_digests(names, folder: str | os.PathLike | None = None) -> dict[str, str]:
    """{name: SHA-256 its card holds now} of the checkpoints in ``names`` that ``folder`` (or
    one of its collections: :func:`~analysis.zoo.catalogue.places`) holds with a readable card
    whose name no other card gives; the others are left out (nothing to compare with)."""
    wanted, digests = set(names), {}
    for place in places(folder):            # the first place holding a name wins, as in locate
        for card in find_checkpoints(place):     # readable cards with a name of their own
            if card["name"] in wanted and card["name"] not in digests:
                digests[card["name"]] = card["weights"]["sha256"]
    return digests


def other_weights(result: dict, folder: str | os.PathLike | None = None,
                  command: str | None = None) -> str | None:
    """"measured with other weights of A, B: re-run 'COMMAND'" when checkpoints of ``result``
    (a result document with its provenance) have other weights in ``folder`` now; None when
    every checkpoint it names that the folder holds has the recorded weights.

    ``command``: the command that measures it again (default: the one its provenance
    recorded, else ``python -m analysis reproduce``)."""
    recorded = recorded_digests(result)
    changed = changed_weights(recorded, folder_digests(recorded, folder))
    if not changed:
        return None
    command = command or (result.get("provenance") or {}).get("command") or (
        "python -m analysis reproduce")
    return f"measured with other weights of {', '.join(changed)}: re-run '{command}'"
