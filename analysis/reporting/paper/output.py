"""Writing a :class:`~.core.PaperFigure`: PDF / SVG / PNG bytes with the provenance in the file's
metadata, and the CSV of the plotted numbers beside each file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ...errors import InputError
from .core import PaperFigure, paper_style

FORMATS = ("pdf", "svg", "png")
MIME = {"pdf": "application/pdf", "svg": "image/svg+xml", "png": "image/png"}
CREATOR = "RA Explorer (python -m analysis figure)"


def check_formats(formats) -> list[str]:
    """``"pdf,png"`` or a list -> the list, each one of :data:`FORMATS`."""
    names = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)
             if f.strip()]
    bad = [f for f in names if f not in FORMATS]
    if bad or not names:
        raise InputError(f"Unknown figure format {', '.join(bad) or '(none)'}; use pdf, svg or png "
                         "(comma-separated).")
    return list(dict.fromkeys(names))


def metadata(fig: PaperFigure, fmt: str) -> dict:
    """The file metadata: title, creator and the provenance (JSON); no creation date, so that
    the same call writes the same bytes."""
    prov = json.dumps(fig.provenance, sort_keys=True)
    if fmt == "pdf":
        return {"Title": fig.title, "Subject": prov, "Keywords": f"ra-explorer figure {fig.kind}",
                "Creator": CREATOR, "CreationDate": None}
    if fmt == "svg":
        return {"Title": fig.title, "Description": prov, "Creator": CREATOR, "Date": None,
                "Keywords": ["ra-explorer", fig.kind]}
    return {"Title": fig.title, "Description": prov, "Software": CREATOR}


def figure_bytes(fig: PaperFigure, fmt: str, dpi: int) -> bytes:
    """The figure as a PDF / SVG / PNG file (PNG at ``dpi``; vector formats are resolution-free)."""
    fmt = check_formats([fmt])[0]
    buf = io.BytesIO()
    with paper_style():
        fig.figure.savefig(buf, format=fmt, dpi=dpi, metadata=metadata(fig, fmt))
    return buf.getvalue()


def csv_text(rows: list[dict]) -> str:
    """The plotted numbers: one line per row, columns the union of the rows' keys (in order)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def save_figure(fig: PaperFigure, stem: Path, formats=FORMATS, dpi: int = 300) -> list[Path]:
    """Write ``stem.<fmt>`` for each format and ``stem.csv``; returns the paths written."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in check_formats(formats):
        path = stem.parent / f"{stem.name}.{fmt}"
        path.write_bytes(figure_bytes(fig, fmt, dpi))
        written.append(path)
    path = stem.parent / f"{stem.name}.csv"
    path.write_text(csv_text(fig.rows))
    return [*written, path]
