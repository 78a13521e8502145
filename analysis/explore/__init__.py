"""What the app's pages compute, without Streamlit (the app's views are thin layers over this)."""
