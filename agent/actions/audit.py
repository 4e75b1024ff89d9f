"""The audit trail (C-6): one JSON line per change to an account.

Each record names the account, the rule id, the actor (the agent, an
administrator, the service desk), the values before and after, and the time;
under the service also the `host` that made the change (its lease holder name),
so that with two hosts on one authority the trail says which one acted.
Records go to the audit file (append-only JSON lines, flushed per record) and
to the log. `reopen()` supports log rotation (SIGHUP).

A write-ahead log (issue 11): before a change is sent, `intend()` writes an *intent* line
(`"phase": "intent"`, event `change_intended`, an `intent` id, the change as data and the writer's
host and pid), fsync'd before the write leaves (`sync()`); the change's own record, written once
the server answered, carries `"phase": "outcome"` and the same `intent` id; a change the server did
not apply gets `change_not_applied` with that id. Readers of older files need nothing new: records
without `phase` are outcomes; intent lines are skipped by filtering on `phase`. Intents left without
an outcome by a crash are settled on the next start (agent.actions.writeahead).

The file is created 0600 whatever the umask (it holds names and before/after values), and
`prove_writable()` opens it before a command's first directory write: a command that could not
record its changes makes none.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from agent.core.errors import AgentError
from agent.core.records import AuditRecord
from agent.logs import get_logger

# What every record written in this context carries besides its own fields: the console sets the
# administrator's address here (`audit_context(address=..., via="web")`), per request (issue 13).
_CONTEXT: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("audit_context",
                                                                                  default=None)


@contextlib.contextmanager
def audit_context(**fields: Any) -> Iterator[None]:
    """Within the block, every record written (in this thread or task) also carries `fields`,
    unless the record sets them itself: who acted from where, for a face that serves many people."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _in_context(record: AuditRecord) -> AuditRecord:
    context = _CONTEXT.get() or {}
    missing = {name: value for name, value in context.items() if name not in record.extra}
    return record.with_extra(**missing) if missing else record


AGENT_ACTOR = "agent"
INTENT_EVENT = "change_intended"
NOT_APPLIED_EVENT = "change_not_applied"
FILE_MODE = 0o600


class AuditUnavailable(AgentError):
    """The audit file cannot be written (exit 1): the command changes nothing (C-6)."""


