"""What an administrator operation did, and the shared steps: refuse and audit, or write one
change (C-4) and audit it (C-6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.lookup import REQUEST_FIELDS
from agent.core import changes
from agent.core.changes import Change
from agent.core.errors import (
    DirectoryUnavailable,
    DirectoryWriteError,
    PolicyRefusal,
    ScopeError,
    UsageError,
)
from agent.core.model import Account
from agent.core.operations import (
    Approved,
    Refused,
)
from agent.core.records import AuditRecord
from agent.directory.gateway import Directory


@dataclass(frozen=True)
class Result:
    """What an operation did: the account, the rule, words, and the audited values."""

    uid: str
    dn: str
    rule: str
    detail: str
    changed: bool
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    event: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "dn": self.dn, "rule": self.rule, "changed": self.changed,
                "detail": self.detail, "before": self.before, "after": self.after}


def refuse(audit: AuditTrail, refusal: Refused, *, operation: str, account: Account | None,
            actor: str, now: datetime, error: type[PolicyRefusal] = PolicyRefusal,
            **extra: Any) -> PolicyRefusal:
    """Audit a refused operation and return the exception to raise (exit code 3)."""
    audit.record(event="operation_refused", dn=account.dn if account else "",
                 uid=account.uid if account else "", rule=refusal.rule, actor=actor,
                 before={}, after={}, detail=refusal.message, now=now, operation=operation, **extra)
    return error(f"refused ({refusal.rule}): {refusal.message}")


def apply_change(directory: Directory, audit: AuditTrail, account: Account, change: Change, *,
           event: str, rule: str, actor: str, detail: str, now: datetime, **extra: Any) -> Result:
    """Write one change in one modify (C-4), conditional on the values read (a sweep or another
    administrator that changed the account meanwhile makes it fail, never doubled or lost), with its
    intent audited before and its outcome after (C-6, issue 11)."""
    before, after = changes.before_after(account, change)
    record = AuditRecord(event=event, dn=account.dn, uid=account.uid, rule=rule, actor=actor,
                         before=before, after=after, detail=detail, time=now, extra=extra)
    write_audited(directory, audit, account, change, record, conditional=True)
    return Result(account.uid, account.dn, rule, detail, True, before, after, event)


def write_audited(directory: Directory, audit: AuditTrail, account: Account, change: Change,
                  record: AuditRecord, *, conditional: bool = False) -> AuditRecord:
    """Intent (fsync'd), one modify, outcome: the write-ahead steps of one change (issue 11).
    A refused write gets `change_not_applied` and raises; a lost reply raises UnconfirmedWrite
    (the intent stays open: settled when the directory is back, or on the next start)."""
    record = audit.intend(record, changes.change_data(change))
    try:
        directory.write_change(account, change, conditional=conditional)
    except (DirectoryWriteError, ScopeError) as error:  # refused, or never sent (out of scope)
        audit.not_applied(record, str(error))
        raise
    except DirectoryUnavailable as error:
        raise changes.UnconfirmedWrite(str(error), changes.Unconfirmed(account.dn, change, record)) from error
    return audit.write(record)


def approved_change(account: Account, verdict: Approved, now: datetime, *, by: str,
                     ticket: str | None = None, extra: dict[str, Any] | None = None) -> Change:
    fields: dict[str, Any] = dict(extra or {})
    if verdict.expiry_date is not None:
        fields["expiry_date"] = verdict.expiry_date
        fields["duration"] = verdict.duration.value if verdict.duration else None
    if verdict.enable:
        return changes.enable(account, now, by=by, ticket=ticket, extra=fields)
    return Change(None, fields)


def request_clearing(account: Account) -> dict[str, Any]:
    """C-1: a pending request is cleared by the change that answers it, and so is the refusal of
    an earlier one (the account is answered now: the refusal no longer tells the truth)."""
    clearing: dict[str, Any] = {"activation_refusal": None} if account.activation_refusal else {}
    if account.activation_request is None:
        return clearing
    return {**clearing, **{name: None for name in REQUEST_FIELDS}}


def need(value: str | None, option: str) -> str:
    if value is None or not value.strip():
        raise UsageError(f"{option} must not be empty")
    return value
