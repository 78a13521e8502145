"""Small static tables as plain HTML in the page, and number formats for ``st.dataframe``.

``st.table`` sends its frame as Apache Arrow, and a browser's first visit then loads the
Arrow decoder (about 0.9 MB of JavaScript in Streamlit 1.67's chunks: arrowFormatUtils,
serialization, recordbatch, Quiver) before it can show a ten-row table; on the 2-core machine
of BENCHMARKS.md that was the last chunk the Boundaries page waited for. These tables are a
few rows of text, so they go as HTML, styled like ``st.table``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

_CSS = """<style>
.ra-table {border-collapse: collapse; font-size: 0.875rem; margin: 0 0 1rem 0;
           font-variant-numeric: tabular-nums;}
.ra-table th, .ra-table td {border-bottom: 1px solid rgba(49, 51, 63, 0.1);
                            padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap;}
.ra-table thead th {font-weight: 600; color: rgba(49, 51, 63, 0.6);}
.ra-table tbody th {font-weight: 400; color: rgba(49, 51, 63, 0.6); text-align: left;}
</style>"""


def table_html(frame: pd.DataFrame, index: bool = True) -> str:
    """``frame`` as an HTML table (text escaped; class ``ra-table``), with the index as the
    first column where ``index``."""
    shown = frame.copy()
    shown.columns = [str(c) for c in shown.columns]
    return _CSS + shown.to_html(index=index, escape=True, border=0, classes="ra-table",
                                index_names=False, na_rep="-")


def static_table(frame: pd.DataFrame, key: str, index: bool = True) -> None:
    """Show ``frame`` as a static HTML table in a container keyed ``key`` (its text is on the
    page: the browser tests read it there)."""
    with st.container(key=key):
        st.html(table_html(frame, index))


def number_formats(frame: pd.DataFrame, by_part: dict[str, str], default: str) -> dict:
    """``st.dataframe``'s number formats of ``frame``'s numeric columns: the format of the first
    key of ``by_part`` that is part of the column's name, else ``default`` (the frame keeps its
    full precision for sorting and download)."""
    return {c: st.column_config.NumberColumn(
                format=next((f for part, f in by_part.items() if part in c), default))
            for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
