"""The decision maps as the Boundaries page shows them: pixel-exact images and clicks."""

import numpy as np
import pytest
import torch
from PIL import ImageColor

from analysis.analyses.boundary_maps import DecisionMap, grid_axes
from analysis.explore.map_view import class_palette, map_pixels, plane_point_at


def _map(res=8, extent=2.0):
    us, vs = grid_axes(extent, res)
    classes = torch.zeros(res, res, dtype=torch.long)
    classes[:, res // 2:] = 1            # class 1 where u > 0
    classes[res - 1, 0] = 2              # one point at the largest v, smallest u
    return DecisionMap(classes, us, vs, res * res, False)


def test_the_map_image_is_pixel_exact_with_v_upwards_and_the_marks_drawn():
    dmap, scale = _map(), 4
    names = ["a", "b", "c"]
    colours = [ImageColor.getrgb(c) for c in class_palette(3)]
    plain = map_pixels(dmap, names, ra_u=None, scale=scale)
    assert plain.shape == (32, 32, 3) and plain.dtype == np.uint8
    assert tuple(plain[1, 1]) == colours[2]              # v largest is the top row
    assert tuple(plain[31, 1]) == colours[0] and tuple(plain[31, 30]) == colours[1]
    # away from the marks every scale x scale block is one grid point's colour
    grid = np.flipud(dmap.classes.numpy())
    for i, j in ((0, 0), (0, 7), (7, 0), (7, 7), (2, 6)):
        block = plain[i * scale:(i + 1) * scale, j * scale:(j + 1) * scale]
        assert (block == colours[grid[i, j]]).all(), (i, j)
    marked = map_pixels(dmap, names, ra_u=1.5, scale=scale)
    ys, xs = np.nonzero((marked == 0).all(-1))           # black: the cross and the diamond's edge
    assert len(xs) and abs(xs.mean() - 16) < 8           # near the origin and the RA output
    assert (marked == 255).all(-1).any()                 # the diamond's white inside


def test_a_click_names_the_grid_point_under_it():
    dmap = _map(res=8, extent=2.0)
    us, vs = dmap.us.numpy().round(3), dmap.vs.numpy().round(3)
    assert plane_point_at(dmap, 0, 0, 320, 320) == (us[0], vs[-1])          # top left
    assert plane_point_at(dmap, 319, 319, 320, 320) == (us[-1], vs[0])      # bottom right
    assert plane_point_at(dmap, 5 * 40 + 3, 2 * 40 + 39, 320, 320) == pytest.approx(
        (us[5], vs[8 - 1 - 2]), abs=1e-9)
    assert plane_point_at(dmap, 999, -5, 320, 320) == (us[-1], vs[-1])      # clamped
