"""Checks on every user-supplied string before it reaches the database.

The same sentence on SQLite and PostgreSQL: PostgreSQL refuses a NUL byte and a
value longer than its column, SQLite stores both, so both are refused here first.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import RAExplorerError

MAX_STUDY_NAME = 100
MAX_CODE = 64
MAX_METHOD = 200
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def text(value, what: str, max_len: int, required: bool = True) -> str:
    """``value`` stripped, if it is 1..max_len characters without control characters."""
    if not isinstance(value, str):
        raise RAExplorerError(f"The {what} must be text.")
    value = value.strip()
    if not value and required:
        raise RAExplorerError(f"The {what} is empty; give 1 to {max_len} characters.")
    if len(value) > max_len:
        raise RAExplorerError(f"The {what} has {len(value):,} characters; at most {max_len} "
                              "are allowed.")
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn")), None)
    if bad is not None:
        raise RAExplorerError(f"The {what} contains the control character U+{ord(bad):04X}; use "
                              "printable characters only.")
    return value


def study_name(value) -> str:
    return text(value, "study name", MAX_STUDY_NAME)


def rater_code(value) -> str:
    return text(value, "participant code", MAX_CODE)


def method_name(value) -> str:
    return text(value, "method name", MAX_METHOD)


def is_token(value) -> bool:
    """Whether ``value`` looks like a token this app hands out (anything else is unknown)."""
    return isinstance(value, str) and bool(TOKEN_RE.match(value))


def safe_filename(name: str, suffix: str = ".csv") -> str:
    """A download name of ASCII letters, digits, ``.``, ``_`` and ``-`` only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", name))
    stem = stem.strip("._-")[:60] or "study"
    return stem + suffix


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """OWASP's rule against CSV injection: a text cell starting with = + - @ tab or CR gets a
    leading single quote, so a spreadsheet shows it as text instead of running it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
