"""The audit trail (C-6): one JSON line per change to an account.

Each record names the account, the rule id, the actor (the agent, an
administrator, the service desk), the values before and after, and the time;
under the service also the `host` that made the change (its lease holder name),
so that with two hosts on one authority the trail says which one acted.
Records go to the audit file (append-only JSON lines, flushed per record) and
to the log. `reopen()` supports log rotation (SIGHUP).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from agent.core.records import AuditRecord
from agent.logs import get_logger

AGENT_ACTOR = "agent"


class AuditTrail:
    def __init__(self, path: Path | None, host: str | None = None):
        self.path = path
        self.host = host
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        self._log = get_logger("hwb-agent.actions.audit")
        self._sync_every = 1  # fsync after this many records (see group_commit)
        self._unsynced = 0

    def _open(self) -> TextIO | None:
        if self._stream is None and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        return self._stream

    def record(self, *, event: str, dn: str, uid: str, rule: str, actor: str,
               before: Mapping[str, Any], after: Mapping[str, Any], detail: str = "",
               now: datetime | None = None, **extra: Any) -> AuditRecord:
        """Write one record built from its parts (see `write`)."""
        return self.write(AuditRecord(event=event, dn=dn, uid=uid, rule=rule, actor=actor, before=before,
                                      after=after, detail=detail, time=now, extra=extra))

    def write(self, record: AuditRecord) -> AuditRecord:
        """Append `record` to the audit file (flushed, fsync'd per `group_commit`) and the log.
        A record without a time gets the current one."""
        if record.time is None:
            record = replace(record, time=datetime.now(UTC))
        entry = record.as_json(self.host)
        with self._lock:
            stream = self._open()
            if stream is not None:
                stream.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
                stream.flush()
                self._unsynced += 1
                if self._unsynced >= self._sync_every:
                    self._sync(stream)
        self._log.info(record.event, **{k: v for k, v in entry.items() if k != "event"})
        return record

    def _sync(self, stream: TextIO) -> None:
        os.fsync(stream.fileno())
        self._unsynced = 0

    @contextlib.contextmanager
    def group_commit(self, every: int) -> Iterator[None]:
        """Within the block, fsync once per `every` records (and on leaving) instead of per record.

        Every record is still written and flushed to the operating system at once, so a crash of
        the agent loses nothing; only a power loss can lose the last `every` records at most,
        whose changes the directory may already hold. A sweep uses this for its window of writes
        in flight: one fsync costs ~3 ms here, which alone would cap it at ~350 changes a second.
        """
        with self._lock:
            previous, self._sync_every = self._sync_every, max(1, every)
        try:
            yield
        finally:
            with self._lock:
                self._sync_every = previous
                if self._stream is not None and self._unsynced:
                    self._sync(self._stream)

    def reopen(self) -> None:
        with self._lock:
            if self._stream is not None:
                if self._unsynced:
                    self._sync(self._stream)
                self._stream.close()
                self._stream = None

    def close(self) -> None:
        self.reopen()
