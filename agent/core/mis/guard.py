"""The mass-change guard of MIS provisioning (C-8): a truncated feed must not empty a school.

Per school and role, if the leavers and moves away would take more than
`max_loss_percent` of its current accounts (and more than `loss_floor`, so one
leaver of a tiny school is no alarm), every action that touches that school is
held. If the whole feed would create (or transfer in, issue 15) more than `max_creates` or set more than
`max_leavers` leaving dates, every action is held. `confirm=True` (the
operator's --confirm-mass-change) applies them all.

Pure: `today` is an argument; accounts are snapshots.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from agent.core.mis.provisioning import ActionKind, GuardTrip, ProvisioningAction
from agent.core.mis.settings import MisSettings
from agent.core.model import Account, Role


def _is_counted(account: Account, today: date) -> bool:
    return account.leaving_date is None or account.leaving_date > today


def guard_trips(
    actions: Sequence[ProvisioningAction], mis_accounts: Sequence[Account], today: date,
    settings: MisSettings, school_names: Mapping[str, str] | None = None,
) -> list[GuardTrip]:
    """The C-8 limits that `actions`, applied to `mis_accounts`, would exceed (none: safe).

    `school_names` (school number -> name, from orgs.csv) names each school beside its code in
    the messages: an operator recognises "Ysgol Y Ddraig" sooner than 6812001."""
    names = school_names or {}
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
                f"school {_named(school, names)} would lose {lost} of its {out_of} current"
                f" {role.value} accounts ({share:.0f}%) in one import; the limit is"
                f" {guard.max_loss_percent:g}% (C-8): a truncated feed? Nothing for school {school} is"
                " applied until an"
                " operator confirms the import",
            ))
    # A transfer in (issue 15) adds an account to a school as a create does: counted with them.
    creates = sum(1 for action in actions if action.kind in (ActionKind.CREATE, ActionKind.TRANSFER))
    leavers = sum(1 for action in actions if action.kind is ActionKind.LEAVER)
    if creates > guard.max_creates:
        trips.append(GuardTrip(None, None, creates, guard.max_creates, None,
                               f"the feed would create (or transfer in) {creates} accounts; the limit is"
                               f" {guard.max_creates} (C-8): nothing is applied until confirmed"))
    if leavers > guard.max_leavers:
        trips.append(GuardTrip(None, None, leavers, guard.max_leavers, None,
                               f"the feed would set {leavers} leaving dates; the limit is"
                               f" {guard.max_leavers} (C-8): nothing is applied until confirmed"))
    return trips


def _named(school: str, names: Mapping[str, str]) -> str:
    name = names.get(school, "").strip()
    return f"{school} ({name})" if name else school


def hold(
    actions: Sequence[ProvisioningAction], trips: Sequence[GuardTrip], *, confirm: bool
) -> tuple[list[ProvisioningAction], list[ProvisioningAction]]:
    """(applied, held), C-8: unless confirmed, a trip holds every action touching its school,
    and a trip on the whole feed holds every action."""
    if not trips or confirm:
        return list(actions), []
    whole_feed = any(trip.school is None for trip in trips)
    held_schools = {trip.school for trip in trips}
    is_held = [whole_feed or bool(held_schools.intersection(a.schools)) for a in actions]
    held = [a for a, stopped in zip(actions, is_held, strict=True) if stopped]
    applied = [a for a, stopped in zip(actions, is_held, strict=True) if not stopped]
    return applied, held


__all__ = ["guard_trips", "hold"]
