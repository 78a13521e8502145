"""The Streamlit app: thin pages (views/) and UI blocks (components/) over analysis/; main.py is
the navigation, launch.py the launcher (``python -m analysis app`` or ``bash scripts/main.sh``)."""
