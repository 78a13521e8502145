"""Checks of values a user supplies, each failing with one sentence (an :class:`InputError`).

* ``check_number`` / ``check_choice``: a value's type and range (used by the task registry,
  the model-card schema and the CLI's argparse validators);
* ``check_option`` / ``named_options``: an option of a constructor or loader checked against
  the parameter it fills (names from the callable's signature, value types from its defaults);
  the zoo's architecture options and the CLI's dataset specs are checked with them.
"""

from __future__ import annotations

import inspect
import math

from .errors import InputError

MAX_OPTION_INT = 2**16    # no constructor option of the zoo is near this; larger ones exhaust memory
SR_SCALES = (1, 2, 3, 4, 8, 16)   # the factors SRResNet's upsampler builds (3, or powers of two)


# ----------------------------------------------------------------------------- values

def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
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
    ok_type = is_int(value) if kind is int else is_number(value)
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


# ----------------------------------------------------------------------------- constructor options

def _expected_kind(param: inspect.Parameter):
    """What a constructor option's values must be: 'bool', 'int', 'float', 'str', 'numbers' or None."""
    default = param.default
    if isinstance(default, bool):
        return "bool"
    if is_int(default):
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


def prefixed(where: str, text: str) -> str:
    """``where + text``, or ``text`` capitalised when there is no ``where`` prefix."""
    return where + text if where else text[:1].upper() + text[1:]


def check_option(owner: str, key: str, value, param: inspect.Parameter, where: str,
                 high: float | None = MAX_OPTION_INT):
    """Check one constructor / loader option ``key`` of ``owner`` against its parameter's
    default type (whole numbers >= 1 for integer options, 0 allowed where the default is 0;
    finite numbers >= 0 for float ones; lists of numbers for per-channel statistics); at most
    ``high`` (None: no bound). ``where`` prefixes the sentence."""
    if value is None and param.default is None:
        return
    what = prefixed(where, f"option {key!r} of {owner!r}")
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


def named_options(fn, reserved=()) -> tuple[dict, bool]:
    """({name: Parameter} a callable takes by keyword, whether it also takes **kwargs)."""
    params = inspect.signature(fn).parameters
    named = {n: p for n, p in params.items() if n not in reserved and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
