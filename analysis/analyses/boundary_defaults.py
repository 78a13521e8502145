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
FIGURE_EXTENT_L2 = 2.0   # a map's half-width, absolute [0,1]-pixel L2, where no x_RA gives the
#                          scale (the API's boundary_map without `towards`); `figure
#                          boundary-maps` uses EXTENT_MULTIPLE unless --extent-l2 is given
FIGURE_RESOLUTION = 48   # `figure boundary-maps`: grid points per axis (results/figures/ use it)
