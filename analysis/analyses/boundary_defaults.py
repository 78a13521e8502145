"""The defaults of the boundary search and the boundary maps, in one place: the ``bd`` and
``figure`` verbs, the Python functions' keyword defaults and the app's Boundaries page read
them, so that a table, a notebook and the page measure the same way.

Distances and extents are L2 norms in [0,1]-pixel units unless the name says otherwise.

The search range scales with the image: an L2 distance over D = C*H*W values is a per-pixel
RMS of L2 / sqrt(D), so the default range is ``REFERENCE_MAX_DIST * sqrt(D / REFERENCE_DIMS)``
(:func:`max_dist_for`): 30 at 28x28x1 (the shipped Table 17's range), 59.4 at 32x32x3 and
415.7 at 224x224x3, an RMS of 30 / 28 = 1.07 per value at every size.
"""

from __future__ import annotations

import math

# --- boundary distance search (BD / IBD, Table 17) -------------------------------------------
REFERENCE_MAX_DIST = 30.0   # the search range at REFERENCE_DIMS values, [0,1]-pixel L2
REFERENCE_DIMS = 784        # 28 x 28 x 1 (Fashion-MNIST)
MAX_DIST_RULE = "30 * sqrt(C*H*W / 784)"   # the default range in words (help, notes)
MAX_DIST = None          # search range along a direction, [0,1]-pixel L2, beyond it: censored;
                         # None = the default, scaled with the image (max_dist_for)
TOL = 1e-3               # bisection tolerance, [0,1]-pixel L2
SCHEDULE = "geometric"   # coarse scan before the bisection: "geometric" or "uniform"
FIRST_STEP = 0.02        # geometric scan: first and smallest gap, [0,1]-pixel L2
GROWTH = 0.25            # geometric scan: gap after t as a fraction of t (0-1)
SCAN_STEPS = 30          # uniform scan: number of equal steps up to the range
IMAGES = None            # test images of the BD table: None = the whole test split (Table 17)

# --- 2-D decision maps -------------------------------------------------------------------------
EXTENT_MULTIPLES = (1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 16.0, 25.0, 40.0)   # the page's zoom steps
EXTENT_MULTIPLE = 4.0    # the app's map half-width as a multiple of ||x_RA - x|| (--extent-ra)
MAP_RESOLUTION = 128     # the app's grid points per axis at up to MAP_REFERENCE_DIMS values
MAP_RESOLUTIONS = (32, 48, 64, 96, 128)   # the page's resolution steps
MAP_REFERENCE_DIMS = 3072   # 32 x 32 x 3: the largest image opened at MAP_RESOLUTION
MAP_OPENING_MARKS = (5, 3)   # points per axis of a progressive map's first grid: up to
#                              MAP_REFERENCE_DIMS values, and above (map_opening_marks)
MAP_BUDGET_S = 5.0       # the page's time budget for refining its maps, seconds
MAP_BUDGETS_S = (1.0, 2.0, 5.0, 15.0, 60.0, 300.0)   # the page's budget steps
FIGURE_EXTENT_L2 = 2.0   # a map's half-width, absolute [0,1]-pixel L2, where no x_RA gives the
#                          scale (the API's boundary_map without `towards`); `figure
#                          boundary-maps` uses EXTENT_MULTIPLE unless --extent-l2 is given
FIGURE_RESOLUTION = 48   # `figure boundary-maps`: grid points per axis (results/figures/ use it)

# --- which boundary distance (bd --method, the API, the Boundaries page) ----------------------
# "search" (the sampled scan + bisection) by default: the exact region walk crosses one linear
# region per forward pass, and a zoo classifier has tens of thousands of them per unit of L2
# along a ray (resnet20 on Fashion-MNIST: a kink about every 4e-5), so it costs ~10^3 times the
# search per pair; "exact" is the referee and the choice for a few images.
METHOD = "search"
METHODS = ("search", "exact")

# --- the nearest boundary and perceptual units (bd --nearest, the API's nearest_boundary) -----
# Foolbox's DDN (decoupled direction and norm) attack, NEAREST_STEPS steps, then bisection
# along x -> x_adv to TOL: an upper bound on the smallest L2 distance to another class. DDN
# because it came closest on the zoo's classifiers within 100 steps (resnet20 on the sr-plain
# outputs of the first Fashion-MNIST test images: median bound 0.074 against FMN's 0.241 on the
# same 24 images, DDN below FMN on all 24, and against DeepFool's 0.121 on 48; FMN's step and
# radius schedules suit larger distances); on a linear map DeepFool and FMN are tight
# and DDN is an upper bound (tests/analyses/test_boundary_nearest.py). On in the BD table by
# default (NEAREST_STEPS forward and backward passes per image and classifier, a few times
# the two directions' searches; `bd --no-nearest` leaves it out).
NEAREST = True
NEAREST_ATTACK = "ddn"   # "ddn", "fmn" or "deepfool" (all Foolbox's)
NEAREST_STEPS = 100      # attack iterations
OVERSHOOT = 0.02         # DeepFool's overshoot (the other attacks have none)
# BD in perceptual units: the LPIPS-style distance between x and the crossing point, of the
# pair's source classifier ("lpips-<source>") unless a metric is named; None in the API and
# the table: that default; "none": left out.
PERCEPTUAL = None


def max_dist_for(dims: int) -> float:
    """The default search range for images of ``dims`` = C*H*W values, [0,1]-pixel L2:
    ``REFERENCE_MAX_DIST * sqrt(dims / REFERENCE_DIMS)`` to one decimal (30.0 at 784 values,
    415.7 at 150,528), a per-pixel RMS of 1.07 at every size."""
    if dims < 1:
        raise ValueError(f"dims must be at least 1; got {dims}.")
    return round(REFERENCE_MAX_DIST * math.sqrt(dims / REFERENCE_DIMS), 1)


def search_range(max_dist: float | None, dims: int) -> float:
    """``max_dist`` if given, else the default for ``dims`` values (:func:`max_dist_for`)."""
    return max_dist_for(dims) if max_dist is None else float(max_dist)


def map_resolution_for(dims: int) -> int:
    """The Boundaries page's opening grid points per axis for images of ``dims`` = C*H*W
    values: the largest of :data:`MAP_RESOLUTIONS` not above
    ``MAP_RESOLUTION * sqrt(MAP_REFERENCE_DIMS / dims)`` (at least the smallest): 128 up to
    32 x 32 x 3, 64 at 64 x 64 x 3, 32 at 224 x 224 x 3, where a forward pass costs about 50
    times one at 32 x 32."""
    if dims < 1:
        raise ValueError(f"dims must be at least 1; got {dims}.")
    cap = MAP_RESOLUTION * math.sqrt(MAP_REFERENCE_DIMS / dims)
    return max([r for r in MAP_RESOLUTIONS if r <= cap], default=MAP_RESOLUTIONS[0])


def map_opening_marks(dims: int) -> int:
    """Points per axis of the first grid the Boundaries page draws for images of ``dims`` =
    C*H*W values: 5 (25 forwards per map) up to 32 x 32 x 3, 3 (9 forwards) above, so that
    the first coarse map of two ImageNet-size classifiers at 224 px comes in about a second."""
    return MAP_OPENING_MARKS[0] if dims <= MAP_REFERENCE_DIMS else MAP_OPENING_MARKS[1]
