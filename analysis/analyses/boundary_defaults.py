"""The defaults of the boundary search and the boundary maps, in one place: the ``bd`` and
``figure`` verbs, the Python functions' keyword defaults and the app's Boundaries page read
them, so that a table, a notebook and the page measure the same way.

Distances and extents are L2 norms in [0,1]-pixel units unless the name says otherwise.
"""

from __future__ import annotations

# --- boundary distance search (BD / IBD, Table 17) -------------------------------------------
MAX_DIST = 30.0          # search range along a direction, [0,1]-pixel L2; beyond it: censored
TOL = 1e-3               # bisection tolerance, [0,1]-pixel L2
SCHEDULE = "geometric"   # coarse scan before the bisection: "geometric" or "uniform"
FIRST_STEP = 0.02        # geometric scan: first and smallest gap, [0,1]-pixel L2
GROWTH = 0.25            # geometric scan: gap after t as a fraction of t (0-1)
SCAN_STEPS = 30          # uniform scan: number of equal steps up to MAX_DIST
IMAGES = None            # test images of the BD table: None = the whole test split (Table 17)

# --- 2-D decision maps -------------------------------------------------------------------------
EXTENT_MULTIPLES = (1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 16.0, 25.0, 40.0)   # the page's zoom steps
EXTENT_MULTIPLE = 4.0    # the app's map half-width as a multiple of ||x_RA - x|| (--extent-ra)
MAP_RESOLUTION = 128     # the app's grid points per axis
FIGURE_EXTENT_L2 = 2.0   # `figure boundary-maps`: half-width, absolute [0,1]-pixel L2 (--extent-l2)
FIGURE_RESOLUTION = 48   # `figure boundary-maps`: grid points per axis (results/figures/ use it)

# --- which boundary distance (bd --method, the API, the Boundaries page) ----------------------
# "search" (the sampled scan + bisection) by default: the exact region walk crosses one linear
# region per forward pass, and a zoo classifier has tens of thousands of them per unit of L2
# along a ray (resnet20 on Fashion-MNIST: a kink about every 4e-5), so it costs ~10^3 times the
# search per pair; "exact" is the referee and the choice for a few images.
METHOD = "search"
METHODS = ("search", "exact")
