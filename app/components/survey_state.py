"""The survey's cached database engine (one per URL)."""

import streamlit as st

from analysis.survey.db import database_url, make_engine, session_factory


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    return make_engine(url)


def sessions():
    return session_factory(_engine(database_url()))
