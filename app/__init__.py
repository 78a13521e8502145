"""The Streamlit app (issue 7): thin pages over analysis/. Not built yet."""
