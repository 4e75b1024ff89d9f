"""Apply a provisioning plan to the directory: the imperative shell of issue 5.

`import_feed` reads the accounts, plans (`agent.core.mis.plan`, pure), then writes:

- create (MIS-1): one LDAP add per account carrying every field of the plan,
  plus the local authority code. The container OU (`mis.create_ou`) is created
  first when it is missing. An "entry already exists" answer is reported as a
  uid collision for that person, never a crash; uids that non-account entries
  already hold are found before planning, so the planner avoids them.
- update, move, leaver (MIS-1, MIS-3, MIS-2): one modify each through the
  gateway's `write_change` (C-4): for a move, school and cleared leaving date
  go together.
- then every account a change made current again is re-read and decided by
  the sweep's own policy (`agent.core.policy.decide`): a learner disabled as a
  leaver who moved school is re-enabled in the same run (MIS-3), with the same
  `Change` and audit event a sweep writes; a staff account is only reported as
  waiting for the service desk (MIS-4). Leavers are not disabled here: the
  sweep does that when their date comes (MIS-2).

Every write is audited (C-6) with the rule id, the actor `mis-import`, the
feed location, file and row, and the values before and after. A write the
server refuses is reported and the rest continues (the command then exits 1);
a lost connection stops the run. Actions the guard holds (C-8) are not
applied unless the operator confirmed (`confirm=True`, --confirm-mass-change).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.mis.org_memory import Remembered
from agent.actions.outcome import write_audited
from agent.core import changes
from agent.core import criteria as c
from agent.core.errors import DirectoryWriteError, ScopeError
from agent.core.mis.feed import Feed
from agent.core.mis.plan import (
    ActionKind,
    FieldValue,
    ProvisioningAction,
    ProvisioningPlan,
    plan_provisioning,
)
from agent.core.mis.report import action_to_json, plan_to_json
from agent.core.model import Account, Action, Category
from agent.core.policy import decide
from agent.core.records import ActionRow, AuditRecord, FlagRow, ImportErrorRow, as_json_rows
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.mis")

MIS_ACTOR = "mis-import"

# uids looked up this many to a filter when checking for entries the planner cannot see.
UID_BATCH = 100
# ... unless they number at least 1/UID_SCAN_SHARE of the accounts in scope: then every uid is read.
UID_SCAN_SHARE = 4
# Re-plans when a uid turns out to be taken by an entry that is not an account (rarely more than one).
MAX_REPLANS = 3

EVENTS = {
    ActionKind.CREATE: "account_created",
    ActionKind.UPDATE: "account_updated",
    ActionKind.MOVE: "account_moved",
    ActionKind.LEAVER: "leaving_date_set",
}


@dataclass
class ImportReport:
    """What one import planned and did. Rows are JSON-ready (ISO dates)."""

    feed: Feed
    plan: ProvisioningPlan
    as_of: datetime
    dry_run: bool
    applied: list[dict[str, Any]] = field(default_factory=list)  # plan actions written
    enabled: list[ActionRow] = field(default_factory=list)  # MIS-3 re-enables of this run
    flags: list[FlagRow] = field(default_factory=list)  # reported, not changed (MIS-4)
    errors: list[ImportErrorRow] = field(default_factory=list)  # writes the server refused
    containers_created: list[str] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    orgs_remembered: Remembered | None = None  # what the org registry learnt (agent.actions.mis.org_memory)

    @property
    def held(self) -> bool:
        """C-8: the guard held actions and the operator did not confirm (exit 4)."""
        return self.plan.needs_confirmation

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def guard_message(self) -> str:
        if not self.held:
            return ""
        schools = sorted(school for school in self.plan.held_schools if school is not None)
        whole_feed = None in self.plan.held_schools
        where = "the whole feed" if whole_feed else "school " + ", ".join(schools)
        reasons = "; ".join(trip.reason for trip in self.plan.trips)
        rest = "Nothing was changed (dry run)" if self.dry_run else "Everything else was applied"
        return (f"mass-change guard (C-8) held {len(self.plan.held)} actions for {where}: {reasons}."
                f" {rest}; check the feed, then re-run with --confirm-mass-change.")

    def as_json(self) -> dict[str, Any]:
        data = plan_to_json(self.plan, self.feed, self.dry_run)
        data["as_of"] = self.as_of.isoformat()
        data["applied"] = self.applied
        data["enabled"] = as_json_rows(self.enabled)
        data["flags"] = as_json_rows(self.flags)
        data["errors"] = as_json_rows(self.errors)
        data["containers_created"] = self.containers_created
        data["operations"] = self.operations
        data["org_registry"] = self.orgs_remembered.as_json() if self.orgs_remembered else None
        data["guard"]["message"] = self.guard_message()
        return data


def import_feed(
    directory: Directory,
    config: Config,
    audit: AuditTrail,
    feed: Feed,
    now: datetime,
    *,
    dry_run: bool = False,
    confirm: bool = False,
    actor: str = MIS_ACTOR,
) -> ImportReport:
    """Plan `feed` against the directory and (unless `dry_run`) apply the safe part."""
    before = _counts(directory)
    plan, accounts = plan_import(directory, config, feed, now, confirm=confirm)
    report = ImportReport(feed=feed, plan=plan, as_of=now, dry_run=dry_run)
    if not dry_run:
        apply_plan(directory, config, audit, plan, accounts, now, report, actor=actor)
    after = _counts(directory)
    report.operations = {key: after[key] - before[key] for key in after}
    counts = plan.counts()
    log.info("mis_import_finished", feed=feed.location, dry_run=dry_run, held=len(plan.held),
             applied=len(report.applied), enabled=len(report.enabled), errors=len(report.errors),
             row_errors=counts["row_errors"], writes=report.operations.get("writes", 0))
    return report


def plan_import(directory: Directory, config: Config, feed: Feed, now: datetime, *,
                confirm: bool = False) -> tuple[ProvisioningPlan, dict[str, Account]]:
    """The plan for `feed` given every account in scope; also returns the accounts by DN.

    A new account's uid must not clash with any entry, not only with managed
    accounts: the uids the plan would create are looked up (every entry under
    the base DN), and the plan is made again avoiding those that are taken.
    """
    settings = config.mis
    today = config.policy.today(now)
    accounts = list(directory.accounts())
    taken: set[str] = set()
    plan = plan_provisioning(feed, accounts, today, settings, confirm=confirm, policy=config.policy)
    for _ in range(MAX_REPLANS):
        wanted = [action.uid for action in (*plan.actions, *plan.held) if action.kind is ActionKind.CREATE]
        clashes = _taken_uids(directory, wanted, in_scope=len(accounts)) - taken
        if not clashes:
            break
        taken |= clashes
        plan = plan_provisioning(feed, accounts, today, settings, confirm=confirm, taken_uids=taken,
                                 policy=config.policy)
    return plan, {account.dn.lower(): account for account in accounts}


def _taken_uids(directory: Directory, uids: list[str], in_scope: int | None = None) -> set[str]:
    """Those of `uids` (lower case) that some entry under the base DN already carries.

    Looked up UID_BATCH to a filter, unless they are many for the directory's size (`in_scope`
    accounts; a first load of an authority creates tens of thousands): then one paged read of
    every uid under the base DN costs less than hundreds of long filters (each compiled and
    encoded by ldap3 in pure Python: ~10 ms a batch, 5 s for 55,000 new accounts).
    """
    found: set[str] = set()
    attribute = directory.mapper.attribute("uid")
    if in_scope is not None and len(uids) > UID_BATCH and len(uids) >= in_scope // UID_SCAN_SHARE:
        for _, raw in directory.search(f"({attribute}=*)", [attribute]):
            for name, values in raw.items():
                if name.lower() == attribute.lower():
                    found.update(_text(value).lower() for value in values)
        return found & {uid.lower() for uid in uids}
    renderer = directory.renderer()
    for start in range(0, len(uids), UID_BATCH):
        batch = uids[start:start + UID_BATCH]
        rendered = renderer.render(c.any_of(*(c.Equals("uid", uid) for uid in batch)))
        if rendered is None:
            continue
        for _, raw in directory.search(rendered, [attribute]):
            for name, values in raw.items():
                if name.lower() == attribute.lower():
                    found.update(_text(value).lower() for value in values)
    return found & {uid.lower() for uid in uids}


def apply_plan(
    directory: Directory,
    config: Config,
    audit: AuditTrail,
    plan: ProvisioningPlan,
    accounts: dict[str, Account],
    now: datetime,
    report: ImportReport,
    *,
    actor: str = MIS_ACTOR,
) -> None:
    """Write the plan's actions (not the held ones), then re-enable movers (MIS-3)."""
    feed_location = report.feed.location
    failed_containers = _ensure_containers(directory, plan, report)
    # The creates first, as a stream of adds with a bounded window in flight (they are independent
    # of each other and of the modifies below, which touch existing accounts only).
    creates = [action for action in plan.actions if action.kind is ActionKind.CREATE]
    _create_all(directory, config, audit, creates, failed_containers, now, report, actor)
    current_again: list[tuple[ProvisioningAction, Account]] = []
    for action in plan.actions:
        if action.kind is ActionKind.CREATE:
            continue
        row = action_to_json(action)
        try:
            account = _account(directory, accounts, action)
            _modify(directory, audit, action, account, now, actor, feed_location)
            if _makes_current(action) and not account.enabled:
                current_again.append((action, account))
        except (DirectoryWriteError, ScopeError) as error:
            report.errors.append(_error_row(action, row.get("dn"), error))
            continue
        report.applied.append(row)
    for action, account in current_again:
        _re_decide(directory, config, audit, action, account, now, report, actor, feed_location)


