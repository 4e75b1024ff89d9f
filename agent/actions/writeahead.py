"""Settling the write-ahead log on start (C-6, issue 11): intents a crash left without an outcome.

The audit trail (agent.actions.audit) writes an intent line before each write and an outcome line,
with the same `intent` id, after the server answered. A process killed, or a server lost, between
the two leaves an intent alone. Every command that writes calls `settle_intents` once it holds the
writer lock (agent.actions.writer), before its own first write: each lone intent of a writer that is
no longer running is read back from the directory and gets its one outcome, the change's own record
(`"settled"` says when and why) when the entry shows it applied, `change_not_applied` when not.
Intents of a writer still running (another command on this host, its pid alive) are left to it;
intents written by another host are that host's to settle (each host has its own file).

Invariant: after any crash, kill or outage, and the next start of a writing command, every change in
the directory has exactly one outcome record.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.actions.audit import INTENT_EVENT, AuditTrail, process_start, writer_identity
from agent.actions.readback import ReadBack
from agent.core import changes
from agent.core.records import AuditRecord
from agent.directory.gateway import Directory
from agent.logs import get_logger

log = get_logger("hwb-agent.actions.writeahead")

_RECORD_KEYS = frozenset(("time", "event", "dn", "uid", "rule", "actor", "before", "after", "detail", "host"))
_INTENT_ONLY = frozenset(("phase", "intent", "change", "writer", "intended_event"))


@dataclass(frozen=True)
class Settled:
    intent: str
    dn: str
    event: str  # the intended event
    applied: bool


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if '"intent"' not in line:  # cheap: most lines of an old trail carry none
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash: its write was never sent
                if isinstance(entry, dict):
                    yield entry
    except FileNotFoundError:
        return


def unsettled_intents(path: Path | None) -> list[dict[str, Any]]:
    """The intent lines of `path` without an outcome line, in file order."""
    if path is None:
        return []
    open_intents: dict[str, dict[str, Any]] = {}
    for entry in _lines(path):
        intent_id = entry.get("intent")
        if not isinstance(intent_id, str):
            continue
        if entry.get("phase") == "intent":
            open_intents[intent_id] = entry
        else:
            open_intents.pop(intent_id, None)
    return list(open_intents.values())


def writer_gone(writer: Mapping[str, Any] | None) -> bool:
    """Whether the process that wrote an intent has ended (so that its intent is ours to settle).
    Another host's intents are never settled here."""
    if not writer:
        return True
    me = writer_identity()
    if writer.get("host") != me["host"]:
        return False
    pid = writer.get("pid")
    if not isinstance(pid, int):
        return True
    if pid == os.getpid():
        return bool(writer.get("started") != me["started"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return bool(process_start(pid) != writer.get("started"))


def record_of(intent: Mapping[str, Any]) -> AuditRecord:
    """The outcome record an intent announced (its event, values, time and intent id)."""
    extra = {key: value for key, value in intent.items() if key not in _RECORD_KEYS | _INTENT_ONLY}
    time_text = intent.get("time")
    return AuditRecord(
        event=str(intent.get("intended_event") or ""), dn=str(intent.get("dn") or ""),
        uid=str(intent.get("uid") or ""), rule=str(intent.get("rule") or ""),
        actor=str(intent.get("actor") or ""), before=intent.get("before") or {},
        after=intent.get("after") or {}, detail=str(intent.get("detail") or ""),
        time=datetime.fromisoformat(time_text) if isinstance(time_text, str) else None,
        extra={**extra, "phase": "outcome", "intent": intent.get("intent")})


def settle_intents(directory: Directory, audit: AuditTrail, now: datetime) -> list[Settled]:
    """Give each lone intent of a finished writer its one outcome, from the entry as read back now.
    Raises DirectoryUnavailable when the directory cannot be read (the intents stay for next time)."""
    settled: list[Settled] = []
    read_back = ReadBack(directory)
    for intent in unsettled_intents(audit.path):
        if intent.get("event") != INTENT_EVENT or not writer_gone(intent.get("writer")):
            continue
        record = record_of(intent)
        data = intent.get("change") or {}
        _, done = read_back(record.dn, functools.partial(changes.applied, data=data))
        when = now.isoformat()
        if done:
            audit.write(record.with_extra(
                settled=f"{when}: the writer ended before the reply; the directory shows the change"))
        else:
            audit.not_applied(record.with_extra(settled=when),
                              "the writer ended before the reply and the directory does not show the"
                              " change: not applied (the next sweep decides again)")
        log.info("intent_settled", dn=record.dn, intent=record.extra.get("intent"), applied=done)
        settled.append(Settled(str(intent.get("intent")), record.dn, record.event, done))
    return settled
