"""The directory of one configuration, opened for an action (the demo seed handed over for mock:),
and the session of a command that may write (issue 11)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from agent.actions.audit import AuditTrail
from agent.actions.demo import demo_entries
from agent.actions.writeahead import Settled, settle_intents
from agent.actions.writer import DEFAULT_WAIT_SECONDS, WriterLock
from agent.directory import connection
from agent.directory.gateway import Directory
from agent.settings.config import Config


def open_directory(config: Config) -> Directory:
    """Bind to the configured directory; the embedded one is seeded with the demo local authority."""
    seed = functools.partial(demo_entries, config) if config.directory.is_mock else None
    return connection.open_directory(config.directory, config.attributes, seed=seed)


@dataclass
class WritingSession:
    """What a writing command holds: its audit trail (proven writable), its directory, its lock."""

    audit: AuditTrail
    directory: Directory
    lock: WriterLock
    settled: list[Settled]

    @property
    def should_stop(self) -> Callable[[], bool]:
        return self.lock.should_stop


@contextlib.contextmanager
def writing_session(config: Config, audit: AuditTrail, now: datetime, *, bulk: bool,
                    wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[WritingSession]:
    """The steps before a command's first write, in this order (issue 11):

    1. the audit file is opened and proven writable (AuditUnavailable, exit 1, naming the path and
       the OS error: nothing is touched);
    2. the writer lock: bulk commands wait for the local lock (and the lease when
       `service.lease.enabled`) up to `wait_seconds`, then fail naming the holder (WriterBusy);
       single-account operations only try the local lock;
    3. the directory is opened, and, under the local lock, intents a crash left without outcome
       are settled (agent.actions.writeahead).
    """
    audit.prove_writable()
    lock = WriterLock(config, bulk=bulk, wait_seconds=wait_seconds)
    try:
        lock.acquire_local()
        directory = open_directory(config)
        try:
            lock.acquire_lease(directory)
            settled = settle_intents(directory, audit, now) if lock.holds_local else []
            if not bulk:
                lock.release()  # single-account writes are conditional; the lock was for settling
            yield WritingSession(audit, directory, lock, settled)
        finally:
            directory.close()
    finally:
        lock.release()
