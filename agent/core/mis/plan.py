"""The provisioning planner: a feed and the existing MIS accounts in, actions as data out.

Pure: no clock (`today` is an argument), no directory (accounts are snapshots),
no writes. The apply step (the shell) turns each `ProvisioningAction` into one
LDAP add or one LDAP modify (C-4) and writes one audit record carrying the
action's rule id, feed file and row, and before/after values (C-6).

What a person in the feed should look like (`_desired`):

- *Leaving date* (MIS-2). A delta row `tobedeleted`: the end date of their last
  enrolment when the feed gives one (the real last day), else the calendar date
  of the row's dateLastModified. A bulk enrollments file in which every one of
  their enrolments has ended (endDate on or before today): the latest endDate.
  Otherwise none: the record is current (MIS-1). An enrolment ending in the
  future does not make a leaving date: exports put the academic year's end on
  every enrolment, and recording those would disable every staff account each
  summer with no automatic way back (MIS-4). A future date from a
  `tobedeleted` row is recorded as is; the sweep acts on it when it comes.
- *School*: the school of a current enrolment (primary first, then the latest
  begin date), else the first school of orgSourcedIds. An account already at
  one of the person's current schools keeps it (dual registration causes no
  churn), but a current enrolment elsewhere wins over a stale orgSourcedIds (a
  move); a leaver keeps the school they left.
- Names and mail come from the feed; an empty mail in the feed never clears
  the account's (many MIS hold no mail; the directory may be its source).

Identity: learners are matched by UPN, staff by their staff identifier, each
within its role, so one person never gets two accounts. A learner whose
permanent UPN replaced a temporary one is matched through userIds
`{FormerUPN:...}` and keeps their account (its MIS id is updated).

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

Guard (C-8): per school and role, if the leavers and moves away would take
more than `max_loss_percent` of its current accounts (and more than
`loss_floor`, so one leaver of a tiny school is no alarm), every action that
touches that school is held. If the whole feed would create more than
`max_creates` or set more than `max_leavers` leaving dates, every action is
held. `confirm=True` (the operator's --confirm-mass-change) applies them all.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from agent.core.mis.feed import USERS, Feed, FeedPerson, FileMode, RowError
from agent.core.mis.settings import MisSettings
from agent.core.mis.uids import UidAllocator
from agent.core.model import Account, Category, Role
from agent.core.policy import PolicySettings

FieldValue = str | date | None


class ActionKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"
    LEAVER = "leaver"


@dataclass(frozen=True)
class FieldChange:
    """One logical field (agent/directory/fields.py names) with its value before and after."""

    field: str
    before: FieldValue
    after: FieldValue


@dataclass(frozen=True)
class ProvisioningAction:
    """One change to one account: a single LDAP add (create) or modify (the rest).

    `dn` is the existing entry (None for a create); a create goes to
    `container` (relative to the base DN) as ``uid=<uid>``. `source_file` and
    `source_row` name the feed row that caused it (`source_row` None for an
    account missing from a bulk file). `schools` are the schools the action
    touches, before and after, for the guard and for reports.
    """

    kind: ActionKind
    rule: str
    uid: str
    role: Role
    mis_id: str
    changes: tuple[FieldChange, ...]
    detail: str
    source_file: str
    source_row: int | None
    schools: tuple[str, ...]
    dn: str | None = None
    container: str | None = None

    @property
    def fields(self) -> dict[str, FieldValue]:
        """Logical field -> new value (None = remove the attribute)."""
        return {change.field: change.after for change in self.changes}

    def change(self, field: str) -> FieldChange | None:
        return next((change for change in self.changes if change.field == field), None)


@dataclass(frozen=True)
class GuardTrip:
    """A C-8 limit the plan would exceed. `school` None: a limit on the whole feed."""

    school: str | None
    role: Role | None
    would: int
    limit: float
    out_of: int | None
    reason: str


@dataclass(frozen=True)
class PlanProblem:
    """Something the planner would not act on (C-7), with what it is about."""

    detail: str
    mis_id: str | None = None
    dn: str | None = None
    source_file: str | None = None
    source_row: int | None = None


@dataclass(frozen=True)
class ProvisioningPlan:
    """`actions` are safe to apply; `held` are stopped by the guard (`trips` say why)."""

    feed_date: date
    today: date
    actions: tuple[ProvisioningAction, ...]
    held: tuple[ProvisioningAction, ...]
    trips: tuple[GuardTrip, ...]
    confirmed: bool
    problems: tuple[PlanProblem, ...]
    row_errors: tuple[RowError, ...]

    @property
    def guard_tripped(self) -> bool:
        return bool(self.trips)

    @property
    def needs_confirmation(self) -> bool:
        """C-8: the command line exits 4 unless the operator confirms (--confirm-mass-change)."""
        return bool(self.held)

    @property
    def held_schools(self) -> frozenset[str | None]:
        return frozenset(trip.school for trip in self.trips)

    @property
    def is_empty(self) -> bool:
        return not self.actions and not self.held

    def counts(self) -> dict[str, int]:
        counted = Counter(action.kind.value for action in self.actions)
        return {kind.value: counted.get(kind.value, 0) for kind in ActionKind} | {
            "held": len(self.held),
            "row_errors": len(self.row_errors),
            "problems": len(self.problems),
        }


# --- Desired state of one person -----------------------------------------------------------


@dataclass(frozen=True)
class _Desired:
    school: str
    leaving_date: date | None
    leaving_why: str


def _has_ended(end: date | None, today: date) -> bool:
    return end is not None and end <= today


def _desired(person: FeedPerson, feed: Feed, today: date, account: Account | None) -> _Desired:
    enrolments = person.enrolments
    current = [enrolment for enrolment in enrolments if not _has_ended(enrolment.end, today)]
    leaving: date | None = None
    why = ""
    if person.to_be_deleted:
        ends = [enrolment.end for enrolment in enrolments if enrolment.end is not None]
        if ends:
            leaving, why = max(ends), "tobedeleted; end date of the last enrolment"
        else:
            leaving = person.last_modified_on or feed.feed_date
            why = "tobedeleted; its dateLastModified"
    elif feed.enrollments_mode is FileMode.BULK and enrolments and not current:
        # Only a bulk file shows every enrolment; a delta's silence proves nothing.
        leaving = max(enrolment.end for enrolment in enrolments if enrolment.end is not None)
        why = "every enrolment has ended"

    # Current enrolments say where a person is now, better than orgSourcedIds, which some
    # MIS update later: primary first, then the latest begin date.
    by_preference = sorted(
        current, key=lambda enrolment: (not enrolment.primary, -(enrolment.begin or date.min).toordinal())
    )
    latest_first = sorted(enrolments, key=lambda enrolment: enrolment.end or date.max, reverse=True)
    preferred = (
        [enrolment.school for enrolment in by_preference]
        or list(person.schools)
        or [enrolment.school for enrolment in latest_first]
    )
    if leaving is not None:
        # A leaver stays at the school they left, if the feed names it at all.
        keep = account is not None and account.school in _all_schools(person)
    else:
        # Dual registration: an account at one of the person's current schools causes no churn.
        keep = account is not None and account.school in preferred
    school = account.school if keep and account is not None and account.school else preferred[0]
    return _Desired(school, leaving, why)


def _all_schools(person: FeedPerson) -> set[str]:
    return set(person.schools) | {enrolment.school for enrolment in person.enrolments}


# --- Matching feed people to accounts ------------------------------------------------------


def _key(role: Role, mis_id: str) -> tuple[Role, str]:
    return role, mis_id.strip().upper()


@dataclass
class _Index:
    by_key: dict[tuple[Role, str], list[Account]]
    problems: list[PlanProblem]


def _index(accounts: Iterable[Account]) -> tuple[list[Account], _Index, set[str]]:
    mis_accounts: list[Account] = []
    by_key: dict[tuple[Role, str], list[Account]] = {}
    problems: list[PlanProblem] = []
    taken_uids: set[str] = set()
    for account in accounts:
        taken_uids.add(account.uid.lower())
        if account.category is not Category.MIS:
            continue
        mis_accounts.append(account)
        if account.role is None or not account.mis_id:
            problems.append(PlanProblem(
                "MIS account without a role or MIS identifier: never matched, never made a leaver (C-7)",
                account.mis_id, account.dn,
            ))
            continue
        by_key.setdefault(_key(account.role, account.mis_id), []).append(account)
    for (role, mis_id), same in by_key.items():
        if len(same) > 1:
            problems.append(PlanProblem(
                f"{len(same)} {role.value} accounts carry the MIS identifier {mis_id}:"
                f" {', '.join(account.dn for account in same)}; none is changed (C-7)",
                mis_id,
            ))
    return mis_accounts, _Index(by_key, problems), taken_uids


def _single(index: _Index, role: Role, mis_id: str) -> Account | None:
    found = index.by_key.get(_key(role, mis_id), [])
    return found[0] if len(found) == 1 else None


def _ambiguous(index: _Index, role: Role, mis_id: str) -> bool:
    return len(index.by_key.get(_key(role, mis_id), [])) > 1


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
    mis_accounts, index, used_uids = _index(accounts)
    uids = UidAllocator(used_uids | {uid.lower() for uid in taken_uids}, settings.uid)
    problems = list(index.problems)
    actions: list[ProvisioningAction] = []
    matched: set[str] = set()  # DNs of accounts a feed person speaks for

    exact = {
        person.source_id: _single(index, person.role, person.mis_id) for person in feed.persons
    }
    claimed = {account.dn for account in exact.values() if account is not None}
    for person in feed.persons:
        if _ambiguous(index, person.role, person.mis_id):
            matched.update(account.dn for account in index.by_key[_key(person.role, person.mis_id)])
            continue
        account = exact[person.source_id]
        if account is None:
            account, conflict = _former_account(person, index, claimed, problems)
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
        desired = _desired(person, feed, today, account)
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

    trips = _guard(actions, mis_accounts, today, settings)
    held: list[ProvisioningAction] = []
    if trips and not confirm:
        whole_feed = any(trip.school is None for trip in trips)
        held_schools = {trip.school for trip in trips}
        is_held = [whole_feed or bool(held_schools.intersection(a.schools)) for a in actions]
        held = [a for a, stopped in zip(actions, is_held, strict=True) if stopped]
        actions = [a for a, stopped in zip(actions, is_held, strict=True) if not stopped]
    return ProvisioningPlan(
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


def _former_account(
    person: FeedPerson, index: _Index, claimed: set[str], problems: list[PlanProblem]
) -> tuple[Account | None, bool]:
    """A learner's account under an earlier (temporary) UPN, unless another person holds it.

    Returns (account or None, conflict): on a conflict the person is neither matched nor
    created, since a new account could be a second one for the same learner.
    """
    for former in person.former_mis_ids:
        account = _single(index, person.role, former)
        if account is None:
            continue
        if account.dn in claimed:
            problems.append(PlanProblem(
                f"former UPN {former} is the current UPN of another person in the feed;"
                " not matched, not created",
                person.mis_id, account.dn, person.source.file, person.source.row,
            ))
            return None, True
        claimed.add(account.dn)
        return account, False
    return None, False


def _create(
    person: FeedPerson,
    desired: _Desired,
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


def _update(person: FeedPerson, desired: _Desired, account: Account) -> ProvisioningAction | None:
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
            continue  # reported by _index
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


# --- Guard (C-8) ----------------------------------------------------------------------------


def _is_counted(account: Account, today: date) -> bool:
    return account.leaving_date is None or account.leaving_date > today


def _guard(
    actions: list[ProvisioningAction], mis_accounts: list[Account], today: date, settings: MisSettings
) -> list[GuardTrip]:
    guard = settings.guard
    population: Counter[tuple[str, Role]] = Counter(
        (account.school, account.role)
        for account in mis_accounts
        if account.school and account.role is not None and _is_counted(account, today)
    )
    losses: Counter[tuple[str, Role]] = Counter()
    for action in actions:
        if action.kind is ActionKind.LEAVER:
            before = action.change("leaving_date")
            was_current = before is None or before.before is None or (
                isinstance(before.before, date) and before.before > today
            )
            if was_current and action.schools:
                losses[(action.schools[0], action.role)] += 1
        elif action.kind is ActionKind.MOVE:
            moved = action.change("school")
            if moved is not None and isinstance(moved.before, str):
                losses[(moved.before, action.role)] += 1

    trips: list[GuardTrip] = []
    for (school, role), lost in sorted(losses.items()):
        out_of = population[(school, role)]
        limit = out_of * guard.max_loss_percent / 100
        if lost > guard.loss_floor and lost > limit:
            share = 100 * lost / out_of if out_of else 100.0
            trips.append(GuardTrip(
                school, role, lost, limit, out_of,
                f"school {school} would lose {lost} of its {out_of} current {role.value} accounts"
                f" ({share:.0f}%) in one import; the limit is {guard.max_loss_percent:g}%"
                f" (C-8): a truncated feed? Nothing for school {school} is applied until an"
                " operator confirms the import",
            ))
    creates = sum(1 for action in actions if action.kind is ActionKind.CREATE)
    leavers = sum(1 for action in actions if action.kind is ActionKind.LEAVER)
    if creates > guard.max_creates:
        trips.append(GuardTrip(None, None, creates, guard.max_creates, None,
                               f"the feed would create {creates} accounts; the limit is"
                               f" {guard.max_creates} (C-8): nothing is applied until confirmed"))
    if leavers > guard.max_leavers:
        trips.append(GuardTrip(None, None, leavers, guard.max_leavers, None,
                               f"the feed would set {leavers} leaving dates; the limit is"
                               f" {guard.max_leavers} (C-8): nothing is applied until confirmed"))
    return trips


__all__ = [
    "ActionKind",
    "FieldChange",
    "GuardTrip",
    "PlanProblem",
    "ProvisioningAction",
    "ProvisioningPlan",
    "plan_provisioning",
]