def writer_identity() -> dict[str, Any]:
    """Who writes intents: host, pid and the process start time (so a reused pid is not taken for
    the writer that died)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": process_start(os.getpid())}


def process_start(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (Linux /proc), None elsewhere/gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


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
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # 0600 whatever the umask: the trail holds names and before/after values.
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            except OSError as error:
                raise self._unavailable(error) from None
            self._stream = os.fdopen(descriptor, "a", encoding="utf-8")
        return self._stream

    def _unavailable(self, error: OSError) -> AuditUnavailable:
        return AuditUnavailable(
            f"cannot write the audit file {self.path}: {error.strerror or error}"
            " (C-6: no change is made without its record; nothing was changed)")

    def prove_writable(self) -> None:
        """Open the audit file now (created 0600) and sync it: AuditUnavailable naming the path and
        the OS error when that fails. Every command that may write calls this before its first
        directory write (issue 11)."""
        with self._lock:
            stream = self._open()
            if stream is not None:
                try:
                    stream.flush()
                    os.fsync(stream.fileno())
                except OSError as error:
                    raise self._unavailable(error) from None

    def sync(self) -> None:
        """fsync what was written (intents, before the writes they announce leave)."""
        with self._lock:
            if self._stream is not None and self._unsynced:
                try:
                    self._sync(self._stream)
                except OSError as error:
                    raise self._unavailable(error) from None

    def intend(self, record: AuditRecord, change: Mapping[str, Any] | None, *,
               durable: bool = True) -> AuditRecord:
        """Write the intent of `record` (its change as data, see agent.actions.writeahead) before the
        write is sent; returns `record` carrying the intent id and phase "outcome", to `write` once
        the server answered. `durable` False: the caller syncs (`sync()`) before sending."""
        intent_id = uuid.uuid4().hex[:16]
        record = _in_context(record)
        if record.time is None:
            record = replace(record, time=datetime.now(UTC))
        line = {**record.as_json(self.host), "event": INTENT_EVENT, "intended_event": record.event,
                "phase": "intent", "intent": intent_id, "change": change, "writer": self._writer}
        self._append(line, force_sync=durable)
        return record.with_extra(phase="outcome", intent=intent_id)

    def not_applied(self, record: AuditRecord, why: str, now: datetime | None = None) -> None:
        """The outcome of an intent whose change the server did not apply."""
        self.write(replace(record, event=NOT_APPLIED_EVENT, detail=why, time=now or record.time,
                           extra={**record.extra, "intended_event": record.event}))

    @functools.cached_property
    def _writer(self) -> dict[str, Any]:
        return writer_identity()

    def _append(self, entry: Mapping[str, Any], force_sync: bool = False) -> None:
        with self._lock:
            stream = self._open()
            if stream is None:
                return
            try:
                stream.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
                stream.flush()
                self._unsynced += 1
                if force_sync or self._unsynced >= self._sync_every:
                    self._sync(stream)
            except OSError as error:
                raise self._unavailable(error) from None

    def record(self, *, event: str, dn: str, uid: str, rule: str, actor: str,
               before: Mapping[str, Any], after: Mapping[str, Any], detail: str = "",
               now: datetime | None = None, **extra: Any) -> AuditRecord:
        """Write one record built from its parts (see `write`)."""
        return self.write(AuditRecord(event=event, dn=dn, uid=uid, rule=rule, actor=actor, before=before,
                                      after=after, detail=detail, time=now, extra=extra))

    def write(self, record: AuditRecord) -> AuditRecord:
        """Append `record` to the audit file (flushed, fsync'd per `group_commit`) and the log.
        A record without a time gets the current one."""
        record = _in_context(record)
        if record.time is None:
            record = replace(record, time=datetime.now(UTC))
        entry = record.as_json(self.host)
        self._append(entry)
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


def account_history(path: Path | None, uid: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """The audit trail of one account (C-6), newest first, at most `limit` records: its outcomes and
    refusals (intent lines are skipped; they are the write-ahead log, not history). One pass over
    the file; lines that do not mention the uid are not parsed, and unreadable lines are skipped."""
    if path is None or not uid:
        return []
    wanted = uid.lower()
    needle = json.dumps(uid, ensure_ascii=False)[1:-1].lower()
    found: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(1, limit))
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if needle not in line.lower():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if (isinstance(entry, dict) and str(entry.get("uid", "")).lower() == wanted
                        and entry.get("phase") != "intent"):
                    found.append(entry)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise AuditUnavailable(f"cannot read the audit file {path}: {error.strerror or error}") from None
    return list(reversed(found))


class HistoryIndex:
    """Where each account's records are in the audit file, for the console's View Details (C-6).

    The file is read once, then only what was appended since (a rotated or truncated file is read
    again from its start), keeping per uid the byte offsets of its outcome records; a page then reads
    only that account's lines. After a rotation the history shows the current file's records.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._offsets: dict[str, list[int]] = {}
        self._position = 0
        self._identity: tuple[int, int] | None = None

    def history(self, uid: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The records of `uid`, newest first (at most `limit`), as account_history gives them."""
        if self.path is None or not uid:
            return []
        with self._lock:
            try:
                self._catch_up(self.path)
            except FileNotFoundError:
                self._offsets, self._position, self._identity = {}, 0, None
                return []
            except OSError as error:
                raise AuditUnavailable(f"cannot read the audit file {self.path}:"
                                       f" {error.strerror or error}") from None
            offsets = self._offsets.get(uid.lower(), [])[-max(1, limit):]
            found = []
            with self.path.open("rb") as stream:
                for offset in offsets:
                    stream.seek(offset)
                    try:
                        found.append(json.loads(stream.readline()))
                    except ValueError:
                        continue
        return list(reversed(found))

    def _catch_up(self, path: Path) -> None:
        status = os.stat(path)
        identity = (status.st_dev, status.st_ino)
        if identity != self._identity or status.st_size < self._position:
            self._offsets, self._position, self._identity = {}, 0, identity
        if status.st_size == self._position:
            return
        with path.open("rb") as stream:
            stream.seek(self._position)
            position = self._position
            for line in stream:
                if not line.endswith(b"\n"):
                    break  # a line still being written: read it next time
                start, position = position, position + len(line)
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("uid") and entry.get("phase") != "intent":
                    self._offsets.setdefault(str(entry["uid"]).lower(), []).append(start)
            self._position = position