def _counts(directory: Directory) -> dict[str, int]:
    counts = directory.counts
    return {"searches": counts.searches, "entries_read": counts.entries_read, "writes": counts.writes,
            "adds": counts.adds, "modifies": counts.modifies}


# --- create ----------------------------------------------------------------------------------


def _container_dn(directory: Directory, action: ProvisioningAction) -> str:
    return f"{action.container},{directory.base_dn}" if action.container else directory.base_dn


def _ensure_containers(directory: Directory, plan: ProvisioningPlan, report: ImportReport) -> set[str]:
    """Create missing container OUs of the creates, parents first; the DNs that failed (lower case)."""
    containers = sorted({action.container for action in plan.actions
                         if action.kind is ActionKind.CREATE and action.container})
    failed: set[str] = set()
    for container in containers:
        try:
            report.containers_created.extend(directory.ensure_container(container))
        except (DirectoryWriteError, ScopeError) as error:
            dn = f"{container},{directory.base_dn}"
            failed.add(dn.lower())
            report.errors.append(ImportErrorRow("create-container", "MIS-1", None, dn, str(error)))
    return failed


def _create_all(directory: Directory, config: Config, audit: AuditTrail, creates: list[ProvisioningAction],
                failed_containers: set[str], now: datetime, report: ImportReport, actor: str) -> None:
    """MIS-1: one add per new account (Directory.write_adds: a bounded window in flight when the
    configuration allows it), each audited once the server accepted it (fsync once per window)."""
    feed_location = report.feed.location
    prepared: dict[int, tuple[ProvisioningAction, str, AuditRecord]] = {}
    adds: list[tuple[int, str, tuple[str, ...], dict[str, list[Any]]]] = []
    for number, action in enumerate(creates):
        container = _container_dn(directory, action)
        if container.lower() in failed_containers:
            report.errors.append(_error_row(action, None, DirectoryWriteError(
                f"container {container!r} could not be created")))
            continue
        fields: dict[str, FieldValue] = dict(action.fields)
        fields["local_authority"] = config.local_authority.code
        # Enabled from the start (MIS-1); on AD that takes a password in the same add.
        dn, classes, attributes = directory.new_account(action.uid, container, fields)
        record = AuditRecord(event=EVENTS[action.kind], dn=dn, uid=action.uid, rule=action.rule, actor=actor,
                             before={"exists": False},
                             after={"exists": True, "enabled": True,
                                    **{k: _plain(v) for k, v in fields.items()}},
                             detail=action.detail, time=now, extra=_source(action, feed_location))
        # Write-ahead (issue 11): every add's intent is in the file before the first add leaves,
        # fsync'd once for all of them below; an add never sent is settled as not applied.
        prepared[number] = (action, dn, audit.intend(record, changes.ADD_DATA, durable=False))
        adds.append((number, dn, tuple(classes), attributes))
    if not adds:
        return
    audit.sync()

    # A lost connection leaves the adds in flight with open intents: the next writing command
    # settles them by reading the entries back (agent.actions.writeahead).
    with audit.group_commit(directory.settings.max_writes_in_flight):
        for number, error in directory.write_adds(adds):
            action, dn, record = prepared.pop(number)
            if error is not None:
                if isinstance(error, DirectoryWriteError) and error.already_exists:
                    error = DirectoryWriteError(
                        f"uid collision: an entry {dn!r} already exists (created by someone else since"
                        f" the plan?); {action.mis_id} not created, retried at the next import")
                audit.not_applied(record, str(error))
                report.errors.append(_error_row(action, None, error))
                continue
            audit.write(record)
            report.applied.append(action_to_json(action) | {"dn": dn})


