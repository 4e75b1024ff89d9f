"""The lifecycle policy as pure functions: a snapshot and a time in, a decision out.

Every branch cites the POLICY.md rule it enforces. Nothing here reads a clock
or touches the network: `now` is an argument, and the directory is seen only
through `Account` snapshots.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.core import criteria as c
from agent.core.dates import LATEST_USABLE, add_months, days, local_date, start_of_day
from agent.core.dn import DnError, dn_key
from agent.core.model import Account, Action, Category, Reason, Role


@dataclass(frozen=True)
class PolicySettings:
    """The knobs of POLICY.md that a local authority may set (config `policy:`)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    inactivity_days: int = 90
    retention_months: int = 12
    academic_year_end: tuple[int, int] = (8, 31)
    expiring_weeks: int = 8
    protected: frozenset[str] = frozenset()
    # MIS-5: an account the agent disables only now (a leaving date entered long after the fact,
    # or a first run) stays disabled at least this long before its purge, so nobody is deleted
    # minutes after losing access. The source text is silent on this case (README, "Choices").
    purge_grace_days: int = 30

    def today(self, now: datetime) -> date:
        return local_date(now, self.timezone)

    def is_protected(self, account: Account) -> bool:
        """C-2: protected entries are named by DN (compared parsed: the server's escaping and case
        may differ from the configuration's) or uid (case-insensitive)."""
        if account.dn.lower() in self.protected or account.uid.lower() in self.protected:
            return True
        keys = _protected_dn_keys(self.protected)
        if not keys:
            return False
        try:
            return dn_key(account.dn) in keys
        except DnError:
            return False


@functools.lru_cache(maxsize=8)
def _protected_dn_keys(protected: frozenset[str]) -> frozenset[Any]:
    keys = set()
    for entry in protected:
        if "=" in entry:
            with contextlib.suppress(DnError):
                keys.add(dn_key(entry))
    return frozenset(keys)


@dataclass(frozen=True)
class Transition:
    """The next change the policy has scheduled for an account, if nothing else changes."""

    date: date
    action: Action
    rule: str


@dataclass(frozen=True)
class Decision:
    action: Action
    rule: str | None
    detail: str
    reason: Reason | None = None
    next: Transition | None = None

    @property
    def changes(self) -> bool:
        return self.action in (Action.DISABLE, Action.ENABLE, Action.PURGE)


@dataclass(frozen=True)
class Context:
    """Facts about an account that come from other entries.

    `learner_identity`: its mail or MIS identifier belongs to a learner's MIS
    account (NM-2).
    """

    learner_identity: bool = False


NO_CONTEXT = Context()


def decide(
    account: Account, now: datetime, settings: PolicySettings, context: Context = NO_CONTEXT
) -> Decision:
    """What a sweep at `now` does to `account`, and the next scheduled transition.

    Never raises on the account's values: the mapping layer reports dates the policy cannot use
    (C-7), and should arithmetic still leave the calendar (a `now` at its edge), the account is
    left unchanged under C-7 as well.
    """
    try:
        return _decide(account, now, settings, context)
    except (OverflowError, ValueError) as error:
        return Decision(Action.NONE, "C-7",
                        f"lifecycle dates out of range at {now.isoformat()}, left unchanged ({error})")


def _decide(account: Account, now: datetime, settings: PolicySettings, context: Context) -> Decision:
    if settings.is_protected(account):
        return Decision(Action.NONE, "C-2", "protected account: never changed by the agent")
    if account.problems:
        faults = "; ".join(f"{p.attribute}={p.value!r}: {p.detail}" for p in account.problems)
        return Decision(Action.NONE, "C-7", f"lifecycle data unreadable, left unchanged ({faults})")
    today = settings.today(now)
    if account.category is Category.MIS:
        return _decide_mis(account, today, settings)
    if account.category is Category.NON_MIS:
        return _decide_non_mis(account, today, settings, context)
    return Decision(Action.NONE, "C-7", "no lifecycle category: not an account the agent manages")


# --- MIS accounts -------------------------------------------------------------------------


def _is_current(account: Account, today: date) -> bool:
    """MIS-1: current while there is no leaving date, or it is after today."""
    return account.leaving_date is None or account.leaving_date > today


def _reactivated_since(account: Account, day: date, settings: PolicySettings) -> bool:
    reactivated = account.reactivated_at
    return reactivated is not None and local_date(reactivated, settings.timezone) >= day


