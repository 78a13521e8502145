"""The ImageNet-C corruptions (Hendrycks & Dietterich, ICLR 2019) on images of any size, seeded.

The corruption benchmark's tasks (``corrupt:type=snow,level=5``, see :mod:`analysis.data.tasks`)
call :func:`corrupt_image`. The corruptions themselves are the ``imagecorruptions`` package's
(PyPI, 1.1.2; the ImageNet-C code of Hendrycks & Dietterich made size-agnostic by Michaelis et
al., 2019), with ImageNet-C's parameters: the 15 benchmark types and the 4 extra ("validation")
types, 19 in all, severities 1-5.

How an image is corrupted (x: one image (C, H, W), float in [0, 1], C = 1 or 3):

1. 8-bit RGB: ``round(255 x)`` as uint8, a grayscale image (C = 1) repeated to three channels
   (what the library itself does with 2-D input).
2. Padding to the library's minimum of 32 px: a side shorter than 32 px is padded symmetrically
   by reflection (``numpy.pad(mode="reflect")``; a 28-px Fashion-MNIST image gets 2 px on each
   side). Padding rather than resampling keeps the image's own pixels and the corruption's pixel
   scale: the library's parameters are in pixels, so resampling to another size would change
   what each severity means and blur the image before it is corrupted.
3. The library's corruption at ``level`` (1-5), with NumPy's global random state seeded by
   ``seed`` for this call only (the state is restored afterwards): the same seed gives the same
   bytes in any process. The task passes :func:`task_seed` of the image's per-index seed and
   its spec, so every type and level draws its own numbers.
4. The padding is cropped off and uint8 goes back to [0, 1]. A grayscale image goes back to one
   channel as the library's own grayscale branches do it (its ``corrupt`` never reaches them:
   it always repeats a grayscale image to RGB): frost and spatter add coloured layers, which
   those branches turn grey with the library's ``rgb2gray`` weights (0.2989 R + 0.5870 G +
   0.1140 B); every other type treats the three channels alike (the noise types with
   independent draws per channel), and the first channel is kept, one draw at the library's
   stated strength (averaging the channels would cut the noise's standard deviation by a
   third; saturate's grayscale branch keeps the first channel too, so on a grayscale image
   saturate is the identity at every level: a grey pixel has hue 0, whose red channel stays).

ImageNet-C's parameters were set for 224-px images; applied at 28 px the spatial types
(defocus, glass, motion, zoom and Gaussian blur, elastic transform, snow, frost, fog, spatter)
are several times stronger relative to the object than on ImageNet, while the per-pixel ones
(noise, brightness, contrast, saturate, JPEG, pixelate) act as on ImageNet. The benchmark is
"the ImageNet-C recipe at native pixel scale", not CIFAR-10-C's re-tuned parameters.

Adapters, the smallest that run the library's own code under the current libraries:

* ``pkg_resources`` (the library imports ``resource_filename`` to find its frost images;
  setuptools 81+ does not ship it): while the library is imported, a stand-in module whose
  ``resource_filename(package, path)`` joins the package's folder and ``path`` is registered,
  and removed again afterwards.
* ``impulse_noise`` calls ``skimage.util.random_noise`` without a generator, which then draws
  from a fresh unseeded ``numpy.random.default_rng()`` (different bytes on every call): it runs as
  a copy of the library's function whose ``random_noise`` gets ``rng=default_rng(s)``, ``s`` one
  draw of ``np.random.randint(2**32)`` from the seeded global state.
* ``glass_blur`` and ``gaussian_blur`` call ``skimage.filters.gaussian(..., multichannel=True)``,
  an argument scikit-image 0.19 deprecated and 0.21 removed: they run as copies of the library's
  functions whose global ``gaussian`` translates ``multichannel=True`` to ``channel_axis=-1``
  (the replacement scikit-image names; the same filter).
* ``fog`` builds its plasma fractal with ``np.float_``, removed in NumPy 2: it runs as a copy of
  the library's function whose ``plasma_fractal`` is a copy of the library's with ``np.float_``
  bound to ``np.float64`` (what ``np.float_`` was).
* ``spatter`` at levels 1-3 divides its water layer by the layer's maximum, 0 when no pixel
  passes the threshold (about 1 % of 28-px images at level 1, rare at ImageNet's size); the
  library then computes NaN and casts it to a black image. The adapter runs the library's
  function with NumPy's floating-point errors raised and, when that division fails, returns the
  image unchanged (an empty water layer adds nothing).

Library functions are copied with :class:`types.FunctionType` on the same code and a changed
globals mapping; the library module itself is not modified.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import types
import warnings
import zlib

import numpy as np
import torch
from PIL import Image

# the order of imagecorruptions' corruption_tuple: 15 ImageNet-C types, then the 4 extra ones
COMMON = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
          "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
          "elastic_transform", "pixelate", "jpeg_compression")
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CORRUPTIONS = COMMON + EXTRA
LEVELS = (1, 2, 3, 4, 5)
MIN_SIDE = 32                     # the library refuses smaller images
PATCHED = ("impulse_noise", "glass_blur", "gaussian_blur", "fog", "spatter")   # the adapters above
LUMA = (0.2989, 0.5870, 0.1140)   # the library's rgb2gray weights (ITU-R BT.601)
COLOURED = ("frost", "spatter")   # the types that add coloured layers (grey by LUMA)


def _resource_filename(package: str, resource: str) -> str:
    """``pkg_resources.resource_filename`` for a file inside an imported package's folder."""
    return os.path.normpath(os.path.join(os.path.dirname(sys.modules[package].__file__),
                                         resource))