# --- update, move, leaver --------------------------------------------------------------------


def _account(directory: Directory, accounts: dict[str, Account], action: ProvisioningAction) -> Account:
    assert action.dn is not None
    account = accounts.get(action.dn.lower())
    if account is None:  # not from this plan's read: read it now (a caller's own plan)
        account = directory.read(action.dn)
    if account is None:
        raise DirectoryWriteError(f"{action.dn!r} no longer exists")
    return account


def _modify(directory: Directory, audit: AuditTrail, action: ProvisioningAction, account: Account,
            now: datetime, actor: str, feed_location: str) -> None:
    change = changes.Change(None, dict(action.fields))
    before = {item.field: _plain(item.before) for item in action.changes}
    after = {item.field: _plain(item.after) for item in action.changes}
    record = AuditRecord(event=EVENTS[action.kind], dn=account.dn, uid=account.uid, rule=action.rule,
                         actor=actor, before=before, after=after, detail=action.detail, time=now,
                         extra=_source(action, feed_location))
    write_audited(directory, audit, account, change, record)  # intent, one modify (C-4), outcome


def _makes_current(action: ProvisioningAction) -> bool:
    """A move or a withdrawn leaving date: the account may be due an enable (MIS-3) or a flag (MIS-4)."""
    leaving = action.change("leaving_date")
    return action.kind is ActionKind.MOVE or (leaving is not None and leaving.after is None)


