"""The provisioning planner: a feed and the existing MIS accounts in, actions as data out.

Pure: no clock (`today` is an argument), no directory (accounts are snapshots),
no writes. The apply step (the shell) turns each `ProvisioningAction` into one
LDAP add or one LDAP modify (C-4) and writes one audit record carrying the
action's rule id, feed file and row, and before/after values (C-6).

The pieces: `agent.core.mis.provisioning` (the values: actions, plan, problems,
guard trips), `agent.core.mis.desired` (what a feed person should look like:
school and leaving date, MIS-1/MIS-2/MIS-4), `agent.core.mis.matching` (feed
people to accounts, C-7) and `agent.core.mis.guard` (C-8). This module puts
them together; it re-exports the values, so callers import them from here.

Actions (`ActionKind`), each one modify or one add:

- create (MIS-1): a current person without an account.
- update (MIS-1): changed name, mail, school (staff), MIS id, or a withdrawn
  leaving date (staff: the sweep then reports MIS-4, waiting for the service
  desk; learners: rule MIS-3, the sweep re-enables).
- move (MIS-3): a learner now at another school: school set and any leaving
  date cleared in the same modify, so the sweep of the same run re-enables a
  learner disabled as a leaver.
- leaver (MIS-2): a leaving date set, from the feed, or for an account of a
  covered school missing from a *bulk* users file (leaving date = feed date,
  never for schools the feed does not cover, never for people whose row was
  rejected as malformed, never moved later once set).

Accounts the planner never changes: protected ones (C-2, when `policy` is
given), ones whose lifecycle data is unreadable (C-7), and MIS identifiers
that two accounts share (C-7); each is reported in `problems`.

Guard (C-8, `agent.core.mis.guard`): a plan that would take too large a share
of a school's accounts, or create or make leavers of too many, is held until an
operator confirms it (`confirm=True`, the --confirm-mass-change of the command line).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from agent.core.mis.desired import Desired, desired_state
from agent.core.mis.feed import USERS, Feed, FeedPerson, FileMode
from agent.core.mis.guard import guard_trips, hold
from agent.core.mis.matching import former_account, index_accounts
from agent.core.mis.provisioning import (
    ActionKind,
    FieldChange,
    FieldValue,
    GuardTrip,
    PlanProblem,
    ProvisioningAction,
    ProvisioningPlan,
)
from agent.core.mis.settings import MisSettings
from agent.core.mis.uids import UidAllocator
from agent.core.model import Account, Category, Role
from agent.core.policy import PolicySettings

# --- The plan -------------------------------------------------------------------------------


def plan_provisioning(
    feed: Feed,
    accounts: Iterable[Account],
    today: date,
    settings: MisSettings,
    *,
    confirm: bool = False,
    taken_uids: Iterable[str] = (),
    policy: PolicySettings | None = None,
) -> ProvisioningPlan:
    """What importing `feed` changes, given every existing account (MIS and others).

    `accounts` may include non-MIS accounts: their uids are avoided for new
    accounts and nothing else. `taken_uids` adds uids known to be used
    elsewhere (other trees, reserved names). `policy` names the protected
    accounts (C-2), which are matched (so never duplicated) but never changed.
    """
    accounts = list(accounts)
    mis_accounts, index, used_uids = index_accounts(accounts)
    uids = UidAllocator(used_uids | {uid.lower() for uid in taken_uids}, settings.uid)
    problems = list(index.problems)
    actions: list[ProvisioningAction] = []
    matched: set[str] = set()  # DNs of accounts a feed person speaks for

    exact = {
        person.source_id: index.single(person.role, person.mis_id) for person in feed.persons
    }
    claimed = {account.dn for account in exact.values() if account is not None}
    for person in feed.persons:
        if index.ambiguous(person.role, person.mis_id):
            matched.update(account.dn for account in index.matching(person.role, person.mis_id))
            continue
        account = exact[person.source_id]
        if account is None:
            account, conflict = former_account(person, index, claimed, problems)
            if conflict:
                continue
        if account is not None:
            matched.add(account.dn)
            if account.problems:
                problems.append(PlanProblem(
                    "lifecycle data unreadable, left unchanged (C-7): "
                    + "; ".join(f"{p.attribute}={p.value!r}" for p in account.problems),
                    person.mis_id, account.dn, person.source.file, person.source.row,
                ))
                continue
        desired = desired_state(person, feed, today, account)
        if account is None:
            action = _create(person, desired, today, settings, uids)
        else:
            action = _update(person, desired, account)
        if action is not None:
            actions.append(action)

    if feed.users_mode is FileMode.BULK:
        actions += _missing_from_bulk(feed, mis_accounts, matched, problems)
    if policy is not None:
        actions = _without_protected(actions, accounts, policy, problems)

    trips = guard_trips(actions, mis_accounts, today, settings, feed.school_names)
    actions, held = hold(actions, trips, confirm=confirm)
    return ProvisioningPlan(
        feed_date_source=feed.feed_date_source,
        feed_date=feed.feed_date,
        today=today,
        actions=tuple(_ordered(actions)),
        held=tuple(_ordered(held)),
        trips=tuple(trips),
        confirmed=confirm,
        problems=tuple(problems),
        row_errors=feed.errors,
    )


def _without_protected(
    actions: list[ProvisioningAction], accounts: list[Account], policy: PolicySettings,
    problems: list[PlanProblem],
) -> list[ProvisioningAction]:
    """C-2: a protected account is never changed, whatever the feed says."""
    protected = {account.dn for account in accounts if policy.is_protected(account)}
    kept = []
    for action in actions:
        if action.dn in protected:
            problems.append(PlanProblem(
                f"protected account (C-2): {action.kind.value} not applied ({action.detail})",
                action.mis_id, action.dn, action.source_file, action.source_row,
            ))
        else:
            kept.append(action)
    return kept


def _ordered(actions: list[ProvisioningAction]) -> list[ProvisioningAction]:
    kinds = list(ActionKind)
    return sorted(actions, key=lambda a: (kinds.index(a.kind), a.source_row or 0, a.uid))


def _create(
    person: FeedPerson,
    desired: Desired,
    today: date,
    settings: MisSettings,
    uids: UidAllocator,
) -> ProvisioningAction | None:
    if desired.leaving_date is not None and desired.leaving_date <= today:
        # A leaver the directory never knew: there is nothing to disable (MIS-2), so no account.
        return None
    uid = uids.allocate(person.given_name, person.family_name)
    values: list[tuple[str, FieldValue]] = [
        ("uid", uid),
        ("category", Category.MIS.value),
        ("role", person.role.value),
        ("mis_id", person.mis_id),
        ("given_name", person.given_name),
        ("surname", person.family_name),
        ("display_name", f"{person.given_name} {person.family_name}"),
        ("mail", person.mail),
        ("school", desired.school),
        ("leaving_date", desired.leaving_date),
    ]
    notes = []
    if person.temporary_upn:
        notes.append("temporary UPN")
    if desired.leaving_date is not None:
        notes.append(f"leaving date {desired.leaving_date.isoformat()} recorded ({desired.leaving_why})")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return ProvisioningAction(
        kind=ActionKind.CREATE,
        rule="MIS-1",
        uid=uid,
        role=person.role,
        mis_id=person.mis_id,
        changes=tuple(FieldChange(name, None, value) for name, value in values if value is not None),
        detail=f"new {person.role.value} at school {desired.school}: MIS record current{suffix}",
        source_file=person.source.file,
        source_row=person.source.row,
        schools=(desired.school,),
        container=settings.create_ou,
    )


def _update(person: FeedPerson, desired: Desired, account: Account) -> ProvisioningAction | None:
    changes: list[FieldChange] = []

    def compare(field: str, before: FieldValue, after: FieldValue) -> None:
        if before != after:
            changes.append(FieldChange(field, before, after))

    if account.mis_id != person.mis_id:
        compare("mis_id", account.mis_id, person.mis_id)  # a permanent UPN replaced a temporary one
    compare("given_name", account.given_name, person.given_name)
    compare("surname", account.surname, person.family_name)
    if changes and any(change.field in ("given_name", "surname") for change in changes):
        compare("display_name", account.display_name, f"{person.given_name} {person.family_name}")
    if person.mail and person.mail.lower() != (account.mail or "").lower():
        compare("mail", account.mail, person.mail)
    compare("school", account.school, desired.school)
    compare("leaving_date", account.leaving_date, desired.leaving_date)
    if not changes:
        return None

    leaving = next((c for c in changes if c.field == "leaving_date"), None)
    moved = any(change.field == "school" for change in changes)
    learner = person.role is Role.LEARNER
    if leaving is not None and leaving.after is not None:
        kind, rule = ActionKind.LEAVER, "MIS-2"
        assert isinstance(leaving.after, date)
        detail = f"leaving date {leaving.after.isoformat()} ({desired.leaving_why})"
    elif moved and learner:
        kind, rule = ActionKind.MOVE, "MIS-3"
        detail = f"learner moved from school {account.school} to {desired.school}"
        if leaving is not None:
            detail += "; leaving date cleared so the sweep re-enables the account"
    elif leaving is not None and learner:
        kind, rule = ActionKind.UPDATE, "MIS-3"
        detail = "leaving date withdrawn: the record is current again, the sweep re-enables the account"
    else:
        kind, rule = ActionKind.UPDATE, "MIS-1"
        detail = "MIS record changed: " + ", ".join(change.field for change in changes)
        if leaving is not None:
            detail += " (leaving date withdrawn; a staff account waits for the service desk, MIS-4)"
    schools = tuple(dict.fromkeys(school for school in (account.school, desired.school) if school))
    return ProvisioningAction(
        kind=kind,
        rule=rule,
        uid=account.uid,
        role=person.role,
        mis_id=person.mis_id,
        changes=tuple(changes),
        detail=detail,
        source_file=person.source.file,
        source_row=person.source.row,
        schools=schools,
        dn=account.dn,
    )


def _missing_from_bulk(
    feed: Feed, mis_accounts: list[Account], matched: set[str], problems: list[PlanProblem]
) -> list[ProvisioningAction]:
    """MIS-2: accounts of covered schools that a bulk users file no longer lists."""
    covered = feed.covered_schools
    leavers: list[ProvisioningAction] = []
    for account in mis_accounts:
        if account.dn in matched or account.school not in covered:
            continue
        if account.role is None or not account.mis_id:
            continue  # reported by index_accounts
        if "".join(account.mis_id.split()).upper() in feed.rejected_ids:
            continue  # their row is malformed, not absent: never a leaver for that
        if account.leaving_date is not None and account.leaving_date <= feed.feed_date:
            continue  # already a leaver: keep the first leaving date, do not push it later
        if account.problems:
            problems.append(PlanProblem("absent from the bulk users file but its lifecycle data is"
                                        " unreadable: left unchanged (C-7)", account.mis_id, account.dn))
            continue
        leavers.append(ProvisioningAction(
            kind=ActionKind.LEAVER,
            rule="MIS-2",
            uid=account.uid,
            role=account.role,
            mis_id=account.mis_id,
            changes=(FieldChange("leaving_date", account.leaving_date, feed.feed_date),),
            detail=f"absent from the bulk {USERS} of school {account.school}:"
                   f" leaving date = feed date {feed.feed_date.isoformat()}",
            source_file=USERS,
            source_row=None,
            schools=(account.school,),
            dn=account.dn,
        ))
    return leavers


__all__ = [
    "ActionKind",
    "FieldChange",
    "FieldValue",
    "GuardTrip",
    "PlanProblem",
    "ProvisioningAction",
    "ProvisioningPlan",
    "plan_provisioning",
]
