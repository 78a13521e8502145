"""The admin token: $SURVEY_ADMIN_TOKEN, else [survey] admin_token in ra-explorer.toml.

Without one configured, the results and management pages stay closed. The token
is compared as UTF-8 bytes in constant time (any Unicode works), and wrong tries
are throttled per client: after ``FREE_TRIES`` wrong tokens every further try
must wait (doubling, capped at ``MAX_WAIT_S``); the wait is stated, and once it
has passed the right token is accepted again.
"""

from __future__ import annotations

import hmac
import os
import threading
import time

from ..config import settings

FREE_TRIES = 3
MAX_WAIT_S = 60.0


def admin_token() -> str | None:
    token = os.environ.get("SURVEY_ADMIN_TOKEN")
    if token:
        return token
    return (settings().get("survey") or {}).get("admin_token") or None


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", errors="surrogateescape")


def check_token(given: str | None) -> bool:
    """True only when a token is configured and ``given`` equals it, byte for byte."""
    expected = admin_token()
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(_bytes(given), _bytes(str(expected)))


class Throttle:
    """Wrong-token throttling per client key (an IP address or a session id)."""

    def __init__(self, free: int = FREE_TRIES, max_wait: float = MAX_WAIT_S, clock=time.monotonic):
        self.free, self.max_wait, self.clock = free, max_wait, clock
        self._state: dict[str, tuple[int, float]] = {}   # key -> (wrong tries, not before)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds this client must still wait before its next try (0: may try now)."""
        with self._lock:
            _, not_before = self._state.get(key, (0, 0.0))
        return max(0.0, not_before - self.clock())

    def attempt(self, key: str, given: str | None) -> tuple[bool, float]:
        """(accepted, seconds to wait before the next try). A try during a wait is refused
        without being checked."""
        left = self.wait(key)
        if left > 0:
            return False, left
        if check_token(given):
            with self._lock:
                self._state.pop(key, None)
            return True, 0.0
        with self._lock:
            wrong, _ = self._state.get(key, (0, 0.0))
            wrong += 1
            delay = 0.0 if wrong < self.free else min(self.max_wait, 2.0 ** (wrong - self.free))
            self._state[key] = (wrong, self.clock() + delay)
        return False, delay


THROTTLE = Throttle()
