"""At most `notifications.rate_per_minute` messages a minute (issue 14): a token bucket.

The bucket holds up to `per_minute` tokens and refills at `per_minute` a minute; each message takes
one, waiting for it when the bucket is empty. So a run may send a burst of up to `per_minute`
messages, then `per_minute` a minute. The clock and the sleep are injectable (tests never wait)."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.capacity
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now

    def take(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        waited = 0.0
        self._refill()
        while self.tokens < 1.0:
            pause = (1.0 - self.tokens) / self.per_second
            self.sleep(pause)
            waited += pause
            self._refill()
        self.tokens -= 1.0
        return waited
