"""The defaults the Python API shares with the CLI (``python -m analysis bd``, ``figure``) and the
app's Boundaries page: the boundary search and the decision-map grid, in [0,1]-pixel L2 units.
Once analysis/analyses/boundary_defaults.py exists, these names are read from it."""

from __future__ import annotations

from ..explore.plane import DEFAULT_EXTENT_MULTIPLE, DEFAULT_RESOLUTION
from ..reporting.paper import FigureOptions

BD_MAX_DIST = 30.0            # search range, [0,1]-pixel L2 (`bd --max-dist`, the Boundaries page)
BD_TOL = 1e-3                 # bisection tolerance, same units (`bd --tol`)
BD_SCHEDULE = "geometric"     # coarse scan (`bd --schedule`)
BD_FIRST_STEP = 0.02          # geometric: first and smallest gap (`bd --first-step`)
BD_GROWTH = 0.25              # geometric: gap as a fraction of t (`bd --growth`)
BD_STEPS = 30                 # uniform: number of equal steps (`bd --steps`)
MAP_RESOLUTION = DEFAULT_RESOLUTION          # grid points per axis (the Boundaries page)
MAP_EXTENT_RA = DEFAULT_EXTENT_MULTIPLE      # half-width in multiples of ||x_RA - x|| (the page)
MAP_EXTENT_L2 = FigureOptions.extent         # half-width in [0,1]-pixel L2 without an x_RA
