import pytest
import torch

from analysis.data.tasks import (
    JPEG_QUALITIES,
    NOISE_SIGMAS,
    TASKS,
    create_task,
    index_seed,
    jpeg_roundtrip,
    task_slug,
)
from analysis.errors import UnknownNameError


def images(n=6, c=1, size=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth images with structure, so JPEG and blur have something to change
    base = torch.rand(n, c, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear")


def example(name: str) -> str:
    """A spec of task ``name``: the name, or with its required parameters where it has some."""
    return "corrupt:type=snow,level=5" if name == "corrupt" else name


def test_every_task_with_required_parameters_has_an_example():
    assert all(example(n) != n for n, s in TASKS.items() if s.required)


@pytest.mark.parametrize("name", sorted(TASKS))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_task_shapes_range_and_determinism_per_index(name, channels):
    task = create_task(example(name))
    x = images(c=channels)
    lq = task.degrade_eval(x, range(6))
    assert lq.shape == (6, channels, 28 // task.scale, 28 // task.scale)
    assert float(lq.min()) >= 0 and float(lq.max()) <= 1
    again = task.degrade_eval(x, range(6))
    assert torch.equal(lq, again)
    # the same image index gives the same degradation wherever it sits in a batch
    reordered = task.degrade_eval(x[[3, 0]], [3, 0])
    assert torch.equal(reordered, lq[[3, 0]])
    assert not torch.equal(task.upsample(lq, (28, 28)), x)


@pytest.mark.parametrize("name", [n for n, s in TASKS.items() if s.random])
def test_random_tasks_differ_between_indices_and_training_draws(name):
    task = create_task(example(name))
    x = images(n=1).repeat(8, 1, 1, 1)
    lq = task.degrade_eval(x, range(8))
    assert len({tuple(v.flatten().tolist()) for v in lq}) > 1
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    assert not torch.equal(task.degrade_train(x, g1), task.degrade_train(x, g2))


def test_sr_is_antialiased_bicubic_downsampling():
    x = torch.zeros(1, 1, 28, 28)
    x[..., ::2] = 1.0  # a stripe pattern at the Nyquist frequency
    lq = create_task("sr:scale=4").degrade_eval(x, [0])
    assert lq.shape == (1, 1, 7, 7)
    assert float(lq.std()) < 0.05 and abs(float(lq.mean()) - 0.5) < 0.05  # aliasing removed


def test_gaussian_noise_statistics():
    task = create_task("denoise:sigma=0.1")
    x = torch.full((50, 1, 28, 28), 0.5)
    noise = task.degrade_eval(x, range(50)) - x
    assert abs(float(noise.std()) - 0.1) < 0.003
    assert abs(float(noise.mean())) < 0.002
    noise2 = create_task("denoise:sigma=0.2").degrade_eval(x, range(50)) - x
    assert abs(float(noise2.std()) - 0.2) < 0.006


def test_jpeg_is_really_lossy_and_quality_ordered():
    x = images(n=4, c=3, size=32) * 0.8 + 0.1 * torch.rand(4, 3, 32, 32,
                                                           generator=torch.Generator().manual_seed(0))
    errors = [float((jpeg_roundtrip(x, q) - x).pow(2).mean()) for q in (5, 10, 40, 90)]
    assert errors[0] > 0 and all(a > b for a, b in zip(errors, errors[1:]))
    lq = create_task("jpeg").degrade_eval(x, range(4))
    assert torch.allclose(lq, jpeg_roundtrip(x, 10))
    # a real codec on a flat image at q=10 gives exact-ish 8-bit values, not the input
    assert not torch.equal(lq, x)
    assert torch.equal(lq, (lq * 255).round() / 255)


def test_jpeg_random_uses_table_15_qualities():
    x = images(n=1, c=1, size=32).repeat(40, 1, 1, 1)
    lq = create_task("jpeg-random").degrade_eval(x, range(40))
    outcomes = {tuple(jpeg_roundtrip(x[:1], q).flatten().tolist()) for q in JPEG_QUALITIES}
    drawn = {tuple(v.flatten().tolist()) for v in lq}
    assert drawn <= outcomes and len(drawn) >= 3


def test_denoise_random_noise_levels_are_in_table_15_range():
    task = create_task("denoise-random")
    x = torch.full((60, 1, 28, 28), 0.5)
    stds = (task.degrade_eval(x, range(60)) - x).flatten(1).std(1)
    assert float(stds.min()) > 0.01 and float(stds.max()) < max(NOISE_SIGMAS) * 1.2
    assert len(set(stds.round(decimals=3).tolist())) > 3


def test_compound_runs_all_three_and_keeps_sr_scale():
    task = create_task("compound")
    assert task.scale == 4
    lq = task.degrade_eval(images(n=3), range(3))
    assert lq.shape == (3, 1, 7, 7)
    assert torch.equal(lq, (lq * 255).round() / 255)  # JPEG was the last step


def test_specs_parse_and_canonicalise():
    assert create_task("denoise").spec == "denoise:sigma=0.1"
    assert create_task("sr:scale=2").scale == 2
    assert create_task("jpeg:quality=20").spec == "jpeg:quality=20"
    with pytest.raises(ValueError, match="no parameter"):
        create_task("jpeg:sigma=3")
    with pytest.raises(UnknownNameError, match="denoise"):
        create_task("denoize")


def test_a_task_names_its_files_by_its_slug():
    # the names of the shipped result files (results/evaluate_sr_scale4.json ...)
    assert create_task("sr").slug == task_slug("sr:scale=4") == "sr_scale4"
    assert create_task("denoise").slug == "denoise_sigma0.1"
    assert create_task("jpeg").slug == "jpeg_quality10"
    assert task_slug("sr:scale=2,x=1") == "sr_scale2_x1"


def test_index_seed_is_stable_and_spread():
    assert index_seed(5) == index_seed(5)
    assert len({index_seed(i) for i in range(1000)}) == 1000
    assert index_seed(5, seed=1) != index_seed(5, seed=0)


def test_short_spec_is_the_name_only_where_the_spec_holds_its_defaults():
    from analysis.data.tasks import short_spec

    assert short_spec("sr:scale=4") == "sr" and short_spec("denoise-random") == "denoise-random"
    assert short_spec("denoise:sigma=0.2") == "denoise:sigma=0.2"
    assert short_spec("corrupt:level=5,type=snow") == "corrupt:level=5,type=snow"   # no defaults
