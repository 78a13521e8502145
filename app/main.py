"""RA Explorer: the Streamlit app. Run with ``bash scripts/main.sh`` (see README.md).

A rater link (``?study=NAME``, then ``&r=TOKEN``) or a browser that opened a valid one gets
the survey page alone: no navigation, and every other address shows the survey too, except
the two admin pages (token-gated). Its "Leave rater mode" button brings the navigation back.
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components.background import ACTIVITY, DEMO_DONE, LIBRARIES  # noqa: E402

st.set_page_config(page_title="RA Explorer", layout="wide")
# while the launcher's warm-up imports the libraries (app/launch.py), wait, and say so
if not LIBRARIES.acquire(blocking=False):
    with st.spinner("Starting up: loading torch and the models, once per start of the app "
                    "(a few seconds)...", show_time=True):
        LIBRARIES.acquire()
try:
    from app.components.survey_state import forget_left_rater_cookie, rater_mode
finally:
    LIBRARIES.release()
HERE = Path(__file__).resolve().parent
SURVEY = HERE / "views" / "survey.py"


def admin_pages(icons: bool = True) -> list:
    """The two token-gated pages (without icons in rater mode: a page's icon is its favicon,
    fetched from Google's font server, and a rater's browser loads nothing from elsewhere)."""
    return [st.Page(str(HERE / "views" / "survey_admin.py"), title="Survey studies",
                    icon=":material/how_to_vote:" if icons else None),
            st.Page(str(HERE / "views" / "survey_results.py"), title="Survey results",
                    icon=":material/lock:" if icons else None)]


forget_left_rater_cookie()
if "study" in st.query_params:     # a rater link: the demo study may be in the making
    DEMO_DONE.wait(timeout=300)    # (not inside a counted run: the warm-up goes on)
if rater_mode():
    # the survey at /survey and, for any other address, as the default page ("page not found")
    def survey():
        runpy.run_path(str(SURVEY), run_name="__main__")

    st.navigation([st.Page(survey, title="Survey", url_path="survey-start", default=True),
                   st.Page(str(SURVEY), title="Survey", url_path="survey"),
                   *admin_pages(icons=False)],
                  position="hidden").run()
    st.stop()
PAGES = {   # the navigation's sections: the three jobs people come for
    "Explore": [
        st.Page(str(HERE / "views" / "compare.py"), title="Compare", icon=":material/compare:",
                default=True),
        st.Page(str(HERE / "views" / "gallery.py"), title="Gallery", icon=":material/photo_library:"),
        st.Page(str(HERE / "views" / "features.py"), title="Features",
                icon=":material/scatter_plot:"),
    ],
    "Figures": [
        st.Page(str(HERE / "views" / "boundaries.py"), title="Boundaries", icon=":material/map:"),
        st.Page(str(HERE / "views" / "metrics.py"), title="Metrics", icon=":material/table_chart:"),
    ],
    "Survey": [
        st.Page(str(SURVEY), title="Survey", icon=":material/how_to_vote:"),
        *admin_pages(),
    ],
}
with ACTIVITY.run():        # background prefetches wait while a page runs
    st.navigation(PAGES).run()
