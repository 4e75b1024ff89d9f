"""Transfer an account in from another authority (issue 15, MIS-3): the shell of a TRANSFER action.

A learner who moved to a school of this authority keeps their account: the entry found in another
authority's subtree of the national directory (`agent.directory.national`) is moved under this
authority's base DN, keeping its children (its content), then its school and authority are set,
its leaving date cleared, where it came from and when recorded (hwbTransferredFrom/At, for
`show`), and it is re-enabled if it was disabled as a leaver, in one modify (C-4).

Write-ahead (issue 11), one operation in two audited steps sharing one `transfer` id:

1. `account_moved_in`: intent before the modify DN, outcome after. Its read-back (after a lost
   connection, by `agent.actions.writeahead`) is "the entry exists at the target DN".
2. `account_transferred`: the lifecycle modify, intent before and outcome after, conditional on
   the values read (a writer that changed the entry meanwhile makes it fail, never overwritten).

Races with the sending instance (it may be mid-sweep): the entry is re-read just before the move
and must still be as planned (MIS id, enabled state, disable reason, leaving date); the move itself
asserts the MIS id and state where the flavour allows it. The sending side's writes to the old DN
then find nothing there (noSuchObject) and skip it (agent.actions.sweep, purge).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.outcome import write_audited
from agent.core import changes
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError
from agent.core.mis.plan import ProvisioningAction
from agent.core.model import Account
from agent.core.records import AuditRecord
from agent.directory.national import NationalDirectory
from agent.logs import get_logger

log = get_logger("hwb-agent.actions.mis.transfer")

MOVED_EVENT = "account_moved_in"
TRANSFERRED_EVENT = "account_transferred"


@dataclass(frozen=True)
class Transferred:
    """One transfer done (or, in a dry run, planned): where the account was and is (for
    `import-mis --json`)."""

    uid: str
    mis_id: str
    rule: str
    source_dn: str
    target_dn: str
    enabled: bool
    saved_from_deletion: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "mis_id": self.mis_id, "rule": self.rule, "source_dn": self.source_dn,
                "target_dn": self.target_dn, "enabled": self.enabled,
                "saved_from_deletion": self.saved_from_deletion, "detail": self.detail}


def unchanged_since(planned: Account, current: Account) -> bool:
    """Whether the entry re-read just before the move is still the one the plan was made from."""
    return (
        (current.mis_id or "").strip().upper() == (planned.mis_id or "").strip().upper()
        and current.state_token == planned.state_token
        and current.disabled_reason == planned.disabled_reason
        and current.leaving_date == planned.leaving_date
        and current.category == planned.category
        and not current.problems
    )


def transfer_in(national: NationalDirectory, audit: AuditTrail, action: ProvisioningAction, planned: Account,
                parent: str, now: datetime, *, actor: str, source: dict[str, Any]) -> Transferred:
    """Move `planned` (the account the plan read at `action.dn`) under `parent` and write its new
    lifecycle state, both audited (C-6). Raises DirectoryWriteError or ScopeError when refused
    (nothing, or only the move, was done: the outcome records say which), UnconfirmedWrite when
    the connection was lost (the open intent is settled by read-back)."""
    assert action.dn is not None
    current = national.read(action.dn)
    if current is None:
        raise DirectoryWriteError(
            f"{action.dn!r} is no longer there (purged or moved by its authority since the plan):"
            " not transferred", DirectoryWriteError.NO_SUCH_OBJECT)
    if not unchanged_since(planned, current):
        raise DirectoryWriteError(
            f"{action.dn!r} was changed by its authority since the plan (lost race): not moved;"
            " the next import reads it again")
    target = national.target_dn(current, parent)
    transfer = uuid.uuid4().hex[:16]
    common = {**source, "transfer": transfer, "source_dn": current.dn, "target_dn": target}
    if action.saved_from_deletion:
        common["saved_from_deletion"] = True

    # Step 1: the move (modify DN, children kept).
    moved_record = AuditRecord(
        event=MOVED_EVENT, dn=target, uid=current.uid, rule=action.rule, actor=actor,
        before={"dn": current.dn, "local_authority": current.local_authority},
        after={"dn": target}, detail=f"moved in from another authority: {current.dn} -> {target}"
        " (MIS-3; children kept)", time=now, extra=common)
    moved_record = audit.intend(moved_record, changes.ADD_DATA)  # read back: exists at the target
    try:
        national.move_in(current, parent)
    except DirectoryWriteError as error:
        audit.not_applied(moved_record, str(error))
        raise
    except DirectoryUnavailable as error:
        raise changes.UnconfirmedWrite(
            str(error), changes.Unconfirmed(target, changes.Change(None, {}), moved_record)) from error
    audit.write(moved_record)
    log.info("account_move_in_done", uid=current.uid, source_dn=current.dn, target_dn=target)

    # Step 2: the new lifecycle state, in one modify (C-4), conditional on the values read.
    here = replace(current, dn=target)
    fields: dict[str, Any] = {**action.fields, "transferred_from": current.dn, "transferred_at": now}
    change = (changes.enable(here, now, extra=fields) if action.enable else changes.Change(None, fields))
    before: dict[str, Any] = {"dn": current.dn, "enabled": current.enabled}
    after: dict[str, Any] = {"dn": target, "enabled": bool(change.enabled) if change.enabled is not None
                             else current.enabled}
    for name, value in change.fields.items():
        before[name] = _plain(getattr(current, name, None))
        after[name] = _plain(value)
    record = AuditRecord(event=TRANSFERRED_EVENT, dn=target, uid=current.uid, rule=action.rule, actor=actor,
                         before=before, after=after, detail=action.detail, time=now, extra=common)
    write_audited(national.directory, audit, here, change, record, conditional=True)
    return Transferred(current.uid, action.mis_id, action.rule, current.dn, target, bool(after["enabled"]),
                       action.saved_from_deletion, action.detail)


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


__all__ = ["MOVED_EVENT", "TRANSFERRED_EVENT", "Transferred", "transfer_in", "unchanged_since"]
