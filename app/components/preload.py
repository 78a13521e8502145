"""An empty, hidden v2 component at the top of every page, so that a new browser fetches the
code every v2 component needs (Streamlit's BidiComponent chunk and the Arrow serialization it
imports, about 200 kB) while the page runs, instead of after the run when the page's first
component (a map, the thumbnail grid, the t-SNE) arrives at the end of it."""

from __future__ import annotations

import streamlit as st

_noop = st.components.v2.component(
    "ra_explorer_preload", css=".st-key-ra_preload {display: none;}",
    js="export default function () {}", isolate_styles=False)


def preload_component_code() -> None:
    """Emit the hidden component (no height, no gap: its container is not displayed)."""
    st.html("<style>.st-key-ra_preload {display: none !important;}</style>")
    with st.container(key="ra_preload"):
        _noop(key="ra_preload_component", data=None)
