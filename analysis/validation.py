"""Checks of values a user supplies, in one place, each failing with one sentence.

* ``check_number`` / ``check_choice``: a value's type and range (used by the task registry,
  the model-card schema and the argparse validators below);
* argparse ``type=`` validators (``positive_int``, ``non_negative_float``, ``device_name``,
  ``task_spec`` ...): they raise ``argparse.ArgumentTypeError`` so that argparse names the
  option; :class:`OneLineParser` prints that as one line, without the usage block;
* ``check_arch_kwargs`` / ``check_dataset_spec``: options of a registered architecture or
  dataset loader (names from the builder's / loader's signature, value types from its defaults);
* ``describe_exception``: the one line and exit status the CLI prints for an exception.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys

from .errors import InputError, RAExplorerError, close_names_hint

MAX_OPTION_INT = 2**16    # no constructor option of the zoo is near this; larger ones exhaust memory
SR_SCALES = (1, 2, 3, 4, 8, 16)   # the factors SRResNet's upsampler builds (3, or powers of two)


# ----------------------------------------------------------------------------- values

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounds(low, high, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"{'above' if low_open else 'from'} {low:g} {'and at most' if low_open else 'to'} {high:g}"
    if low is not None:
        return f"{'above' if low_open else 'of at least'} {low:g}"
    return f"of at most {high:g}"


def check_number(value, what: str, kind: type = float, low: float | None = None,
                 high: float | None = None, low_open: bool = False):
    """Return ``value`` as ``kind`` (int or float) if it is one and lies in range, else raise.

    ``what`` names the value in the sentence ("the sr parameter 'scale'"). Integers are
    accepted for floats; booleans, strings, NaN and infinities never are. ``low_open``
    excludes ``low`` itself.
    """
    wanted = "a whole number" if kind is int else "a number"
    ok_type = _is_int(value) if kind is int else _is_number(value)
    if not ok_type:
        raise InputError(f"{what} must be {wanted}"
                         + (f" {_bounds(low, high, low_open)}" if low is not None or high is not None
                            else "") + f"; got {value!r}.")
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number; got {value!r}.")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and value > high
    if below or above:
        raise InputError(f"{what} must be {wanted} {_bounds(low, high, low_open)}; got {value!r}.")
    return kind(value)


def check_choice(value, what: str, choices) -> object:
    """Return ``value`` if it is one of ``choices``, else raise with the choices listed."""
    if value not in tuple(choices):
        raise InputError(f"{what} must be one of {', '.join(str(c) for c in choices)}; "
                         f"got {value!r}.")
    return value


# ----------------------------------------------------------------------------- argparse validators

def _argtype(check):
    """Turn a checker that raises RAExplorerError into an argparse ``type=`` function."""
    def convert(text: str):
        try:
            return check(text)
        except RAExplorerError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = check.__name__
    convert.__doc__ = check.__doc__
    return convert


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{what} must be a whole number; got {text!r}.") from None


def _parse_float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{what} must be a number; got {text!r}.") from None


@_argtype
def positive_int(text: str) -> int:
    """A whole number >= 1 (counts, sizes, steps)."""
    return check_number(_parse_int(text, "the value"), "the value", int, low=1)


@_argtype
def sample_limit(text: str):
    """``--limit N``: a whole number >= 1 asking for a seeded class-stratified sample of N
    images (:class:`~analysis.data.sampling.Sample`)."""
    from .data.sampling import Sample

    return Sample(check_number(_parse_int(text, "the value"), "the value", int, low=1))


@_argtype
def non_negative_int(text: str) -> int:
    """A whole number >= 0 (seeds, optional steps)."""
    return check_number(_parse_int(text, "the value"), "the value", int, low=0)


@_argtype
def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, radii, tolerances)."""
    return check_number(_parse_float(text, "the value"), "the value", low=0, low_open=True)


@_argtype
def non_negative_float(text: str) -> float:
    """A finite number >= 0 (loss weights, weight decay, epsilon 0 = off)."""
    return check_number(_parse_float(text, "the value"), "the value", low=0)


@_argtype
def fraction(text: str) -> float:
    """A number in [0, 1] (rates)."""
    return check_number(_parse_float(text, "the value"), "the value", low=0, high=1)


def check_device(name: str | None) -> str | None:
    """``None`` / ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and present on this machine."""
    if name is None or name == "auto":
        return name
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(f"Unknown device {name!r}; use cpu, cuda, cuda:N or auto.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("CUDA was requested but no CUDA device is available; use --device cpu.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"There is no CUDA device {device.index}; this machine has "
                             f"{torch.cuda.device_count()} (cuda:0 to "
                             f"cuda:{torch.cuda.device_count() - 1}).")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise InputError("MPS was requested but is not available; use --device cpu.")
    elif device.type != "cpu":
        raise InputError(f"Unsupported device {name!r}; use cpu, cuda, cuda:N or auto.")
    return name


device_name = _argtype(check_device)


def check_task_spec(spec: str) -> str:
    """A task spec the task registry accepts (name and parameters); returned unchanged."""
    from .data.tasks import create_task

    create_task(spec)
    return spec


task_spec = _argtype(check_task_spec)


DATASET_RESERVED = ("root", "official")   # loader arguments that are not spec options


