"""C-1: activation requests written to the directory (by a portal or `request-activation`),
answered by the same rules as `activate`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.lookup import find_account, identity_of
from agent.actions.outcome import Result, approved_change, need, refuse, request_clearing, write_audited
from agent.core import changes
from agent.core import criteria as c
from agent.core.changes import Change
from agent.core.errors import DirectoryWriteError
from agent.core.model import Account, Duration
from agent.core.operations import (
    Refused,
    Verdict,
    decide_activation,
)
from agent.core.records import AuditRecord, RequestRow
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.requests")


@dataclass
class RequestSummary:
    """What one pass over the pending activation requests did (C-1)."""

    dry_run: bool = False
    found: int = 0
    rows: list[RequestRow] = field(default_factory=list)
    stopped: bool = False

    @property
    def counts(self) -> dict[str, int]:
        tally = {"found": self.found, "activated": 0, "extended": 0, "refused": 0, "unchanged": 0,
                 "skipped": 0, "errors": 0}
        for row in self.rows:
            tally[row.outcome] = tally.get(row.outcome, 0) + 1
        return tally

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "found": self.found,
                "requests": [row.as_json() for row in self.rows], "counts": self.counts,
                "stopped": self.stopped}


def pending_requests(directory: Directory) -> Iterator[Account]:
    """Accounts carrying an activation request: one search on an indexed attribute."""
    return directory.accounts(c.Present("activation_requested_at"))


def refused_requests(directory: Directory) -> list[Account]:
    """Accounts whose last activation request was refused and that carry no new request (C-1)."""
    criterion = c.all_of(c.Present("activation_refusal"), c.Not(c.Present("activation_requested_at")))
    found = directory.accounts(criterion, fields=("activation_refusal", "activation_requested_at"))
    return sorted((account for account in found if account.activation_refusal),
                  key=lambda account: account.uid.lower())


def refusal_parts(text: str) -> dict[str, str | None]:
    """The refusal written for the portal, "TIME RULE: message", as its time, rule and reason
    (a value in another form is all reason)."""
    time, _, rest = text.strip().partition(" ")
    rule, separator, reason = rest.partition(": ")
    if not separator or not time[:4].isdigit() or not rule or " " in rule:
        return {"refused_at": None, "rule": None, "reason": text.strip()}
    return {"refused_at": time, "rule": rule, "reason": reason}


def refusal_row(account: Account) -> dict[str, str | None]:
    assert account.activation_refusal is not None
    return {"uid": account.uid, "dn": account.dn, **refusal_parts(account.activation_refusal)}


def honour_activation_requests(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                               should_stop: Callable[[], bool] = lambda: False, *,
                               dry_run: bool = False) -> RequestSummary:
    """C-1: answer every pending request by the rules of `activate`, clearing it in the same modify.

    The fast path of the service (`run`, every `schedule.activation_poll_seconds`):
    with nothing pending it costs one search. A refusal clears the request too and
    writes its reason to the `activation_refusal` attribute for the portal.
    """
    summary = RequestSummary(dry_run=dry_run)
    for account in list(pending_requests(directory)):
        summary.found += 1
        if should_stop():
            summary.stopped = True
            break
        row = _honour_one(directory, config, audit, now, account, dry_run)
        summary.rows.append(row)
    if summary.found:
        log.info("activation_requests", **summary.counts, dry_run=dry_run)
    return summary


def _honour_one(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                account: Account, dry_run: bool) -> RequestRow:
    request = account.activation_request
    assert request is not None
    actor = request.requested_by
    requested_at = request.requested_at.isoformat() if request.requested_at else None
    duration = request.duration.value if request.duration else None

    def row(outcome: str, rule: str | None, detail: str) -> RequestRow:
        return RequestRow(account.dn, account.uid, actor, requested_at, duration, outcome, rule, detail)

    if config.policy.is_protected(account):
        # C-2: not even the request is touched; it is reported on every pass.
        log.warning("activation_request_on_protected_account", dn=account.dn, uid=account.uid)
        return row("skipped", "C-2", "protected account: request left untouched")
    faults = [p for p in account.problems if p.attribute.lower() in _request_attributes(directory)]
    if faults:
        # C-7: a request that cannot be read is reported on every pass and left as it is: no write.
        return row("errors", "C-7", "activation request unreadable, left unchanged ("
                   + "; ".join(f"{p.attribute}={p.value!r}: {p.detail}" for p in faults) + ")")
    verdict: Verdict = decide_activation(account, now, config.policy, request.duration,
                                         learner_identity=identity_of(directory, account))
    clearing = request_clearing(account)
    requested = {"requested_by": actor, "requested_at": requested_at, "duration": duration}
    if isinstance(verdict, Refused):
        answer = row("refused", verdict.rule, verdict.message)
        if dry_run:
            return answer
        refusal = f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')} {verdict.rule}: {verdict.message}"
        change = Change(None, {**clearing, "activation_refusal": refusal})
        record = AuditRecord(
            event="activation_request_refused", dn=account.dn, uid=account.uid, rule=verdict.rule,
            actor=actor, before={"activation_request": requested},
            after={"activation_request": None, "activation_refusal": refusal},
            detail=verdict.message, time=now, extra={"request": requested})
    else:
        outcome = "activated" if verdict.enable else ("extended" if verdict.changes else "unchanged")
        answer = row(outcome, verdict.rule, verdict.detail)
        if dry_run:
            return answer
        change = approved_change(account, verdict, now, by=actor,
                                 extra={**clearing, "activation_refusal": None})
        before, after = changes.before_after(account, change)
        record = AuditRecord(
            event="activation_request_honoured", dn=account.dn, uid=account.uid, rule="C-1",
            actor=actor, before=before, after=after, detail=f"{verdict.detail} [{verdict.rule}]",
            time=now, extra={"request": requested})
    try:
        _write_then_audit(directory, audit, account, change, record)
    except DirectoryWriteError as error:
        return replace(answer, outcome="errors", detail=str(error))
    return answer


def _request_attributes(directory: Directory) -> set[str]:
    return {directory.mapper.attribute(field).lower() for field in
            ("activation_requested_at", "activation_requested_by", "activation_duration")}


def _write_then_audit(directory: Directory, audit: AuditTrail, account: Account, change: Change,
                      record: AuditRecord) -> None:
    """One modify, then its audit record; a reply lost with the connection is reported as
    UnconfirmedWrite, so that the service audits the change once it sees it applied (C-6)."""
    write_audited(directory, audit, account, change, record, conditional=True)


def request_activation(directory: Directory, config: Config, audit: AuditTrail, now: datetime, uid: str,
                       by: str, duration: Duration | None = None) -> Result:
    """C-1: write an activation request as a portal would; the service (or `requests`, or the next
    sweep) answers it by the rules of `activate`. The request itself is audited (C-6).

    A protected account (C-2) is refused here, since the agent would never answer it.
    """
    need(by, "--by")
    account = find_account(directory, uid)
    if config.policy.is_protected(account):
        raise refuse(audit, Refused("C-2", f"{account.uid} is a protected account (policy.protected):"
                                           " the agent never changes it"),
                     operation="request-activation", account=account, actor=by, now=now)
    fields = {"activation_requested_at": now, "activation_requested_by": by,
              "activation_duration": duration.value if duration else None}
    detail = (f"activation requested by {by}{f' with a {duration.value} extension' if duration else ''};"
              " answered at the agent's next poll")
    pending = account.activation_request
    before = {"activation_request": None if pending is None else {
        "requested_by": pending.requested_by,
        "requested_at": pending.requested_at.isoformat() if pending.requested_at else None,
        "duration": pending.duration.value if pending.duration else None}}
    after = {"activation_request": {"requested_by": by, "requested_at": now.isoformat(),
                                    "duration": fields["activation_duration"]}}
    write_audited(directory, audit, account, Change(None, fields), AuditRecord(
        event="activation_requested", dn=account.dn, uid=account.uid, rule="C-1", actor=by,
        before=before, after=after, detail=detail, time=now), conditional=True)
    return Result(account.uid, account.dn, "C-1", detail, True, before, after, "activation_requested")
