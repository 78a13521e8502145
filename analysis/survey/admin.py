"""The results page's admin token: $SURVEY_ADMIN_TOKEN, else [survey] admin_token in
ra-explorer.toml. Without one configured, results stay closed."""

from __future__ import annotations

import hmac
import os


def admin_token() -> str | None:
    token = os.environ.get("SURVEY_ADMIN_TOKEN")
    if token:
        return token
    from ..metrics.registry import _config

    return (_config().get("survey") or {}).get("admin_token") or None


def check_token(given: str | None) -> bool:
    """True only when a token is configured and ``given`` equals it (constant-time compare)."""
    expected = admin_token()
    return bool(expected and given) and hmac.compare_digest(str(given), expected)
