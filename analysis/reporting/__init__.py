"""Reporting: the RA paper's tables and figures (the same builders for files and the app), and
provenance reconstructed for result files made before it was kept."""