def check_dataset_spec(spec: str) -> str:
    """A dataset spec with a registered name and options its loader takes, of their types.

    Returned unchanged. ``synthetic:n=abc`` or ``synthetic:size=-1`` fail here with one
    sentence rather than inside the loader.
    """
    from .data.datasets import DATASETS, split_dataset_spec

    name, params = split_dataset_spec(spec)
    named, _ = _named_options(DATASETS[name].loader, DATASET_RESERVED)
    for key, value in params.items():
        if key not in named:
            takes = f"it takes {', '.join(named)}" if named else "it takes no options"
            raise InputError(f"The dataset {name!r} has no option {key!r}; {takes}."
                             f"{close_names_hint(key, list(named))}")
        _check_option(name, key, value, named[key], "", high=None)
    return spec


dataset_spec = _argtype(check_dataset_spec)


def check_existing_dir(path: str) -> str:
    """A folder that exists (checkpoint folders are read, never created)."""
    from pathlib import Path

    if not Path(path).is_dir():
        raise InputError(f"The folder {path} does not exist.")
    return path


existing_dir = _argtype(check_existing_dir)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``--help`` still shows the usage)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message.rstrip('.')} (see '{self.prog} --help').\n")


# ----------------------------------------------------------------------------- architecture options

def _expected_kind(param: inspect.Parameter):
    """What a constructor option's values must be: 'bool', 'int', 'float', 'str', 'numbers' or None."""
    default = param.default
    if isinstance(default, bool):
        return "bool"
    if _is_int(default):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (tuple, list)):
        return "numbers"
    annotation = str(param.annotation)
    for name in ("bool", "int", "float", "str"):
        if annotation.startswith(name):
            return name
    return None


def _prefixed(where: str, text: str) -> str:
    return where + text if where else text[:1].upper() + text[1:]


def _check_option(owner: str, key: str, value, param: inspect.Parameter, where: str,
                  high: float | None = MAX_OPTION_INT):
    """Check one constructor / loader option against its parameter's default type."""
    if value is None and param.default is None:
        return
    what = _prefixed(where, f"option {key!r} of {owner!r}")
    kind = _expected_kind(param)
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{what} must be true or false; got {value!r}.")
    elif kind in ("int", "float"):
        low = 0 if kind == "float" or param.default == 0 else 1   # seeds may be 0, sizes not
        check_number(value, what, int if kind == "int" else float, low=low, high=high)
    elif kind == "str":
        if not isinstance(value, str):
            raise InputError(f"{what} must be a string; got {value!r}.")
    elif kind == "numbers":
        if not isinstance(value, (list, tuple)) or not value:
            raise InputError(f"{what} must be a list of numbers; got {value!r}.")
        for v in value:
            check_number(v, what, float, low=0, high=MAX_OPTION_INT)
    elif not (value is None or isinstance(value, (str, int, float, list))):
        raise InputError(f"{what} has a value of an unsupported type; got {value!r}.")


def _named_options(fn, reserved=()) -> tuple[dict, bool]:
    """({name: Parameter} a callable takes by keyword, whether it also takes **kwargs)."""
    params = inspect.signature(fn).parameters
    named = {n: p for n, p in params.items() if n not in reserved and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def check_arch_kwargs(arch: str, kwargs, where: str = "") -> dict:
    """Check constructor options for the registered architecture ``arch``; returns them.

    Names must be parameters of the architecture's builder (its signature), values of the
    type its default has (whole numbers >= 1 for integer options, finite numbers >= 0 for
    float ones, lists of numbers for per-channel statistics). ``where`` prefixes the
    sentence (e.g. "The model card x.json: ").
    """
    from .zoo import MODELS

    if arch not in MODELS:
        from .errors import unknown_name
        raise unknown_name("model", arch, list(MODELS))
    if not isinstance(kwargs, dict):
        raise InputError(_prefixed(where, f"the options of {arch!r} must be")
                         + f" a mapping of names to values; "
                         f"got {type(kwargs).__name__} {kwargs!r}.")
    named, takes_any = _named_options(MODELS[arch].builder)
    for key, value in kwargs.items():
        if not isinstance(key, str) or (key not in named and not takes_any):
            raise InputError(f"{where}{arch!r} takes no option {key!r}."
                             f"{close_names_hint(key, list(named))} Its options: {', '.join(named)}.")
        if key in named:
            _check_option(arch, key, value, named[key], where)
    if arch == "srresnet" and "scale" in kwargs:
        check_choice(kwargs["scale"], _prefixed(where, "option 'scale' of 'srresnet'"), SR_SCALES)
    return kwargs


# ----------------------------------------------------------------------------- the CLI's last line

def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_exception(exc: BaseException) -> tuple[str, int]:
    """The one line (without 'error: ') and exit status for an exception that reached the CLI.

    The project's errors and ValueErrors carry a sentence for the user (status 2); an OSError
    names the file; MemoryError gets advice; anything else is a bug and says how to see it.
    """
    if isinstance(exc, (RAExplorerError, ValueError)):
        return one_line(exc), 2
    if isinstance(exc, OSError):
        target = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return one_line(f"{exc.strerror or exc}{target}."), 2
    if isinstance(exc, MemoryError):
        return ("The machine ran out of memory; try a smaller --batch-size or --limit."), 1
    return (one_line(f"Unexpected {type(exc).__name__}: {exc}. This is a bug; run again with "
                     "--debug to see the traceback and report it."), 1)


def print_error(exc: BaseException, file=None) -> int:
    """Print ``error: <sentence>`` on one line of stderr; returns the exit status."""
    text, status = describe_exception(exc)
    print(f"error: {text}", file=file or sys.stderr)
    return status
