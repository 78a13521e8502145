"""The corruption benchmark's tasks: the library's own output, seeded determinism across
processes, the adapters of the types that current libraries break, and RGB image folders."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.data.corruptions import (
    CORRUPTIONS,
    PATCHED,
    corrupt_image,
    corrupt_uint8,
    library,
    numpy_seeded,
)
from analysis.data.datasets import load_dataset
from analysis.data.tasks import corruption_specs, create_task
from analysis.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _photo(size=40, seed=0) -> np.ndarray:
    """A smooth (size, size, 3) uint8 colour image with edges (blur and JPEG change it)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((size, size), Image.BILINEAR))


def _library_output(name, level, image, seed, monkeypatch):
    """``imagecorruptions.corrupt`` itself, seeded; for the types current libraries break, with
    the removed names restored around the call (skimage's ``multichannel``, ``np.float_``) and
    impulse noise's generator seeded."""
    lib = library()
    if name in ("glass_blur", "gaussian_blur"):
        from skimage.filters import gaussian

        def old_gaussian(img, sigma=1, multichannel=False, **kw):
            return gaussian(img, sigma=sigma, channel_axis=-1 if multichannel else None, **kw)
        monkeypatch.setattr(lib.corruptions, "gaussian", old_gaussian)
    if name == "impulse_noise":   # skimage's generator seeded from NumPy's state, as documented
        from skimage.util import random_noise

        def seeded(img, **kw):
            return random_noise(img, rng=np.random.default_rng(np.random.randint(2**32)), **kw)
        monkeypatch.setattr(lib.corruptions.sk.util, "random_noise", seeded)
    if name == "fog":
        monkeypatch.setattr(np, "float_", np.float64, raising=False)
    np.random.seed(seed)
    with np.errstate(all="ignore"):
        out = lib.corrupt(image, severity=level, corruption_name=name)
    monkeypatch.undo()
    return out


@pytest.mark.parametrize("level", [1, 5])
@pytest.mark.parametrize("name", CORRUPTIONS)
def test_each_type_equals_the_librarys_own_output(name, level, monkeypatch):
    image = _photo()
    ours = corrupt_uint8(image, name, level, seed=1234)
    theirs = _library_output(name, level, image, 1234, monkeypatch)
    assert ours.shape == theirs.shape == image.shape and ours.dtype == np.uint8
    assert np.array_equal(ours, theirs)
    if name != "saturate" or level > 1:
        assert not np.array_equal(ours, image)


def test_the_unbroken_types_run_the_library_unchanged():
    """Every type but the adapted ones is the library's own function object."""
    from analysis.data.corruptions import functions

    for name in CORRUPTIONS:
        assert (functions()[name] is library().corruption_dict[name]) == (name not in PATCHED)


def test_impulse_noise_replaces_the_stated_fraction_with_black_and_white():
    image = np.full((64, 64, 3), 128, np.uint8)
    out = corrupt_uint8(image, "impulse_noise", 5, seed=0)     # amount 0.27 of the values
    changed = out != image
    assert abs(changed.mean() - 0.27) < 0.02 and set(np.unique(out[changed])) <= {0, 255}
    assert np.array_equal(corrupt_uint8(image, "impulse_noise", 5, seed=0), out)
    assert not np.array_equal(corrupt_uint8(image, "impulse_noise", 5, seed=1), out)


def test_spatter_with_an_empty_water_layer_leaves_the_image_unchanged(monkeypatch):
    image = _photo(32)
    empty = []
    for seed in range(400):     # seeds whose water layer has no pixel over the threshold
        np.random.seed(seed)
        with np.errstate(all="ignore"):
            theirs = library().corrupt(image, severity=1, corruption_name="spatter")
        ours = corrupt_uint8(image, "spatter", 1, seed)
        if theirs.max() == 0:
            empty.append(seed)
            assert np.array_equal(ours, image)
        else:
            assert np.array_equal(ours, theirs)
    assert empty, "no seed of 400 gave an empty water layer"


def test_grayscale_28px_is_padded_corrupted_cropped_and_back_to_one_channel(monkeypatch):
    x = torch.from_numpy(_photo(28)[:, :, :1].astype(np.float32) / 255).permute(2, 0, 1)
    out = corrupt_image(x, "gaussian_noise", 3, seed=7)
    assert out.shape == (1, 28, 28)
    gray = (x[0] * 255).round().to(torch.uint8).numpy()
    padded = np.pad(np.repeat(gray[:, :, None], 3, axis=2), ((2, 2), (2, 2), (0, 0)),
                    mode="reflect")
    np.random.seed(7)
    theirs = library().corrupt(padded, severity=3, corruption_name="gaussian_noise")
    assert torch.equal(out[0], torch.from_numpy(theirs[2:30, 2:30, 0] / np.float32(255)))
    # frost adds a coloured layer: the grey image is the library's rgb2gray of it
    frost = corrupt_image(x, "frost", 5, seed=7)[0].numpy()
    np.random.seed(7)
    rgb = library().corrupt(padded, severity=5, corruption_name="frost")[2:30, 2:30] / 255.0
    assert np.allclose(frost, library().corruptions.rgb2gray(rgb), atol=1e-6)
    assert not np.allclose(frost, rgb[..., 0], atol=1e-3)