def _decide_mis(account: Account, today: date, settings: PolicySettings) -> Decision:
    leaving = account.leaving_date
    current = _is_current(account, today)
    if account.enabled:
        if current:
            if leaving is None:
                return Decision(Action.NONE, "MIS-1", "MIS record current: stays enabled")
            return Decision(
                Action.NONE,
                "MIS-1",
                f"MIS record current until its leaving date {leaving.isoformat()}",
                next=Transition(leaving, Action.DISABLE, "MIS-2"),
            )
        assert leaving is not None
        if _reactivated_since(account, leaving, settings):
            return Decision(
                Action.NONE,
                "MIS-2",
                f"reactivated by the service desk after the leaving date {leaving.isoformat()}:"
                " not disabled again for that date",
            )
        return Decision(
            Action.DISABLE,
            "MIS-2",
            f"leaving date {leaving.isoformat()} reached",
            reason=Reason.LEFT,
            next=_mis_purge(account, settings, disabled_on=today),
        )

    # Disabled.
    if account.disabled_reason is Reason.LEFT and current:
        if account.role is Role.LEARNER:
            return Decision(
                Action.ENABLE,
                "MIS-3",
                "learner's MIS record is current again (moved school or leaving date withdrawn)",
                next=Transition(leaving, Action.DISABLE, "MIS-2") if leaving else None,
            )
        return Decision(
            Action.FLAG,
            "MIS-4",
            "staff MIS record is current again: waiting for a service desk reactivation",
        )
    disabled_on = local_date(account.disabled_at, settings.timezone) if account.disabled_at else None
    purge = _mis_purge(account, settings, disabled_on)
    if purge is None:
        owner = _disabled_by(account)
        return Decision(Action.NONE, "C-9", f"disabled ({owner}); no leaving date to purge from")
    if purge.date <= today:
        assert leaving is not None
        return Decision(
            Action.PURGE,
            "MIS-5",
            f"disabled and not reactivated {settings.retention_months} months after the"
            f" leaving date {leaving.isoformat()}",
        )
    return Decision(
        Action.NONE, "MIS-2", f"disabled as a leaver ({_disabled_by(account)})", next=purge
    )


def _mis_purge(account: Account, settings: PolicySettings, disabled_on: date | None) -> Transition | None:
    """MIS-5: purge 12 months after the leaving date unless reactivated since then.

    The source text ("unless ... reactivated within 12 months of the leaving
    date") covers every leaver's account, whoever disabled it. `disabled_on`
    is the day the agent disabled it (today, when it is being disabled now).
    """
    leaving = account.leaving_date
    if leaving is None or _reactivated_since(account, leaving, settings):
        return None
    purge_on = add_months(leaving, settings.retention_months)
    if disabled_on is not None:
        purge_on = max(purge_on, disabled_on + days(settings.purge_grace_days))
    return Transition(purge_on, Action.PURGE, "MIS-5")


def _disabled_by(account: Account) -> str:
    if account.disabled_reason is None:
        return "disabled outside the agent"
    return f"reason {account.disabled_reason.value}"


# --- Non-MIS accounts ---------------------------------------------------------------------


def inactivity_baseline(account: Account) -> datetime | None:
    """NM-4: the latest of last sign-in, last reactivation and creation."""
    instants = [
        instant
        for instant in (account.last_sign_in, account.reactivated_at, account.created_at)
        if instant is not None
    ]
    return max(instants) if instants else None


def _decide_non_mis(
    account: Account, today: date, settings: PolicySettings, context: Context
) -> Decision:
    if not account.enabled:
        return _decide_disabled_non_mis(account, today, settings)

    if account.role is Role.LEARNER or context.learner_identity:
        why = "role learner" if account.role is Role.LEARNER else "identity of a learner's MIS account"
        return Decision(
            Action.DISABLE,
            "NM-2",
            f"learners must not have a non-MIS account ({why})",
            reason=Reason.POLICY,
        )

    expiry = account.expiry_date
    if expiry is not None and expiry < today:
        return Decision(
            Action.DISABLE,
            "NM-3",
            f"expiry date {expiry.isoformat()} has passed without an extension",
            reason=Reason.EXPIRED,
        )

    baseline = inactivity_baseline(account)
    if baseline is None:
        return Decision(
            Action.NONE,
            "C-7",
            "no sign-in, reactivation or creation time: inactivity cannot be judged",
        )
    inactive_from = local_date(baseline, settings.timezone) + days(settings.inactivity_days)
    if inactive_from <= today:
        return Decision(
            Action.DISABLE,
            "NM-4",
            f"no sign-in for {settings.inactivity_days} days"
            f" (last activity {local_date(baseline, settings.timezone).isoformat()})",
            reason=Reason.INACTIVE,
        )

    upcoming = [Transition(inactive_from, Action.DISABLE, "NM-4")]
    if expiry is not None:
        upcoming.append(Transition(expiry + days(1), Action.DISABLE, "NM-3"))
    following = min(upcoming, key=lambda transition: transition.date)
    until = f" until {expiry.isoformat()}" if expiry else ""
    return Decision(Action.NONE, "NM-1", f"active non-MIS account{until}", next=following)


