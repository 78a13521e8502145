"""The CLI's last line: an exception that reached the CLI as one sentence and an exit status."""

from __future__ import annotations

import sys

from ..errors import RAExplorerError


def one_line(text: str) -> str:
    """``text`` with every run of white space (newlines included) as one space."""
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
        return ("The machine ran out of memory; try a smaller --batch-size, --sample or --first."), 1
    return (one_line(f"Unexpected {type(exc).__name__}: {exc}. This is a bug; run again with "
                     "--debug to see the traceback and report it."), 1)


def print_error(exc: BaseException, file=None) -> int:
    """Print ``error: <sentence>`` on one line of stderr; returns the exit status."""
    text, status = describe_exception(exc)
    print(f"error: {text}", file=file or sys.stderr)
    return status