@functools.cache
def library():
    """The ``imagecorruptions`` package, imported (with the ``pkg_resources`` stand-in where
    setuptools lacks it)."""
    try:
        import pkg_resources  # noqa: F401
        stand_in = None
    except ImportError:
        stand_in = types.ModuleType("pkg_resources")
        stand_in.resource_filename = _resource_filename
        sys.modules["pkg_resources"] = stand_in
    try:
        with warnings.catch_warnings():   # its scipy.ndimage.interpolation import (deprecated)
            warnings.simplefilter("ignore", DeprecationWarning)
            # by name: on setuptools 81+ it imports only with the stand-in in place
            imagecorruptions = importlib.import_module("imagecorruptions")
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return imagecorruptions


def _with_globals(func, **names):
    """A copy of ``func`` (same code) whose globals are its module's with ``names`` replaced."""
    scope = {**func.__globals__, **names}
    copy = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    return copy


def skimage_gaussian(image, sigma=1.0, multichannel=None, **options):
    """``skimage.filters.gaussian`` accepting the removed ``multichannel=True`` (as
    ``channel_axis=-1``)."""
    from skimage.filters import gaussian

    if multichannel:
        options["channel_axis"] = -1
    return gaussian(image, sigma=sigma, **options)


def seeded_random_noise(image, **options):
    """``skimage.util.random_noise`` drawing from a generator seeded by NumPy's global state."""
    from skimage.util import random_noise

    return random_noise(image, rng=np.random.default_rng(np.random.randint(2**32)), **options)


class _NumpyWithFloat_:
    """The ``numpy`` module with ``float_`` (NumPy 1's alias of ``float64``)."""

    float_ = np.float64

    def __getattr__(self, name):
        return getattr(np, name)


@functools.cache
def functions() -> dict:
    """Corruption name -> ``f(PIL image, severity) -> array or PIL image``: the library's
    functions, the three of :data:`PATCHED` as the adapted copies described above."""
    module = library().corruptions
    table = dict(library().corruption_dict)
    for name in ("glass_blur", "gaussian_blur"):
        table[name] = _with_globals(table[name], gaussian=skimage_gaussian)
    fractal = _with_globals(module.plasma_fractal, np=_NumpyWithFloat_())
    table["fog"] = _with_globals(table["fog"], plasma_fractal=fractal)
    seeded = types.SimpleNamespace(util=types.SimpleNamespace(random_noise=seeded_random_noise))
    table["impulse_noise"] = _with_globals(table["impulse_noise"], sk=seeded)
    table["spatter"] = functools.partial(_spatter, table["spatter"])
    return table


def _spatter(spatter, image, severity):
    """The library's ``spatter``; the image unchanged where its water layer is empty."""
    with np.errstate(divide="raise", invalid="raise"):
        try:
            return spatter(image, severity)
        except FloatingPointError:
            return np.asarray(image)


@contextlib.contextmanager
def numpy_seeded(seed: int):
    """NumPy's global random state seeded with ``seed`` (0 <= seed < 2**32) inside the block,
    the caller's state restored after it."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def corrupt_uint8(image: np.ndarray, name: str, level: int, seed: int) -> np.ndarray:
    """The library's corruption ``name`` at ``level`` of an (H, W, 3) uint8 image with H, W >=
    32, NumPy seeded by ``seed``: (H, W, 3) uint8 (the library's ``corrupt`` for every type but
    :data:`PATCHED`, which run the same way through their adapters)."""

    with numpy_seeded(seed):
        return np.uint8(functions()[name](Image.fromarray(image), level))


def task_seed(image_seed: int, spec: str) -> int:
    """A 32-bit NumPy seed from an image's seed and the task's spec (so that each type and
    level draws its own random numbers for the same image)."""
    return (int(image_seed) ^ zlib.crc32(spec.encode())) & 0xFFFFFFFF


def corrupt_image(x, name: str, level: int, seed: int):
    """Corrupt one image x (C, H, W) float tensor in [0, 1], C = 1 or 3, as the module docstring
    says; returns a float tensor of the same shape in [0, 1]."""

    channels, height, width = x.shape
    array = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if channels == 1:
        array = np.repeat(array, 3, axis=2)
    pad_h, pad_w = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    top, left = pad_h // 2, pad_w // 2
    if pad_h or pad_w:
        array = np.pad(array, ((top, pad_h - top), (left, pad_w - left), (0, 0)), mode="reflect")
    out = corrupt_uint8(np.ascontiguousarray(array), name, level, seed)
    out = out[top:top + height, left:left + width].astype(np.float32) / 255.0
    if channels == 1:
        out = (out @ np.asarray(LUMA, dtype=np.float32) if name in COLOURED
               else out[:, :, 0])[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).clamp(0, 1)
