"""MIS-5, NM-7: permanent deletion of an account, everything below it, and its content elsewhere
(the configured content hooks run first; a failing hook leaves the account for the next sweep)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime

from agent.actions.audit import AGENT_ACTOR, AuditTrail
from agent.core.changes import PURGE_DATA, Unconfirmed, UnconfirmedWrite
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError, ScopeError
from agent.core.model import Account
from agent.core.policy import Decision
from agent.core.records import AuditRecord, ErrorRow
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.purge")


def run_hooks(config: Config, account: Account) -> str | None:
    """Run the purge content hooks for one account; the first failure's message, else None."""
    for hook in config.purge.content_hooks:
        environment = {"HWB_DN": account.dn, "HWB_UID": account.uid, "HWB_MAIL": account.mail or "",
                       "HWB_CATEGORY": account.category.value if account.category else ""}
        try:
            completed = subprocess.run(
                list(hook), env={**_base_environment(), **environment}, capture_output=True,
                text=True, timeout=config.purge.hook_timeout_seconds, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"content hook {hook[0]!r} failed to run: {error}"
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or [""]
            return f"content hook {hook[0]!r} exited {completed.returncode}: {tail[0]}"
    return None


def _base_environment() -> dict[str, str]:
    """What a content hook inherits: enough to run, nothing else (the bind password stays out)."""
    return {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TZ")}


@dataclass(frozen=True)
class Vanished:
    """Issue 15: the account is no longer at its DN (another authority transferred it in, or it
    was deleted) since the sweep read it: nothing purged, not an error."""

    dn: str


def purge(directory: Directory, config: Config, audit: AuditTrail, account: Account, decision: Decision,
          now: datetime) -> ErrorRow | Vanished | None:
    """MIS-5, NM-7: run the content hooks, then delete the entry and everything below it, and audit
    it. Returns the error row when the account was left (a hook failed, the server refused), Vanished
    when it left its DN since it was read; a lost reply raises UnconfirmedWrite, settled once the
    directory is back."""
    # Issue 15: a learner who moved to another authority may have been taken in since the sweep
    # read the account: re-read just before the content hooks, which must never delete the content
    # of an account that lives on elsewhere.
    if directory.read(account.dn) is None:
        log.info("account_vanished", dn=account.dn, uid=account.uid, action="purge")
        return Vanished(account.dn)
    failure = run_hooks(config, account)
    if failure is not None:
        return ErrorRow(account.dn, account.uid, decision.rule, f"{failure}; not purged, retried next sweep")
    before = {"exists": True, "enabled": account.enabled,
              "disabled_reason": account.disabled_reason.value if account.disabled_reason else None}
    record = AuditRecord(event="account_purged", dn=account.dn, uid=account.uid, rule=decision.rule or "",
                         actor=AGENT_ACTOR, before=before, after={"exists": False}, detail=decision.detail,
                         time=now)
    record = audit.intend(record, PURGE_DATA)  # write-ahead (issue 11), fsync'd before the delete
    try:
        deleted = directory.delete_subtree(account.dn)
    except (DirectoryWriteError, ScopeError) as error:
        if isinstance(error, DirectoryWriteError) and error.vanished:
            audit.not_applied(record, f"no longer at this DN (moved to another authority or deleted):"
                                      f" skipped ({error})")
            log.info("account_vanished", dn=account.dn, uid=account.uid, action="purge")
            return Vanished(account.dn)
        audit.not_applied(record, str(error))
        return ErrorRow(account.dn, account.uid, decision.rule, str(error))
    except DirectoryUnavailable as error:
        # Deleted or not, with the reply lost: checked (and audited) once the directory is back.
        raise UnconfirmedWrite(str(error), Unconfirmed(account.dn, None, record)) from error
    audit.write(record.with_extra(entries_deleted=deleted))
    return None
