"""One pass of every rule: plan -> guard (C-8) -> apply -> report.

A dry run is the same plan without the apply step, and a forecast is a dry
run "as of" a later date. A routine sweep reads only the accounts the policy
says may be due (`candidate_criteria`); `full=True` reads every account, which
also reports unreadable entries that are not candidates (C-7).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from agent.actions.audit import AGENT_ACTOR, AuditTrail
from agent.actions.guard import Guard, evaluate_guard
from agent.actions.lookup import learner_identities
from agent.actions.purge import Vanished, purge
from agent.actions.readback import ReadBack
from agent.actions.requests import honour_activation_requests
from agent.core import changes
from agent.core.changes import Unconfirmed, UnconfirmedWrite
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError
from agent.core.model import Account, Action
from agent.core.policy import Context, Decision, candidate_criteria, decide
from agent.core.records import ActionRow, AuditRecord, ErrorRow, FlagRow, RequestRow, as_json_rows
from agent.directory import connection
from agent.directory.gateway import Directory
from agent.directory.last_logon import DomainControllerLogons
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.sweep")

# What a routine sweep reads of each candidate: the fields the rules (agent.core.policy), the changes
# and their audit records, and the purge hooks use (DESIGN.md: searches ask only for the
# attributes the rules need; names, school and sponsor are a third of a typical entry). A full
# sweep (forecasts, --full) reads every field, so that it reports all bad data (C-7).
RULE_FIELDS = (
    "uid", "category", "role", "non_mis_type", "mis_id", "mail", "leaving_date", "expiry_date",
    "duration", "disabled_at", "disabled_reason", "reactivated_at", "reactivated_by",
    "reactivation_ticket", "last_sign_in", "created_at", "activation_requested_at",
    "activation_requested_by", "activation_duration",
)


def _shows(change: Any, entry: Any) -> bool:
    """Whether `entry` as read back carries `change` (None: a purge, so the entry is gone)."""
    return entry is None if change is None else (
        entry is not None and changes.already_applied(entry, change))


def settle_unconfirmed(directory: Directory, audit: AuditTrail, pending: list[Unconfirmed]) -> None:
    """After an outage: audit each lost-reply write the server did apply (C-6), forget the others
    (the plan finds them due again). Settled items leave `pending`; raises DirectoryUnavailable."""
    read_back = ReadBack(directory)
    while pending:
        item = pending[0]
        _, applied = read_back(item.dn, functools.partial(_shows, item.change))
        if applied:
            audit.write(item.record.with_extra(confirmed="after the connection was lost"))
        else:
            log.info("unconfirmed_change_not_applied", dn=item.dn, event_name=item.record.event)
            if "intent" in item.record.extra:  # its intent gets its one outcome (issue 11)
                audit.not_applied(item.record, "the connection was lost before the reply and the"
                                               " directory does not show the change: not applied")
        pending.pop(0)


@dataclass(frozen=True)
class Planned:
    account: Account
    decision: Decision


@dataclass
class SweepReport:
    """What one sweep did (or, in a dry run, would do): frozen rows, gathered as the sweep goes."""

    as_of: datetime
    dry_run: bool
    full: bool
    scanned: int = 0
    actions: list[ActionRow] = field(default_factory=list)  # applied (dry run: planned) changes
    flags: list[FlagRow] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    guard: Guard = field(default_factory=Guard)
    held: list[ActionRow] = field(default_factory=list)
    stopped: bool = False
    duration_seconds: float = 0.0
    operations: dict[str, int] = field(default_factory=dict)
    requests: list[RequestRow] = field(default_factory=list)  # C-1, answered before the plan

    @property
    def counts(self) -> dict[str, Any]:
        tally = Counter(action.action for action in self.actions)
        by_rule = Counter(action.rule or "None" for action in self.actions)
        result: dict[str, Any] = {"scanned": self.scanned, "flags": len(self.flags),
                                  "errors": len(self.errors), "held": len(self.held)}
        for name in ("disable", "enable", "purge"):
            result[name] = tally.get(name, 0)
        result["by_rule"] = dict(sorted(by_rule.items()))
        return result

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "full": self.full,
            "scanned": self.scanned,
            "actions": as_json_rows(self.actions),
            "flags": as_json_rows(self.flags),
            "errors": as_json_rows(self.errors),
            "held": as_json_rows(self.held),
            "counts": self.counts,
            "guard": {"tripped": self.guard.tripped, "confirmed": self.guard.confirmed,
                      "limit": self.guard.limit, "would": self.guard.would,
                      "message": self.guard.message},
            "requests": as_json_rows(self.requests),
            "stopped": self.stopped,
            "duration_seconds": round(self.duration_seconds, 3),
            "operations": self.operations,
        }


def plan(directory: Directory, config: Config, now: datetime, *, full: bool = False
         ) -> Iterator[Planned]:
    """The decision for every account read (candidates only, unless `full`)."""
    identities = learner_identities(directory)
    criterion = None if full else candidate_criteria(now, config.policy, identities)
    logons = (DomainControllerLogons(directory, functools.partial(_controller, config))
              if directory.flavour.sign_in_lags else None)
    try:
        for account in directory.accounts(criterion, fields=None if full else RULE_FIELDS):
            context = Context(learner_identity=identities.covers(account))
            planned = Planned(account, decide(account, now, config.policy, context))
            if logons is not None and planned.decision.rule == "NM-4" and planned.decision.changes:
                planned = _confirm_inactivity(planned, logons, now, config, context)
            yield planned
    finally:
        if logons is not None:
            logons.close()


def _controller(config: Config, url: str) -> Directory:
    """Another domain controller of the configured directory, bound with the same settings."""
    return connection.open_directory(config.directory, config.attributes, url=url)


def _confirm_inactivity(planned: Planned, logons: DomainControllerLogons, now: datetime, config: Config,
                        context: Context) -> Planned:
    """NM-4 on Active Directory: re-decide with the latest per-DC `lastLogon` (issue 4)."""
    account = planned.account
    try:
        latest = logons.latest(account.dn)
    except DirectoryUnavailable as error:
        return Planned(account, Decision(
            Action.FLAG, "NM-4",
            f"inactive by lastLogonTimestamp but not confirmed ({error}): not disabled on a stale value"))
    if latest is None or (account.last_sign_in is not None and latest <= account.last_sign_in):
        return planned
    confirmed = replace(account, last_sign_in=latest)
    return Planned(confirmed, decide(confirmed, now, config.policy, context))


def _row(planned: Planned) -> ActionRow:
    decision, account = planned.decision, planned.account
    return ActionRow(account.dn, account.uid, decision.action.value, decision.rule, decision.detail,
                     decision.reason.value if decision.reason is not None else None)


def sweep(
    directory: Directory,
    config: Config,
    audit: AuditTrail,
    now: datetime,
    *,
    dry_run: bool = False,
    full: bool = False,
    confirm_mass_change: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> SweepReport:
    """Plan, guard, apply and report one sweep at `now`."""
    started = time.perf_counter()
    report = SweepReport(as_of=now, dry_run=dry_run, full=full)
    before = _counts(directory)
    # C-1: pending activation requests first (same rules as `activate`), so that the plan
    # sees the accounts as the requests leave them. A dry run only reports what they would do.
    report.requests = honour_activation_requests(directory, config, audit, now, should_stop,
                                                 dry_run=dry_run).rows
    # (row, what to apply): a dry run keeps only the rows, not every account snapshot (a forecast
    # a year ahead plans a change for a good share of the directory).
    to_apply: list[tuple[ActionRow, Planned | None]] = []
    wanted: Counter[Action] = Counter()
    for planned in plan(directory, config, now, full=full):
        report.scanned += 1
        decision, account = planned.decision, planned.account
        if decision.rule == "C-7" and account.problems:
            report.errors.extend(
                ErrorRow(account.dn, account.uid, "C-7", problem.detail, problem.attribute, problem.value)
                for problem in account.problems)
        elif decision.action is Action.FLAG:
            report.flags.append(FlagRow(account.dn, account.uid, decision.rule, decision.detail))
        elif decision.changes:
            to_apply.append((_row(planned), None if dry_run else planned))
            wanted[decision.action] += 1

    report.guard = evaluate_guard(config, directory, wanted, confirm_mass_change, read=report.scanned)
    # Writes sent and not yet confirmed by the server: on a lost connection each may or may not
    # have been applied, and is audited once the directory is back and shows it (C-6).
    in_flight: dict[str, Unconfirmed] = {}

    def tracked() -> Iterator[Write]:
        for key, account, change in _writes(directory, config, audit, to_apply, now, report, dry_run,
                                            should_stop):
            # Write-ahead (issue 11): the intent is in the file, and fsync'd (audit.sync, before the
            # gateway sends), before the modify leaves.
            record = audit.intend(_record(key[1], change, now), changes.change_data(change),
                                  durable=False)
            in_flight[account.dn] = Unconfirmed(account.dn, change, record)
            yield key, account, change

    # Disables and enables go through the gateway's window of writes in flight; each is audited
    # once the server has accepted it (fsync'd per window: AuditTrail.group_commit).
    try:
        with audit.group_commit(config.directory.max_writes_in_flight):
            for (row, planned, _change), error in directory.write_changes(tracked(),
                                                                          before_send=audit.sync):
                account = planned.account
                record = in_flight.pop(account.dn).record
                if error is None:
                    audit.write(record)
                    report.actions.append(row)
                elif isinstance(error, DirectoryWriteError) and error.vanished:
                    # Issue 15: moved to another authority (or deleted) since it was read: nothing
                    # of ours to change any more; a clean skip, never re-disabled where it went.
                    audit.not_applied(record, f"no longer at this DN since it was read (moved to another"
                                              f" authority or deleted): skipped ({error})")
                    log.info("account_vanished", dn=account.dn, uid=account.uid,
                             action=planned.decision.action.value)
                else:
                    audit.not_applied(record, str(error))
                    report.errors.append(ErrorRow(account.dn, account.uid, planned.decision.rule, str(error)))
    except UnconfirmedWrite as error:  # a purge lost its reply
        raise UnconfirmedWrite(str(error), *in_flight.values(), *error.unconfirmed) from error
    except DirectoryUnavailable as error:
        raise UnconfirmedWrite(str(error), *in_flight.values()) from error
    report.actions.sort(key=lambda row: (row.action, row.rule or "", row.uid.lower()))
    report.guard.applied(Counter(row.action for row in report.actions), dry_run=dry_run)
    report.duration_seconds = time.perf_counter() - started
    after = _counts(directory)
    report.operations = {key: after[key] - before[key] for key in after}
    log.info("sweep_finished", **{k: v for k, v in report.counts.items() if k != "by_rule"},
             dry_run=dry_run, full=full, guard_tripped=report.guard.tripped,
             seconds=round(report.duration_seconds, 3), as_of=now.isoformat())
    return report


def _counts(directory: Directory) -> dict[str, int]:
    counts = directory.counts
    return {"searches": counts.searches, "entries_read": counts.entries_read,
            "writes": counts.writes}


_EVENTS = {Action.DISABLE: "account_disabled", Action.ENABLE: "account_enabled"}


def _record(planned: Planned, change: changes.Change, now: datetime) -> AuditRecord:
    """The audit record of one disable or enable (C-6)."""
    account = planned.account
    old, new = changes.before_after(account, change)
    return AuditRecord(event=_EVENTS[planned.decision.action], dn=account.dn, uid=account.uid,
                       rule=planned.decision.rule or "", actor=AGENT_ACTOR, before=old, after=new,
                       detail=planned.decision.detail, time=now)

Write = tuple[tuple[ActionRow, Planned, changes.Change], Account, changes.Change]


def _writes(directory: Directory, config: Config, audit: AuditTrail,
            to_apply: list[tuple[ActionRow, Planned | None]], now: datetime, report: SweepReport,
            dry_run: bool, should_stop: Callable[[], bool]) -> Iterator[Write]:
    """The disables and enables to write, in plan order; purges are applied here, one by one.
    A dry run only reports; what the guard holds is reported as held."""
    for row, planned in to_apply:
        if Action(row.action) in report.guard.held:
            report.held.append(row)
            continue
        if dry_run or planned is None:
            report.actions.append(row)
            continue
        if should_stop():
            report.stopped = True
            break
        if planned.decision.action is Action.PURGE:
            failure = purge(directory, config, audit, planned.account, planned.decision, now)
            if failure is None:
                report.actions.append(row)
            elif isinstance(failure, Vanished):
                continue  # issue 15: moved to another authority since it was read (logged by purge)
            else:
                report.errors.append(failure)
            continue
        if planned.decision.action is Action.DISABLE:
            assert planned.decision.reason is not None
            change = changes.disable(planned.decision.reason, now)
        else:
            change = changes.enable(planned.account, now)
        yield (row, planned, change), planned.account, change
