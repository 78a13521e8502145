"""``python -m analysis <verb>``: the parser is the verb modules' registrations put together.

Each verb module (``training``, ``measure``, ``geometry``, ``catalogue``, ``survey``) defines
its command functions next to a ``register(subparsers)`` that adds its sub-parsers; shared option
groups live in :mod:`analysis.cli.options`. Errors of the project's own kinds are printed as one
sentence with exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import RAExplorerError
from . import catalogue, geometry, measure, survey, training

VERB_MODULES = (training, measure, geometry, survey, catalogue)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="RA Explorer: train and analyse RA image processing.")
    sub = parser.add_subparsers(dest="verb", required=True)
    for module in VERB_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RAExplorerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