def test_saturate_is_the_identity_on_grayscale_images():
    x = torch.from_numpy(_photo(28)[:, :, :1].astype(np.float32) / 255).permute(2, 0, 1)
    for level in (1, 5):
        assert torch.equal(corrupt_image(x, "saturate", level, seed=0), x)


def test_seeding_restores_numpys_global_state():
    np.random.seed(99)
    expected = np.random.rand(3)
    np.random.seed(99)
    with numpy_seeded(5):
        np.random.rand(10)
    assert np.array_equal(np.random.rand(3), expected)
    np.random.seed(99)
    corrupt_uint8(_photo(), "snow", 5, seed=3)
    assert np.array_equal(np.random.rand(3), expected)


_DIGEST = """
import hashlib, sys, torch
sys.path.insert(0, {root!r})
from analysis.data.tasks import create_task
g = torch.Generator().manual_seed(0)
x = torch.nn.functional.interpolate(torch.rand(4, 1, 7, 7, generator=g), size=(28, 28),
                                    mode="bilinear")
h = hashlib.sha256()
for spec in {specs!r}:
    h.update(create_task(spec).degrade_eval(x, [0, 5, 9, 10000]).numpy().tobytes())
print(h.hexdigest())
"""


def test_the_same_bytes_from_two_processes_and_in_this_one():
    specs = ["corrupt:type=snow,level=5", "corrupt:type=glass_blur,level=1",
             "corrupt:type=impulse_noise,level=2",
             "corrupt:type=fog,level=3", "corrupt:type=frost,level=2",
             "corrupt:type=elastic_transform,level=4"]
    code = _DIGEST.format(root=str(ROOT), specs=specs)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    h = hashlib.sha256()
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(4, 1, 7, 7, generator=g), size=(28, 28),
                                        mode="bilinear")
    for spec in specs:
        h.update(create_task(spec).degrade_eval(x, [0, 5, 9, 10000]).numpy().tobytes())
    assert runs[0] == runs[1] == h.hexdigest()


def test_per_index_seeds_differ_between_images_types_and_levels():
    x = torch.full((2, 1, 28, 28), 0.5)
    snow5 = create_task("corrupt:type=snow,level=5")
    a = snow5.degrade_eval(x, [0, 1])
    assert not torch.equal(a[0], a[1])                                    # per image
    assert torch.equal(snow5.degrade_eval(x[:1], [1])[0], a[1])           # per index, not slot
    noise = create_task("corrupt:type=gaussian_noise,level=5").degrade_eval(x, [0, 1]) - 0.5
    speckle = create_task("corrupt:type=speckle_noise,level=5").degrade_eval(x, [0, 1]) - 0.5
    assert abs(float(torch.corrcoef(torch.stack([noise.flatten(), speckle.flatten()]))[0, 1])) < 0.2


def test_specs_are_checked_with_one_sentence():
    assert create_task("corrupt:type=snow,level=5").spec == "corrupt:level=5,type=snow"
    assert create_task("corrupt:level=5,type=snow").slug == "corrupt_level5_typesnow"
    with pytest.raises(InputError, match="Did you mean 'snow'"):
        create_task("corrupt:type=snw,level=5")
    with pytest.raises(InputError, match="must be one of 1, 2, 3, 4, 5; got 6"):
        create_task("corrupt:type=snow,level=6")
    with pytest.raises(InputError, match="needs level"):
        create_task("corrupt:type=snow")
    with pytest.raises(InputError, match="needs type and level"):
        create_task("corrupt")
    specs = corruption_specs()
    assert len(specs) == len(set(specs)) == 95 and specs[0] == "corrupt:level=1,type=gaussian_noise"


@pytest.mark.parametrize("size", [40, 20])
def test_every_type_on_an_rgb_image_folder(tmp_path, size):
    root = tmp_path / "imgs"
    for c, cls in enumerate(("cat", "dog")):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(_photo(size, seed=10 * c + i)).save(root / cls / f"{i}.png")
    test = load_dataset(f"imagefolder:{root}", "test")
    x = torch.stack([test[i][0] for i in range(len(test))])
    assert x.shape[1:] == (3, size, size)
    for name in CORRUPTIONS:
        task = create_task("corrupt", type=name, level=5)
        lq = task.degrade_eval(x, range(len(x)))
        assert lq.shape == x.shape and float(lq.min()) >= 0 and float(lq.max()) <= 1
        assert not torch.equal(lq, x), name
        assert torch.equal(task.degrade_eval(x, range(len(x))), lq)
    if size >= 32:   # no padding: the task's output is the library's own bytes
        first = (x[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        from analysis.data.corruptions import task_seed
        from analysis.data.tasks import index_seed

        spec = create_task("corrupt:type=motion_blur,level=2").spec
        gen = torch.Generator().manual_seed(index_seed(0))
        seed = task_seed(int(torch.randint(2**32, (1,), generator=gen)), spec)
        np.random.seed(seed)
        theirs = library().corrupt(first, severity=2, corruption_name="motion_blur")
        lq = create_task(spec).degrade_eval(x[:1], [0])[0]
        assert torch.equal(lq, torch.from_numpy(theirs / np.float32(255)).permute(2, 0, 1))
