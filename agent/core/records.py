"""What actions report and audit, as frozen values: audit records and report rows.

An action builds each record or row once, complete, and never mutates it; a
changed outcome is a new value (`dataclasses.replace`). `as_json()` gives the
fixed JSON shape of DESIGN.md, so faces render rows without knowing how they
were made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class AuditRecord:
    """One change to an account, or one refused operation (C-6): the account, the rule id, the
    actor, the values before and after, and the time. `extra` carries what the event adds (the
    feed and row of an import, a ticket, the request answered, ...)."""

    event: str
    dn: str
    uid: str
    rule: str
    actor: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    detail: str = ""
    time: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_extra(self, **extra: Any) -> AuditRecord:
        return replace(self, extra={**self.extra, **extra})

    def as_json(self, host: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        """The audit file's line for this record; `now` stands in for a record made without a time."""
        moment = self.time or now
        if moment is None:
            raise ValueError("an audit record needs a time")
        return {
            "time": moment.astimezone(UTC).isoformat(),
            "event": self.event,
            "dn": self.dn,
            "uid": self.uid,
            "rule": self.rule,
            "actor": self.actor,
            "before": dict(self.before),
            "after": dict(self.after),
            "detail": self.detail,
            **({"host": host} if host else {}),
            **self.extra,
        }


@dataclass(frozen=True)
class ActionRow:
    """A change a sweep makes (or would make): disable, enable or purge, with its rule."""

    dn: str
    uid: str
    action: str
    rule: str | None
    detail: str
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"dn": self.dn, "uid": self.uid, "action": self.action, "rule": self.rule,
                               "detail": self.detail}
        if self.reason is not None:
            row["reason"] = self.reason
        return row


@dataclass(frozen=True)
class FlagRow:
    """Reported, not changed (MIS-4 waiting for the service desk, an unconfirmed NM-4 ...)."""

    dn: str
    uid: str
    rule: str | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"dn": self.dn, "uid": self.uid, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class ErrorRow:
    """An entry left unchanged: unreadable data (C-7, with the attribute and value at fault) or a
    write the server refused."""

    dn: str
    uid: str
    rule: str | None
    detail: str
    attribute: str | None = None
    value: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"dn": self.dn, "uid": self.uid, "attribute": self.attribute, "value": self.value,
                "detail": self.detail, "rule": self.rule}


@dataclass(frozen=True)
class RequestRow:
    """What answering one activation request did, or would do (C-1)."""

    dn: str
    uid: str
    requested_by: str
    requested_at: str | None
    duration: str | None
    outcome: str  # activated / extended / unchanged / refused / skipped / errors
    rule: str | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"dn": self.dn, "uid": self.uid, "requested_by": self.requested_by,
                "requested_at": self.requested_at, "duration": self.duration, "outcome": self.outcome,
                "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class ImportErrorRow:
    """A write of an MIS import that the server refused (or could not be made), with the feed file
    and row that asked for it."""

    action: str
    rule: str | None
    uid: str | None
    dn: str | None
    detail: str
    file: str | None = None
    row: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, "uid": self.uid, "dn": self.dn,
                "file": self.file, "row": self.row, "detail": self.detail}


Row = ActionRow | FlagRow | ErrorRow | RequestRow | ImportErrorRow


def as_json_rows(rows: Any) -> list[dict[str, Any]]:
    """Rows (frozen values or plain mappings) as JSON-ready dicts."""
    return [row.as_json() if hasattr(row, "as_json") else dict(row) for row in rows]
