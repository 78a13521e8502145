"""The defaults the Python API shares with the CLI (``python -m analysis bd``, ``figure``) and the
app's Boundaries page, read from :mod:`analysis.analyses.boundary_defaults` (the one place): the
boundary search and the decision-map grid, in [0,1]-pixel L2 units."""

from __future__ import annotations

from ..analyses import boundary_defaults as d

BD_MAX_DIST = d.REFERENCE_MAX_DIST    # search range at 28x28x1 (`bd --max-dist`, the page)
bd_max_dist = d.max_dist_for          # the default range at C*H*W values: 30 * sqrt(C*H*W / 784)
BD_TOL = d.TOL                        # bisection tolerance, same units (`bd --tol`)
BD_SCHEDULE = d.SCHEDULE              # coarse scan (`bd --schedule`)
BD_FIRST_STEP = d.FIRST_STEP          # geometric: first and smallest gap (`bd --first-step`)
BD_GROWTH = d.GROWTH                  # geometric: gap as a fraction of t (`bd --growth`)
BD_STEPS = d.SCAN_STEPS               # uniform: number of equal steps (`bd --scan-steps`)
BD_METHOD = d.METHOD                  # "search" or "exact" (`bd --method`)
NB_ATTACK = d.NEAREST_ATTACK          # the nearest-boundary attack (`bd --attack`)
NB_STEPS = d.NEAREST_STEPS            # its iterations (`bd --attack-steps`)
NB_OVERSHOOT = d.OVERSHOOT            # DeepFool's overshoot (`bd --overshoot`)
MAP_RESOLUTION = d.MAP_RESOLUTION     # grid points per axis (the Boundaries page)
MAP_EXTENT_RA = d.EXTENT_MULTIPLE     # half-width in multiples of ||x_RA - x|| (the page)
MAP_EXTENT_L2 = d.FIGURE_EXTENT_L2    # half-width in [0,1]-pixel L2 without an x_RA
