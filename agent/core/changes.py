"""What one change to an account writes, and how it reads in the audit trail.

A change is the new enabled state plus the lifecycle fields that go with it,
written together in one modify (C-4): disabling sets the reason and time,
enabling clears them (and a manual reactivation records who and when).
Pure: the directory layer turns a `Change` into LDAP operations. `UnconfirmedWrite` is how
the writers report a change whose reply the connection lost (applied or not: check later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from agent.core.errors import DirectoryUnavailable
from agent.core.model import Account, Reason
from agent.core.records import AuditRecord
from agent.core.reminders import claim_applied


@dataclass(frozen=True)
class Change:
    """New enabled state (None: unchanged) and logical fields to set (None value: delete)."""

    enabled: bool | None
    fields: dict[str, Any] = field(default_factory=dict)


def disable(reason: Reason, now: datetime) -> Change:
    return Change(False, {"disabled_reason": reason.value, "disabled_at": now})


def enable(account: Account, now: datetime, *, by: str | None = None, ticket: str | None = None,
           extra: dict[str, Any] | None = None) -> Change:
    """Enable, clearing the disable fields. `by` marks a manual reactivation (NM-5, MIS-4, C-1)."""
    fields: dict[str, Any] = {}
    if account.disabled_reason is not None:
        fields["disabled_reason"] = None
    if account.disabled_at is not None:
        fields["disabled_at"] = None
    if by is not None:
        fields.update(reactivated_at=now, reactivated_by=by, reactivation_ticket=ticket)
    if extra:
        fields.update(extra)
    return Change(True, fields)


LIFECYCLE_VIEW = (
    "enabled", "disabled_reason", "disabled_at", "reactivated_at", "reactivated_by",
    "reactivation_ticket", "leaving_date", "expiry_date", "duration", "school",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def before_after(account: Account, change: Change) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit view (C-6): the touched lifecycle values before and after the change."""
    touched = [name for name in LIFECYCLE_VIEW if name in change.fields or name == "enabled"]
    before = {name: _plain(getattr(account, name)) for name in touched}
    after = dict(before)
    if change.enabled is not None:
        after["enabled"] = change.enabled
    for name, value in change.fields.items():
        if name in before or name in LIFECYCLE_VIEW:
            after[name] = _plain(value)
            before.setdefault(name, _plain(getattr(account, name, None)))
    return before, after


def already_applied(account: Account, change: Change) -> bool:
    """Whether `account`, as read back, already carries every value `change` writes.

    For a write whose reply was lost with the connection: the server applied all of it
    or none (C-4), and this tells which. Times compare to the second, as they are stored;
    a cleared request shows as no `activation_request`; fields that the snapshot does not
    carry (the refusal text) are not compared.
    """
    if change.enabled is not None and account.enabled != change.enabled:
        return False
    # The request fields (C-1) are read as one `activation_request`: clearing them shows as None.
    if any(name.startswith("activation_requested") for name in change.fields) and (
            account.activation_request is not None):
        return False
    for name, value in change.fields.items():
        if hasattr(account, name) and _as_stored(getattr(account, name)) != _as_stored(value):
            return False
    return True


def _as_stored(value: Any) -> Any:
    return value.replace(microsecond=0) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Unconfirmed:
    """A write whose reply was lost with the connection: the server applied all of it or none.

    `change` is None for a purge (applied when the entry is gone). `record` is the audit
    record to write once the change is seen applied (`settle_unconfirmed`).
    """

    dn: str
    change: Change | None
    record: AuditRecord


class UnconfirmedWrite(DirectoryUnavailable):
    """The directory went away during writes; `unconfirmed` lists what to check once it is back."""

    def __init__(self, message: str, *unconfirmed: Unconfirmed):
        super().__init__(message)
        self.unconfirmed = list(unconfirmed)


# --- the write-ahead log's view of a change (issue 11) ------------------------------------------

def _stored_plain(value: Any) -> Any:
    """A value as the audit file keeps it and as it reads back: times in UTC to the second."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(microsecond=0).isoformat()
    return _plain(value)


def change_data(change: Change) -> dict[str, Any]:
    """What an intent line carries of a modify, enough to tell later whether it was applied."""
    return {"kind": "modify", "enabled": change.enabled,
            "fields": {name: _stored_plain(value) for name, value in change.fields.items()}}


PURGE_DATA: dict[str, Any] = {"kind": "purge"}
ADD_DATA: dict[str, Any] = {"kind": "add"}


def applied(account: Account | None, data: Mapping[str, Any]) -> bool:
    """Whether the entry read back (None: absent) shows the change `data` (from `change_data`, or
    PURGE_DATA / ADD_DATA) applied. A modify is applied whole or not at all (C-4)."""
    kind = data.get("kind")
    if kind == "reminder":  # a reminder key claimed or released (issue 14)
        return claim_applied(account, data)
    if kind == "purge":
        return account is None
    if kind == "add":
        return account is not None
    if account is None:
        return False
    enabled = data.get("enabled")
    if enabled is not None and account.enabled != enabled:
        return False
    fields: Mapping[str, Any] = data.get("fields") or {}
    requested = [name for name in fields if name.startswith("activation_requested")]
    if requested:
        setting = any(fields[name] is not None for name in requested)
        if (account.activation_request is not None) != setting:
            return False
    for name, value in fields.items():
        if hasattr(account, name) and _stored_plain(getattr(account, name)) != value:
            return False
    return True
