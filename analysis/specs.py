"""Parsing of spec strings such as ``"denoise:sigma=0.2"`` or ``"synthetic:n=256,channels=3"``.

A spec string is ``name`` optionally followed by ``:key=value,key=value``. Values
are parsed as int, then float, then left as strings. ``canonical_spec`` writes
the inverse, with keys sorted, so that the same setting always has one spelling.
"""

from __future__ import annotations

from .errors import InputError


def parse_value(text: str):
    """Return ``text`` as int, float, bool or str (in that order of preference)."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_spec(spec: str) -> tuple[str, dict]:
    """Split ``"name:k=v,k2=v2"`` into ``("name", {"k": v, "k2": v2})``."""
    name, _, rest = spec.partition(":")
    params: dict = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise InputError(
                    f"Cannot read {item!r} in spec {spec!r}: write options as key=value, "
                    "separated by commas (for example 'denoise:sigma=0.2')."
                )
            if key.strip() in params:
                raise InputError(f"The spec {spec!r} gives {key.strip()!r} twice; give it once.")
            params[key.strip()] = parse_value(value.strip())
    return name.strip(), params


def format_value(value) -> str:
    if isinstance(value, float):
        return repr(value) if value != int(value) else f"{value:.1f}"
    return str(value)


def canonical_spec(name: str, params: dict) -> str:
    """The one spelling of a spec: ``name:k=v,...`` with keys sorted (``name`` alone if empty)."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={format_value(params[k])}" for k in sorted(params))
