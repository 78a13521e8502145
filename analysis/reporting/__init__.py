"""Reporting: result files with provenance, the RA paper's tables, and figures."""
