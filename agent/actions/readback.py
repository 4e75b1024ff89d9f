"""Reading an entry back to settle a write whose reply never came (C-6, issue 11).

A write sent on a connection that was then abandoned (reply timed out, server frozen, process
killed) may still be sitting in the server's receive buffer: a frozen slapd that resumes carries it
out a few milliseconds later, even though the client has long closed the socket. A read on a fresh
connection can be answered just before that, and would record "not applied" for a change that
then lands (found by tests/e2e/test_faults.py: SIGSTOP during a write window).

So "not applied" is a verdict taken only after a grace period that starts when the server has
answered us (the proof that it is running again): a buffered write is processed within that time
or never, because its connection is gone. "Applied" needs no wait. The wait costs seconds only in
the rare case of a lost reply whose change did not land.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agent.directory.gateway import Directory

# Seconds between the server's first answer and a "not applied" verdict; a write buffered on an
# abandoned connection is processed in milliseconds once the server runs again.
NOT_APPLIED_GRACE_SECONDS = 2.0
_POLL_SECONDS = 0.25


class ReadBack:
    """Reads entries back for one settlement pass. The grace starts at the server's first answer in
    the pass, so a pass with many unapplied changes waits once, not once per change."""

    def __init__(self, directory: Directory, grace_seconds: float = NOT_APPLIED_GRACE_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.directory = directory
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.sleep = sleep
        self.answered: float | None = None

    def __call__(self, dn: str, applied: Callable[[Any], bool]) -> tuple[Any, bool]:
        """The entry at `dn` (None when absent) and whether `applied(entry)` holds, re-read until it
        holds or the grace has passed. Raises DirectoryUnavailable."""
        current = self.directory.read(dn)
        if self.answered is None:
            self.answered = self.clock()
        while not applied(current):
            left = self.grace_seconds - (self.clock() - self.answered)
            if left <= 0:
                return current, False
            self.sleep(min(_POLL_SECONDS, left))
            current = self.directory.read(dn)
        return current, True
