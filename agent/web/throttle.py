"""Sign-in throttling per user and per address (issue 13), in the memory of the one console process.

After `max_failures` failed sign-ins within `window` for a user name (whatever the address) or for
an address (whatever the name), further attempts are refused until the oldest failure leaves the
window; a success clears the user's count. The page then says the same as for a wrong password, so
that nobody learns whether a user exists or whether the password was right. Kept in memory: one
process per authority (waitress threads share it); a restart forgets it, which the window bounds
anyway. Behind several processes a shared store would be needed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SignInThrottle:
    def __init__(self, max_failures: int, window_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, user: str, address: str) -> bool:
        now = self._now()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.max_failures
                       for key in _keys(user, address))

    def failed(self, user: str, address: str) -> None:
        now = self._now()
        with self._lock:
            for key in _keys(user, address):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{user.strip().lower()}", None)


def _keys(user: str, address: str) -> tuple[str, str]:
    return f"user:{user.strip().lower()}", f"address:{address}"
