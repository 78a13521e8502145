"""The human-preference survey: study design, storage (SQLAlchemy) and statistics.

Two study types: ``2afc`` ("which is closer to the reference?"), ``2afc-noref``
("which looks better?", no reference shown) and ``label`` (the RA paper's
label-satisfaction study: which of two predicted labels describe the image).
"""
