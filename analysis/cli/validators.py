"""The CLI's argparse ``type=`` validators, and a parser whose errors are one line.

Each validator (``positive_int``, ``non_negative_float``, ``device_name``, ``task_spec``,
``dataset_spec`` ...) raises ``argparse.ArgumentTypeError`` so that argparse names the option;
:class:`OneLineParser` prints that as one line, without the usage block. The checks behind them
(``check_device``, ``check_task_spec``, ``check_dataset_spec``, ``check_existing_dir``) raise
the project's one-sentence errors. The parser class itself is
:class:`analysis.cli.vocabulary.OneLineParser`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..checks import check_number, check_option
from ..data.datasets import DATASETS, split_dataset_spec
from ..data.sampling import Sample
from ..data.tasks import create_task
from ..errors import InputError, RAExplorerError, close_names_hint
from .vocabulary import list_of, split_specs


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
    """``--sample N``: a whole number >= 1 asking for a seeded class-stratified sample of N
    images (:class:`~analysis.data.sampling.Sample`)."""
    return Sample(check_number(_parse_int(text, "the value"), "the value", int, low=1))


@_argtype
def non_negative_int(text: str) -> int:
    """A whole number >= 0 (seeds, optional steps)."""
    return check_number(_parse_int(text, "the value"), "the value", int, low=0)


@_argtype
def port_number(text: str) -> int:
    """A TCP port: a whole number from 1 to 65535."""
    return check_number(_parse_int(text, "the port"), "the port", int, low=1, high=65535)


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
    create_task(spec)
    return spec


task_spec = _argtype(check_task_spec)


def check_dataset_spec(spec: str) -> str:
    """A dataset spec with a registered name and options its loader takes, of their types.

    Returned unchanged. ``synthetic:n=abc`` or ``synthetic:size=-1`` fail here with one
    sentence rather than inside the loader.
    """
    name, params = split_dataset_spec(spec)
    named = DATASETS[name].options()
    for key, value in params.items():
        if key not in named:
            takes = f"it takes {', '.join(named)}" if named else "it takes no options"
            raise InputError(f"The dataset {name!r} has no option {key!r}; {takes}."
                             f"{close_names_hint(key, list(named))}")
        check_option(name, key, value, named[key], "", high=None)
    return spec


dataset_spec = _argtype(check_dataset_spec)


def check_existing_dir(path: str) -> str:
    """A folder that exists (checkpoint folders are read, never created)."""
    if not Path(path).is_dir():
        raise InputError(f"The folder {path} does not exist.")
    return path


existing_dir = _argtype(check_existing_dir)



def _whole_numbers(text: str) -> list[int]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        return [int(t) for t in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"Cannot read {text!r}; write a comma-separated list of "
                                         "whole numbers.") from None


whole_numbers = _whole_numbers                 # --indices 0,1,2
names = list_of(str)                           # --classifiers a,b
task_list = list_of(task_spec, split_specs)    # --tasks sr,denoise:sigma=0.2,jpeg
