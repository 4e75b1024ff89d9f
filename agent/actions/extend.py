"""NM-6 and NM-9: a new expiry counted from today, for one account or for every row of a file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.actions.audit import AuditTrail
from agent.actions.extension_file import read_extension_file
from agent.actions.lookup import find_account, identity_of
from agent.actions.outcome import Result, apply_change, approved_change, need, refuse
from agent.core.errors import DirectoryWriteError, PolicyRefusal, UsageError
from agent.core.model import Duration
from agent.core.operations import (
    Refused,
    decide_extension,
)
from agent.directory.gateway import Directory
from agent.settings.config import Config


def extend_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                   uid: str, duration: Duration, by: str, *, allow_shorten: bool = False) -> Result:
    """NM-6: a new expiry date counted from today (never shorter unless `allow_shorten`)."""
    need(by, "--by")
    account = find_account(directory, uid)
    verdict = decide_extension(account, duration, now, config.policy, allow_shorten=allow_shorten,
                               learner_identity=identity_of(directory, account))
    if isinstance(verdict, Refused):
        raise refuse(audit, verdict, operation="extend", account=account, actor=by, now=now,
                      duration=duration.value)
    if not verdict.changes:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = approved_change(account, verdict, now, by=by)
    return apply_change(directory, audit, account, change, event="account_extended", rule=verdict.rule,
                  actor=by, detail=verdict.detail, now=now)


@dataclass
class BulkOutcome:
    line: int
    uid: str
    duration: str
    outcome: str  # extended / unchanged / refused / error
    detail: str


def extend_from_file(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                     path: Path, by: str, *, default: Duration | None = None,
                     allow_shorten: bool = False) -> list[BulkOutcome]:
    """Extend every account of the file; a refusal or unknown uid stops only its own row."""
    need(by, "--by")
    outcomes = []
    for entry in read_extension_file(path, default):
        try:
            result = extend_account(directory, config, audit, now, entry.uid, entry.duration, by,
                                    allow_shorten=allow_shorten)
        except PolicyRefusal as error:
            outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, "refused", str(error)))
            continue
        except (UsageError, DirectoryWriteError) as error:
            outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, "error", str(error)))
            continue
        outcome = "extended" if result.changed else "unchanged"
        outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, outcome,
                                    f"{result.detail} [{result.rule}]"))
    return outcomes