def _decide_disabled_non_mis(account: Account, today: date, settings: PolicySettings) -> Decision:
    disabled_at = account.disabled_at
    if disabled_at is None:
        return Decision(
            Action.NONE,
            "C-9",
            f"disabled ({_disabled_by(account)}) with no disable time: no purge date",
        )
    disabled_on = local_date(disabled_at, settings.timezone)
    if account.reactivated_at is not None and account.reactivated_at > disabled_at:
        # Disabled again by someone else after a reactivation: no agent-owned disable to age.
        return Decision(Action.NONE, "C-9", "disabled outside the agent since its reactivation")
    purge_on = add_months(disabled_on, settings.retention_months)
    if purge_on <= today:
        return Decision(
            Action.PURGE,
            "NM-7",
            f"disabled since {disabled_on.isoformat()} and not reactivated for"
            f" {settings.retention_months} months",
        )
    return Decision(
        Action.NONE,
        "NM-5",
        f"disabled ({_disabled_by(account)}) since {disabled_on.isoformat()};"
        " an administrator can reactivate it",
        next=Transition(purge_on, Action.PURGE, "NM-7"),
    )


# --- Which accounts may be due ------------------------------------------------------------


def latest_start(today: date, months: int) -> date:
    """The latest day D with add_months(D, months) <= today (clamping makes it non-trivial)."""
    candidate = min(add_months(today, -months) + days(3), LATEST_USABLE)
    while add_months(candidate, months) > today:
        candidate -= days(1)
    return candidate


@dataclass(frozen=True)
class LearnerIdentities:
    """Mails (lower case) and MIS identifiers of learners that non-MIS accounts also carry."""

    mails: frozenset[str] = frozenset()
    mis_ids: frozenset[str] = frozenset()

    def covers(self, account: Account) -> bool:
        mail = (account.mail or "").lower()
        return bool(mail and mail in self.mails) or (
            account.mis_id is not None and account.mis_id in self.mis_ids
        )


def candidate_criteria(
    now: datetime,
    settings: PolicySettings,
    learner_identities: LearnerIdentities = LearnerIdentities(),
) -> c.Criterion:
    """Accounts that may be due at `now`: a superset of those `decide` acts on or flags.

    A routine sweep reads only these (DESIGN.md, "Performance shape").
    """
    today = settings.today(now)
    zone = settings.timezone
    mis = c.Equals("category", Category.MIS.value)
    non_mis = c.Equals("category", Category.NON_MIS.value)
    enabled, disabled = c.IsEnabled(True), c.IsEnabled(False)
    retention_start = latest_start(today, settings.retention_months)
    # NM-4 is due when every baseline falls before the start of this day (inclusive bound:
    # a superset, since a value exactly at midnight is not yet due).
    inactivity_cut = start_of_day(today - days(settings.inactivity_days - 1), zone)

    branches: list[c.Criterion] = [
        c.all_of(mis, enabled, c.AtMost("leaving_date", today)),  # MIS-2
        c.all_of(  # MIS-3, MIS-4
            mis,
            disabled,
            c.Equals("disabled_reason", Reason.LEFT.value),
            c.any_of(c.Not(c.Present("leaving_date")), c.Not(c.AtMost("leaving_date", today))),
        ),
        c.all_of(mis, disabled, c.AtMost("leaving_date", retention_start)),  # MIS-5
        c.all_of(non_mis, enabled, c.Equals("role", Role.LEARNER.value)),  # NM-2
        c.all_of(non_mis, enabled, c.AtMost("expiry_date", today - days(1))),  # NM-3
        c.all_of(  # NM-4
            non_mis,
            enabled,
            c.absent_or_at_most("last_sign_in", inactivity_cut),
            c.absent_or_at_most("reactivated_at", inactivity_cut),
            c.absent_or_at_most("created_at", inactivity_cut),
        ),
        c.all_of(  # NM-7
            non_mis,
            disabled,
            c.AtMost("disabled_at", start_of_day(retention_start + days(1), zone)),
        ),
        c.Present("activation_requested_at"),  # C-1
    ]
    identity_matches = [c.Equals("mail", mail) for mail in sorted(learner_identities.mails)]
    identity_matches += [c.Equals("mis_id", mis_id) for mis_id in sorted(learner_identities.mis_ids)]
    if identity_matches:
        branches.append(c.all_of(non_mis, enabled, c.any_of(*identity_matches)))  # NM-2
    return c.Or(tuple(branches))


def flagged_or_acted(decision: Decision) -> bool:
    """Decisions a routine sweep must see: changes and flags."""
    return decision.changes or decision.action is Action.FLAG


__all__ = [
    "Context",
    "Decision",
    "LearnerIdentities",
    "PolicySettings",
    "Transition",
    "candidate_criteria",
    "decide",
    "inactivity_baseline",
]
