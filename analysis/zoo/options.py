"""Constructor options of a registered architecture, checked against its builder's signature."""

from __future__ import annotations

from ..checks import SR_SCALES, check_choice, check_option, named_options, prefixed
from ..errors import InputError, close_names_hint, unknown_name
from . import MODELS


def check_arch_kwargs(arch: str, kwargs, where: str = "") -> dict:
    """Check constructor options for the registered architecture ``arch``; returns them.

    Names must be parameters of the architecture's builder (its signature), values of the
    type its default has (whole numbers >= 1 for integer options, finite numbers >= 0 for
    float ones, lists of numbers for per-channel statistics). ``where`` prefixes the
    sentence (e.g. "The model card x.json: ").
    """
    if arch not in MODELS:
        raise unknown_name("model", arch, list(MODELS))
    if not isinstance(kwargs, dict):
        raise InputError(prefixed(where, f"the options of {arch!r} must be")
                         + f" a mapping of names to values; "
                         f"got {type(kwargs).__name__} {kwargs!r}.")
    named, takes_any = named_options(MODELS[arch].builder)
    for key, value in kwargs.items():
        if not isinstance(key, str) or (key not in named and not takes_any):
            raise InputError(f"{where}{arch!r} takes no option {key!r}."
                             f"{close_names_hint(key, list(named))} Its options: {', '.join(named)}.")
        if key in named:
            check_option(arch, key, value, named[key], where)
    if MODELS[arch].kind == "processor" and "scale" in kwargs:
        check_choice(kwargs["scale"], prefixed(where, f"option 'scale' of {arch!r}"), SR_SCALES)
    return kwargs
