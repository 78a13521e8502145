"""A result as two files: ``<stem>.json`` (the document) and ``<stem>.md`` (its table)."""

from __future__ import annotations

import json
from pathlib import Path

from ..data.folders import results_dir


def result_files(out_dir: Path | None, stem: str, dataset: str | None = None) -> tuple[Path, Path]:
    """(``<stem>.json``, ``<stem>.md``) in ``out_dir`` (default: the results folder of
    ``dataset``), created; ``stem`` may hold dots (task slugs such as ``sigma0.1``)."""
    out_dir = results_dir(out_dir, dataset=dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{stem}.json", out_dir / f"{stem}.md"


def write_result(result: dict, out_dir: Path | None, stem: str, formatter,
                 indent: int | None = 2) -> list[Path]:
    """``<stem>.json`` (the result) and ``<stem>.md`` (``formatter(result)``) in ``out_dir``
    (default: the results folder of the result's dataset); returns both paths."""
    json_path, md_path = result_files(out_dir, stem, result.get("dataset"))
    json_path.write_text(json.dumps(result, indent=indent) + "\n")
    md_path.write_text(formatter(result) + "\n")
    return [json_path, md_path]
