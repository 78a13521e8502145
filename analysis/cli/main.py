"""``python -m analysis <verb>`` (the ``ra-explorer`` command of an installed copy): the parser
is the verb modules' registrations put together; ``--version`` prints the project's version.

Each verb module (``training``, ``measure``, ``geometry``, ``figure``, ``survey``, ``catalogue``,
``app``)
defines its command functions next to a ``register(subparsers)`` that adds its sub-parsers; shared
option groups live in :mod:`analysis.cli.options`. An error is printed as one line, never a
traceback (:func:`analysis.cli.errors.print_error`): exit code 2 for the user's errors, 1 for
anything else; ``--debug`` (anywhere on the line) shows the traceback instead. Options are checked
where they are parsed (``type=`` validators of :mod:`analysis.cli.validators`).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..config import version
from . import app, catalogue, figure, geometry, measure, survey, training
from .errors import print_error
from .validators import OneLineParser

VERB_MODULES = (training, measure, geometry, figure, survey, catalogue, app)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m analysis",
                           description="RA Explorer: train and analyse RA image processing.")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also accepted after the verb)")
    parser.add_argument("--version", action="version", version=f"ra-explorer {version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="verb", required=True)
    for module in VERB_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; an error becomes one line on stderr (see the module docstring)."""
    from ..device import retain_freed_memory

    retain_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    verb_args = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(verb_args)
    old_root = os.environ.get("RA_DATA_ROOT")
    old_execution = os.environ.get("RA_EXECUTION")
    if getattr(args, "data_root", None):
        # one setting for every loader this verb reaches (analysis.config.data_root); put back
        # when the verb ends, so an in-process caller's next verb does not inherit it
        os.environ["RA_DATA_ROOT"] = str(args.data_root)
    if getattr(args, "execution", None):
        # the same for the execution policy of every classifier forward the verb runs
        os.environ["RA_EXECUTION"] = args.execution
    from ..outputs.provenance import cli_command

    cli_command(verb_args)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        return print_error(exc)
    finally:
        cli_command(None)
        if old_root is None:
            os.environ.pop("RA_DATA_ROOT", None)
        else:
            os.environ["RA_DATA_ROOT"] = old_root
        if old_execution is None:
            os.environ.pop("RA_EXECUTION", None)
        else:
            os.environ["RA_EXECUTION"] = old_execution