def _re_decide(directory: Directory, config: Config, audit: AuditTrail, action: ProvisioningAction,
               before: Account, now: datetime, report: ImportReport, actor: str, feed_location: str) -> None:
    """MIS-3 in the same run: re-read the account as written and let the policy decide."""
    account = directory.read(before.dn)
    if account is None:
        return
    decision = decide(account, now, config.policy)
    if decision.action is Action.FLAG:
        report.flags.append(FlagRow(account.dn, account.uid, decision.rule, decision.detail))
        return
    if decision.action is not Action.ENABLE or account.category is not Category.MIS:
        return  # a disable or purge is the sweep's to make, under its own guard
    change = changes.enable(account, now)
    row = ActionRow(account.dn, account.uid, "enable", decision.rule, decision.detail)
    old, new = changes.before_after(account, change)
    record = AuditRecord(event="account_enabled", dn=account.dn, uid=account.uid,
                         rule=decision.rule or "MIS-3", actor=actor, before=old, after=new,
                         detail=decision.detail, time=now, extra=_source(action, feed_location))
    try:
        write_audited(directory, audit, account, change, record)  # intent, one modify, outcome
    except (DirectoryWriteError, ScopeError) as error:
        report.errors.append(replace(_error_row(action, account.dn, error), action="enable"))
        return
    report.enabled.append(row)


# --- helpers ---------------------------------------------------------------------------------


def _source(action: ProvisioningAction, feed_location: str) -> dict[str, Any]:
    return {"feed": feed_location, "source_file": action.source_file, "source_row": action.source_row,
            "mis_id": action.mis_id}


def _error_row(action: ProvisioningAction, dn: str | None, error: Exception) -> ImportErrorRow:
    return ImportErrorRow(action.kind.value, action.rule, action.uid, dn or action.dn, str(error),
                          action.source_file, action.source_row)


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def with_feed_date(feed: Feed, feed_date: date | None) -> Feed:
    """The feed with its date set by the operator (--feed-date), when given."""
    return feed if feed_date is None else replace(feed, feed_date=feed_date, feed_date_source="command line")


__all__ = ["MIS_ACTOR", "ImportReport", "apply_plan", "import_feed", "plan_import", "with_feed_date"]
