"""One writer per authority (C-4, C-6, issue 11): the lock a writing command holds while it writes.

- With `service.lease.enabled`, bulk commands (sweep, requests, import-mis) take the directory lease
  that `run` uses (agent.actions.lease, agent.directory.lease_store), waiting for it a bounded time,
  then fail naming the holder; a long run renews it as it goes (`should_stop`).
- Always, a local lock file beside the audit file (`fcntl.flock`), so that two commands on one host
  never write at once, and that only the holder settles the write-ahead log
  (agent.actions.writeahead). Single-account administrator operations only *try* it, to settle:
  their writes are conditional instead (agent.directory.gateway, `conditional=True`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

from agent.actions.audit import FILE_MODE
from agent.actions.lease import LeaseKeeper
from agent.actions.lease_store_factory import lease_store_for
from agent.core.errors import AgentError
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.writer")

DEFAULT_WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.2


class WriterBusy(AgentError):
    """Another writer holds the authority (exit 1); the message names it."""


def lock_path(config: Config) -> Path:
    """The local lock file: beside the audit file, else beside the embedded state, else in /tmp."""
    audit = config.logging.audit_file
    if audit is not None:
        return audit.with_name(audit.name + ".lock")
    state = getattr(config.directory, "state_file", None)
    if state:
        state_path = Path(state)
        return state_path.with_name(state_path.name + ".lock")
    return Path(tempfile.gettempdir()) / f"hwb-agent-{config.local_authority.code}.lock"


class LocalLock:
    """fcntl.flock on the lock file; the file names the holder (pid) for the message."""

    def __init__(self, path: Path):
        self.path = path
        self._stream: IO[str] | None = None

    def acquire(self, wait_seconds: float) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        stream = os.fdopen(descriptor, "r+", encoding="utf-8")
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    stream.close()
                    return False
                time.sleep(_POLL_SECONDS)
                continue
            stream.seek(0)
            stream.truncate()
            stream.write(f"{os.getpid()}\n")
            stream.flush()
            self._stream = stream
            return True

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._stream.fileno(), fcntl.LOCK_UN)
            self._stream.close()
            self._stream = None


def lease_keeper(config: Config, directory: Directory) -> LeaseKeeper:
    """The service's lease over the command's own read connection."""
    settings = config.service.lease
    store = lease_store_for(config, lambda: directory)
    return LeaseKeeper(store, settings.holder, timedelta(seconds=settings.period_seconds))


class WriterLock:
    """Held by a writing command: the local lock, and the lease when enabled (bulk commands)."""

    def __init__(self, config: Config, *, bulk: bool, wait_seconds: float = DEFAULT_WAIT_SECONDS):
        self.config = config
        self.bulk = bulk
        self.wait_seconds = wait_seconds
        self.local = LocalLock(lock_path(config))
        self.keeper: LeaseKeeper | None = None
        self.holds_local = False

    def acquire_local(self) -> None:
        """Bulk: wait for the local lock (bounded), else WriterBusy. Single-account: try it only."""
        wait = self.wait_seconds if self.bulk else 0.0
        self.holds_local = self.local.acquire(wait)
        if self.bulk and not self.holds_local:
            raise WriterBusy(
                f"another hwb-agent command on this host is writing (pid {self.local.holder()},"
                f" lock {self.local.path}); waited {self.wait_seconds:g} s: nothing was changed")

    def acquire_lease(self, directory: Directory) -> None:
        """Bulk commands with `service.lease.enabled`: take the lease within the wait, else
        WriterBusy naming its holder."""
        if not (self.bulk and self.config.service.lease.enabled):
            return
        keeper = lease_keeper(self.config, directory)
        deadline = time.monotonic() + self.wait_seconds
        while not keeper.refresh():
            if time.monotonic() >= deadline:
                holder = keeper.seen_holder or "another host"
                raise WriterBusy(
                    f"the directory lease {self.config.service.lease.dn} is held by {holder};"
                    f" waited {self.wait_seconds:g} s: nothing was changed")
            time.sleep(min(1.0, max(_POLL_SECONDS, self.config.service.lease.period_seconds / 20)))
        self.keeper = keeper

    def should_stop(self) -> bool:
        """For long runs: renew the lease when due; True once it is no longer held (stop writing)."""
        keeper = self.keeper
        if keeper is None:
            return False
        if keeper.renewal_due():
            keeper.refresh()
        if keeper.holds():
            return False
        log.warning("lease_lost_stopping", holder=keeper.me)
        return True

    def release(self) -> None:
        if self.keeper is not None:
            self.keeper.release()
            self.keeper = None
        self.local.release()
        self.holds_local = False


def combined_stop(*checks: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: any(check() for check in checks)


@contextlib.contextmanager
def held(lock: WriterLock) -> Iterator[WriterLock]:
    try:
        yield lock
    finally:
        lock.release()
