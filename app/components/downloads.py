"""Download buttons (PDF / SVG / PNG) for a paper figure, built on click by the same builder as
``python -m analysis figure`` (:mod:`analysis.reporting.paper`)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from analysis.reporting.paper import FORMATS, MIME, FigureOptions, download, file_name
from app.components.common import dataset, folder, results_dir


def figure_options(**fields) -> FigureOptions:
    """Options on this app's dataset, checkpoints and results folder."""
    return FigureOptions(dataset=dataset(), checkpoints=folder(), results=results_dir(),
                         device="cpu", **fields)


def figure_downloads(kind: str, key: str, **fields) -> None:
    """One row of buttons: the figure of ``kind`` as PDF, SVG and PNG (keys ``<key>_<fmt>``)."""
    options = figure_options(**fields)
    cols = st.columns([1, 1, 1, 5])
    cols[3].caption(f"Paper figure ({kind}, {options.width:g} in wide, PNG at {options.dpi} dpi; "
                    "CSV and more options: `python -m analysis figure`)")
    for col, fmt in zip(cols, FORMATS):
        col.download_button(f"{fmt.upper()}", data=partial(download, kind, options, fmt),
                            file_name=file_name(kind, options, fmt), mime=MIME[fmt],
                            key=f"{key}_{fmt}", on_click="ignore", icon=":material/download:")
