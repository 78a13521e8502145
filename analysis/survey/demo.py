"""The demo study made on the app's first start: 2AFC with reference on SR x4, plain vs RA
vs robust-perceptual, 30 trials plus catch trials and 2 practice trials."""

from __future__ import annotations

from sqlalchemy import func, select

from .db import Study

DEMO_NAME = "demo"
DEMO = {"task": "sr", "kind": "2afc", "methods": ["sr-plain", "sr-ra", "sr-robust-perceptual"],
        "n_images": 30, "n_trials": 30, "catch_rate": 0.1, "n_practice": 2, "seed": 0}


def ensure_demo(session, reset: bool = False, force: bool = False, workspace=None,
                dataset: str = "fashion-mnist", checkpoints=None) -> bool:
    """Make the demo study when the database holds no study at all (a first start), or
    always with ``force``; ``reset`` deletes an existing demo (and its answers) first.
    True when it was made."""
    from .content import study_from_zoo
    from .store import get_study

    existing = get_study(session, DEMO_NAME)
    if existing is not None and reset:
        from .store import delete_study, mark_exported

        mark_exported(session, existing)     # the reset is the user's explicit choice
        delete_study(session, existing, DEMO_NAME)
        existing = None
    if existing is not None:
        return False
    if not force and not reset and session.scalar(select(func.count()).select_from(Study)):
        return False
    if workspace is None:
        from ..explore.workspace import Workspace

        workspace = Workspace(DEMO["task"], dataset, checkpoints)
    methods = [m for m in DEMO["methods"] if m in workspace.processors]
    study_from_zoo(session, workspace, DEMO_NAME, DEMO["kind"], methods,
                   n_images=DEMO["n_images"], n_trials=DEMO["n_trials"],
                   catch_rate=DEMO["catch_rate"], seed=DEMO["seed"],
                   n_practice=DEMO["n_practice"])
    return True
