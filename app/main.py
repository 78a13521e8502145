"""RA Explorer: the Streamlit app. Run with ``bash scripts/main.sh`` (see README.md)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="RA Explorer", layout="wide")
HERE = Path(__file__).resolve().parent
pages = [
    st.Page(str(HERE / "views" / "compare.py"), title="Compare", icon=":material/compare:", default=True),
    st.Page(str(HERE / "views" / "metrics.py"), title="Metrics", icon=":material/table_chart:"),
    st.Page(str(HERE / "views" / "boundaries.py"), title="Boundaries", icon=":material/map:"),
    st.Page(str(HERE / "views" / "features.py"), title="Features", icon=":material/scatter_plot:"),
    st.Page(str(HERE / "views" / "survey.py"), title="Survey", icon=":material/how_to_vote:"),
    st.Page(str(HERE / "views" / "survey_results.py"), title="Survey results",
            icon=":material/lock:"),
]
st.navigation(pages).run()
