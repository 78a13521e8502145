"""Degradations ("tasks") by name: the low-quality (LQ) inputs that processors restore.

A task maps clean images x in [0, 1], shape (N, C, H, W), to LQ inputs: for SR
the small image (N, C, H/k, W/k), otherwise an image of the same size. Each
image gets its own random generator: seeded from its dataset index in
evaluation (so the same index always gets the same degradation) and drawn from
the training generator in training.

Spec strings select a task and its parameters: ``sr`` (x4), ``sr:scale=2``,
``denoise`` (sigma 0.1), ``jpeg`` (quality 10), ``sr-random``,
``denoise-random``, ``jpeg-random`` (the RA paper's Table 15), ``compound``
(the three randomized ones in sequence) and the corruption benchmark
``corrupt:type=snow,level=5`` (the 19 ImageNet-C types of :mod:`analysis.data.corruptions`,
levels 1-5; both parameters required). Defaults follow the paper.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import SR_SCALES, check_choice, check_number
from ..errors import InputError, close_names_hint, unknown_name
from ..specs import canonical_spec, parse_spec
from .corruptions import CORRUPTIONS, LEVELS, corrupt_image, task_seed

# Table 15 of the RA paper: the parameter sets of the randomized degradations.
BLUR_SIGMAS = (0.5, 1.0, 1.5, 2.0, 2.5)
NOISE_SIGMAS = (0.08, 0.10, 0.12, 0.14, 0.16)
UNIFORM_RANGES = (0.1, 0.2, 0.3, 0.4, 0.5)
JPEG_QUALITIES = (5, 10, 20, 30, 40)

Degrade = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _choice(options, gen: torch.Generator):
    return options[int(torch.randint(len(options), (1,), generator=gen))]


def bicubic_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize with antialias (for downsampling), clamped to [0, 1]. x: (N, C, H, W)."""
    return F.interpolate(x, size=size, mode="bicubic", antialias=True,
                         align_corners=False).clamp(0, 1)


def downsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"Image size {h}x{w} is not divisible by the SR scale {scale}.")
    return bicubic_resize(x, (h // scale, w // scale))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with a kernel of 2 * ceil(3 sigma) + 1 taps and reflect padding."""
    from torchvision.transforms.functional import gaussian_blur as tv_blur

    k = 2 * math.ceil(3 * sigma) + 1
    k = min(k, 2 * (min(x.shape[-2:]) // 2) - 1)  # reflect padding needs k // 2 < size
    return tv_blur(x, kernel_size=[k, k], sigma=[sigma, sigma])


def jpeg_roundtrip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode and decode each image with Pillow's libjpeg at ``quality`` (1-95). x: (N, C, H, W)."""
    from PIL import Image

    out = []
    for img in x:
        array = (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        mode = "L" if array.shape[2] == 1 else "RGB"
        pil = Image.fromarray(array[:, :, 0] if mode == "L" else array, mode=mode)
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=int(quality))
        buffer.seek(0)
        decoded = np.asarray(Image.open(buffer).convert(mode))
        if mode == "L":
            decoded = decoded[:, :, None]
        out.append(torch.from_numpy(decoded.copy()).permute(2, 0, 1))
    return torch.stack(out).float() / 255.0


# ----------------------------------------------------------------------------- single-image degradations
# Each takes one image (1, C, H, W) and its generator and returns the LQ image.

def _sr(scale: int = 4) -> Degrade:
    return lambda x, gen: downsample(x, scale)


def _denoise(sigma: float = 0.1, clip: bool = True) -> Degrade:
    def apply(x, gen):
        y = x + sigma * torch.randn(x.shape, generator=gen)
        return y.clamp(0, 1) if clip else y
    return apply


def _jpeg(quality: int = 10) -> Degrade:
    return lambda x, gen: jpeg_roundtrip(x, quality)


def _sr_random(scale: int = 4) -> Degrade:
    return lambda x, gen: downsample(gaussian_blur(x, _choice(BLUR_SIGMAS, gen)), scale)


def _uniform(shape, width: float, gen: torch.Generator) -> torch.Tensor:
    """Uniform noise on [-width/2, width/2] ("range" = width of the interval)."""
    return (torch.rand(shape, generator=gen) - 0.5) * width


def _denoise_random() -> Degrade:
    def apply(x, gen):
        kind = _choice(("gaussian", "additive-uniform", "multiplicative-uniform"), gen)
        if kind == "gaussian":
            y = x + _choice(NOISE_SIGMAS, gen) * torch.randn(x.shape, generator=gen)
        elif kind == "additive-uniform":
            y = x + _uniform(x.shape, _choice(UNIFORM_RANGES, gen), gen)
        else:
            y = x * (1 + _uniform(x.shape, _choice(UNIFORM_RANGES, gen), gen))
        return y.clamp(0, 1)
    return apply


def _jpeg_random() -> Degrade:
    return lambda x, gen: jpeg_roundtrip(x, _choice(JPEG_QUALITIES, gen))


def _compound(scale: int = 4) -> Degrade:
    steps = (_sr_random(scale), _denoise_random(), _jpeg_random())

    def apply(x, gen):
        for step in steps:
            x = step(x, gen)
        return x
    return apply


def _corrupt(type: str, level: int) -> Degrade:   # noqa: A002 (the spec's parameter name)
    spec = canonical_spec("corrupt", {"level": level, "type": type})

    def apply(x, gen):
        image_seed = int(torch.randint(2**32, (1,), generator=gen))
        return corrupt_image(x[0], type, level, task_seed(image_seed, spec))[None]
    return apply


@dataclass(frozen=True)
class Param:
    """One task parameter: its type (int, float, bool or str) and the values it may take."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None

    def check(self, task: str, name: str, value):
        what = f"The {task} parameter {name!r}"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{what} must be true or false; got {value!r}.")
            return value
        if self.kind is str:
            if value not in self.choices:
                raise InputError(f"{what} must be one of {', '.join(self.choices)}; got {value!r}."
                                 f"{close_names_hint(str(value), list(self.choices))}")
            return value
        value = check_number(value, what, self.kind, self.low, self.high)
        return check_choice(value, what, self.choices) if self.choices else value


SCALE = Param(int, choices=tuple(s for s in SR_SCALES if s > 1))   # what SRResNet can upsample
SIGMA = Param(float, 0.0, 1.0)            # noise std in [0, 1]-pixel units
QUALITY = Param(int, 1, 100)              # libjpeg's quality range


@dataclass(frozen=True)
class TaskSpec:
    factory: Callable[..., Degrade]
    defaults: dict
    description: str
    scale_param: str | None = None  # the parameter holding the SR factor, if any
    random: bool = True             # whether the degradation draws random numbers
    params: dict = field(default_factory=dict)   # name -> Param, for every parameter it takes
    required: tuple = ()            # parameters without a default, which every spec must give


TASKS: dict[str, TaskSpec] = {
    "sr": TaskSpec(_sr, {"scale": 4}, "bicubic downsampling (antialiased) by scale", "scale", False,
                   {"scale": SCALE}),
    "denoise": TaskSpec(_denoise, {"sigma": 0.1}, "additive Gaussian noise of std sigma, clipped",
                        params={"sigma": SIGMA, "clip": Param(bool)}),
    "jpeg": TaskSpec(_jpeg, {"quality": 10}, "JPEG compression at quality q (libjpeg)",
                     random=False, params={"quality": QUALITY}),
    "sr-random": TaskSpec(_sr_random, {"scale": 4},
                          "Gaussian blur sigma in {0.5..2.5} then bicubic downsampling", "scale",
                          params={"scale": SCALE}),
    "denoise-random": TaskSpec(_denoise_random, {},
                               "one of Gaussian (sigma 0.08-0.16), additive or multiplicative "
                               "uniform noise (range 0.1-0.5)"),
    "jpeg-random": TaskSpec(_jpeg_random, {}, "JPEG at quality q in {5, 10, 20, 30, 40}"),
    "compound": TaskSpec(_compound, {"scale": 4},
                         "sr-random, then denoise-random, then jpeg-random", "scale",
                         params={"scale": SCALE}),
    "corrupt": TaskSpec(_corrupt, {}, "ImageNet-C corruption 'type' (19 types) at severity "
                        "'level' 1-5, e.g. corrupt:type=snow,level=5 (imagecorruptions, "
                        "reflect-padded to 32 px)",
                        params={"type": Param(str, choices=CORRUPTIONS),
                                "level": Param(int, choices=LEVELS)},
                        required=("type", "level")),
}


def check_task_params(name: str, params: dict) -> dict:
    """Check the parameters of task ``name`` (names, types, ranges); returns them with defaults.

    Raises :class:`~analysis.errors.InputError` (a ValueError) with one sentence, naming the
    close parameter names for a misspelt one.
    """
    spec = TASKS[name]
    for key, value in params.items():
        if key not in spec.params:
            takes = (f"it takes {', '.join(spec.params)}" if spec.params
                     else "it takes no parameters")
            raise InputError(f"Task {name!r} has no parameter {key!r}; {takes}."
                             f"{close_names_hint(key, list(spec.params))}")
        params[key] = spec.params[key].check(name, key, value)
    missing = [key for key in spec.required if key not in params]
    if missing:
        raise InputError(f"Task {name!r} needs {' and '.join(missing)} (for example "
                         f"'corrupt:type=snow,level=5'); got {canonical_spec(name, params)!r}.")
    return {**spec.defaults, **params}


def index_seed(index: int, seed: int = 0) -> int:
    """A well-mixed 63-bit seed for image ``index`` (SplitMix64 of seed and index)."""
    z = (seed * 0x9E3779B97F4A7C15 + index + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


@dataclass
class Task:
    """A named degradation with its parameters. See the module docstring."""

    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in TASKS:
            raise unknown_name("task", self.name, list(TASKS))
        self.params = check_task_params(self.name, dict(self.params))
        self._degrade = TASKS[self.name].factory(**self.params)

    @property
    def spec(self) -> str:
        """Canonical spec string, e.g. ``"sr:scale=4"``."""
        return canonical_spec(self.name, self.params)

    @property
    def slug(self) -> str:
        """The spec as a file-name part, e.g. ``"sr_scale4"`` (:func:`task_slug`)."""
        return task_slug(self.spec)

    @property
    def scale(self) -> int:
        """Spatial factor between the LQ input and the clean image (1 when sizes match)."""
        key = TASKS[self.name].scale_param
        return int(self.params[key]) if key else 1

    def degrade(self, x: torch.Tensor, seeds) -> torch.Tensor:
        """Degrade each image of x (N, C, H, W) with the generator seeded by ``seeds[i]``."""
        x = x.detach().float().cpu()
        if not TASKS[self.name].random:
            return self._degrade(x, None)  # deterministic: one batched call
        out = []
        for img, s in zip(x, seeds):
            gen = torch.Generator().manual_seed(int(s))
            out.append(self._degrade(img[None], gen))
        return torch.cat(out)

    def degrade_eval(self, x: torch.Tensor, indices, seed: int = 0) -> torch.Tensor:
        """Deterministic per image index: the same index always gets the same LQ image."""
        return self.degrade(x, [index_seed(int(i), seed) for i in indices])

    def degrade_train(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Random degradation drawn from the training generator ``gen``."""
        seeds = torch.randint(0, 2**62, (len(x),), generator=gen).tolist()
        return self.degrade(x, seeds)

    def upsample(self, lq: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The "no processing" baseline: LQ resized bicubically to the clean size."""
        if tuple(lq.shape[-2:]) == tuple(size):
            return lq.clamp(0, 1)
        return F.interpolate(lq, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def task_slug(spec: str) -> str:
    """A task spec as a file-name part: ``"sr:scale=4"`` -> ``"sr_scale4"``, ``"denoise:sigma=0.1"``
    -> ``"denoise_sigma0.1"`` (result files, record tables and figures are named by it)."""
    return spec.replace(":", "_").replace("=", "").replace(",", "_")


def short_spec(spec: str) -> str:
    """The shortest spec of a task for a command line: its name where the spec holds the name's
    defaults (``"sr:scale=4"`` -> ``"sr"``), else the spec (``"corrupt:level=5,type=snow"``)."""
    name = spec.split(":")[0]
    try:
        return name if create_task(name).spec == create_task(spec).spec else spec
    except InputError:               # a task whose parameters have no defaults
        return spec


def create_task(spec: str, **params) -> Task:
    """Build a task from a spec string (``"denoise:sigma=0.2"``) and/or keyword parameters."""
    name, parsed = parse_spec(spec)
    if name not in TASKS:
        raise unknown_name("task", name, list(TASKS))
    return Task(name, {**parsed, **params})


def corruption_specs(types=CORRUPTIONS, levels=LEVELS) -> list[str]:
    """The corruption benchmark's task specs, type-major: ``corrupt:level=1,type=gaussian_noise``,
    ... (19 types x 5 levels by default)."""
    return [create_task("corrupt", type=t, level=lv).spec for t in types for lv in levels]


def list_tasks() -> list[dict]:
    """One entry per task: name, default parameters, required parameters and description."""
    return [{"name": n, "defaults": s.defaults, "required": list(s.required),
             "description": s.description} for n, s in TASKS.items()]
