"""The administrator operations as pure rules: a snapshot, a time and a request in, a verdict out.

Each function answers "may this operation be done, and what does it write?"
with an `Approved` (the new state as data, the rule id it is recorded under,
and words for the operator) or a `Refused` (the rule id and a message that
says what to do instead). Nothing here reads a clock or touches the network;
`agent.actions.admin` gathers the inputs, applies approved changes and audits both.

Rules: NM-1 (creation), NM-2 (no learners), NM-5 (reactivation), NM-6
(extension, never shortening silently), MIS-3 / MIS-4 (who reactivates MIS
accounts), C-1 (activation requests follow the same rules), C-2 (protected),
C-7 (unreadable data is never acted on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from agent.core.dates import academic_year_end, expiry_for
from agent.core.model import Account, Category, Duration, NonMisType, Role
from agent.core.policy import PolicySettings


@dataclass(frozen=True)
class Approved:
    """An operation the policy allows.

    `enable`: the account becomes enabled (a reactivation, which also restarts
    the NM-4 inactivity clock). `expiry_date` / `duration`: the new expiry and
    the duration chosen (None: unchanged). Nothing to enable and no new expiry
    means there is nothing to change (`changes` is False).
    """

    rule: str
    detail: str
    enable: bool = False
    expiry_date: date | None = None
    duration: Duration | None = None

    @property
    def changes(self) -> bool:
        return self.enable or self.expiry_date is not None


@dataclass(frozen=True)
class Refused:
    """An operation the policy forbids: the rule that forbids it and what to do instead."""

    rule: str
    message: str


Verdict = Approved | Refused


# --- shared checks ---------------------------------------------------------------------------


def _untouchable(account: Account, settings: PolicySettings) -> Refused | None:
    """C-2 and C-7: protected accounts and accounts with unreadable data are never changed."""
    if settings.is_protected(account):
        return Refused("C-2", f"{account.uid} is a protected account (policy.protected):"
                              " the agent never changes it")
    if account.problems:
        faults = "; ".join(f"{p.attribute}={p.value!r}: {p.detail}" for p in account.problems)
        return Refused("C-7", f"the lifecycle data of {account.uid} cannot be read ({faults}):"
                              " fix the entry first; nothing was changed")
    return None


def _learner(account: Account, learner_identity: str | None) -> Refused | None:
    """NM-2: a non-MIS account of a learner is never extended or reactivated."""
    if account.role is Role.LEARNER:
        why = "its role is learner"
    elif learner_identity:
        why = learner_identity
    else:
        return None
    return Refused("NM-2", f"learners must not have a non-MIS account and {account.uid} is a"
                           f" learner's ({why}): it is not extended or reactivated")


def _mis_refusal(account: Account, operation: str) -> Refused:
    state = "enabled" if account.enabled else "disabled"
    if account.role is Role.LEARNER:
        return Refused("MIS-3", f"{account.uid} is an MIS learner account ({state}): learners are"
                                " reactivated by the MIS, not by hand. When the MIS record is current"
                                " again (enrolment at another maintained school in Wales, or the leaving"
                                f" date withdrawn) the next sweep enables it (MIS-3); nothing to {operation}")
    return Refused("MIS-4", f"{account.uid} is an MIS staff account ({state}): only the service desk"
                            " reactivates it, with a ticket: hwb-agent service-desk-reactivate"
                            f" {account.uid} --by ID --ticket REF")


def new_expiry(duration: Duration, now: datetime, settings: PolicySettings) -> date:
    """NM-1, NM-6: today plus the duration (or the next academic year end)."""
    return expiry_for(duration, settings.today(now), settings.academic_year_end)


def _shortening(account: Account, expiry: date, duration: Duration) -> str | None:
    current = account.expiry_date
    if current is not None and expiry < current:
        return (f"a {duration.value} extension from today ends on {expiry.isoformat()}, before the"
                f" current expiry date {current.isoformat()}")
    return None


# --- NM-1, NM-2: creation ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """What an administrator asks for when creating a non-MIS account (NM-1)."""

    non_mis_type: NonMisType
    given_name: str
    surname: str
    mail: str
    sponsor: str
    duration: Duration
    role: Role | None = None
    mis_id: str | None = None


def decide_creation(request: NewAccount, now: datetime, settings: PolicySettings,
                    learner_identity: str | None = None) -> Verdict:
    """NM-1 with NM-2: the expiry date of the new account, or why it may not exist.

    `learner_identity` describes the learner's MIS account that already carries
    the requested mail or identifier (found by the caller), None when there is none.
    """
    if request.role is Role.LEARNER:
        return Refused("NM-2", "learners must not have a non-MIS account: role learner refused;"
                               " a learner's account comes from the MIS")
    if learner_identity:
        return Refused("NM-2", f"learners must not have a non-MIS account: {learner_identity};"
                               " a learner's account comes from the MIS")
    expiry = new_expiry(request.duration, now, settings)
    return Approved("NM-1", f"new {request.non_mis_type.value} account sponsored by {request.sponsor},"
                            f" duration {request.duration.value}: expires on {expiry.isoformat()}",
                    enable=True, expiry_date=expiry, duration=request.duration)


# --- NM-6: extension ---------------------------------------------------------------------------


def decide_extension(account: Account, duration: Duration, now: datetime, settings: PolicySettings,
                     *, allow_shorten: bool = False, learner_identity: str | None = None) -> Verdict:
    """NM-6: the new expiry counted from today; never shorter than the current one unless allowed."""
    refusal = _untouchable(account, settings)
    if refusal:
        return refusal
    if account.category is not Category.NON_MIS:
        return Refused("NM-6", f"{account.uid} is not a non-MIS account: only non-MIS accounts have an"
                               " expiry date to extend (MIS accounts follow the MIS record, MIS-1)")
    refusal = _learner(account, learner_identity)
    if refusal:
        return refusal
    expiry = new_expiry(duration, now, settings)
    shorter = _shortening(account, expiry, duration)
    if shorter and not allow_shorten:
        return Refused("NM-6", f"{shorter}: an extension never shortens an expiry date silently;"
                               " pass --allow-shorten to shorten it on purpose")
    if expiry == account.expiry_date:
        return Approved("NM-6", f"already expires on {expiry.isoformat()}: nothing to change")
    current = account.expiry_date.isoformat() if account.expiry_date else "none"
    verb = "shortened" if shorter else "extended"
    detail = f"expiry {verb} by {duration.value} from today: {current} -> {expiry.isoformat()}"
    if not account.enabled:
        detail += (f"; the account stays disabled ({_reason(account)}):"
                   f" hwb-agent activate {account.uid} --by ID enables it")
    return Approved("NM-6", detail, expiry_date=expiry, duration=duration)


def _reason(account: Account) -> str:
    if account.disabled_reason is None:
        return "disabled outside the agent"
    return f"reason {account.disabled_reason.value}"


# --- NM-5 (and C-1): reactivation --------------------------------------------------------------


def decide_activation(account: Account, now: datetime, settings: PolicySettings,
                      duration: Duration | None = None, *,
                      learner_identity: str | None = None) -> Verdict:
    """NM-5: enable a disabled non-MIS account at once, keeping its expiry date.

    With `duration` the account is also extended (NM-6) in the same change. An
    account whose expiry date has passed is reactivated only with an extension,
    otherwise NM-3 would disable it again at once. A portal's activation request
    (C-1) is judged by this same function.
    """
    refusal = _untouchable(account, settings)
    if refusal:
        return refusal
    if account.category is Category.MIS:
        return _mis_refusal(account, "activate")
    if account.category is not Category.NON_MIS:
        return Refused("C-7", f"{account.uid} has no lifecycle category: not an account the agent manages")
    refusal = _learner(account, learner_identity)
    if refusal:
        return refusal
    today = settings.today(now)
    expiry = new_expiry(duration, now, settings) if duration else None
    if duration is not None and expiry is not None:
        shorter = _shortening(account, expiry, duration)
        if shorter:
            return Refused("NM-6", f"{shorter}: an extension never shortens an expiry date silently;"
                                   " activate without --duration to keep the current expiry date")
        if expiry == account.expiry_date:
            expiry = None  # the same date: nothing to extend
    extension = (f"; extended by {duration.value} to {expiry.isoformat()} (NM-6)"
                 if duration is not None and expiry is not None else "")
    if account.enabled:
        if expiry is None:
            return Approved("NM-5", f"{account.uid} is already enabled: nothing to activate")
        return Approved("NM-6", f"{account.uid} is already enabled{extension}",
                        expiry_date=expiry, duration=duration)
    kept = expiry or account.expiry_date
    if kept is not None and kept < today:
        return Refused("NM-5", f"the expiry date {kept.isoformat()} of {account.uid} has passed: an"
                               " expired account can only be reactivated together with an extension"
                               " (otherwise NM-3 would disable it again at once); add --duration"
                               " 1m|3m|6m|eoy")
    until = f"; expires on {kept.isoformat()}" if kept and not extension else ""
    return Approved("NM-5", f"reactivated (was disabled, {_reason(account)}){until}{extension};"
                            " the 90-day inactivity clock restarts today (NM-4)",
                    enable=True, expiry_date=expiry, duration=duration if expiry else None)


# --- MIS-4: service desk reactivation ------------------------------------------------------------


def decide_service_desk(account: Account, now: datetime, settings: PolicySettings) -> Verdict:
    """MIS-4: only the service desk enables a staff leaver's account, recorded with its ticket.

    Recording the reactivation time also stops MIS-2 from disabling the account
    again for the same leaving date (a later leaving date disables it again).
    """
    refusal = _untouchable(account, settings)
    if refusal:
        return refusal
    if account.category is Category.NON_MIS:
        return Refused("MIS-4", f"{account.uid} is a non-MIS account: an administrator reactivates it"
                                f" with hwb-agent activate {account.uid} --by ID (NM-5)")
    if account.category is not Category.MIS:
        return Refused("C-7", f"{account.uid} has no lifecycle category: not an account the agent manages")
    if account.role is not Role.STAFF:
        return _mis_refusal(account, "reactivate")
    if account.enabled:
        return Approved("MIS-4", f"{account.uid} is already enabled: nothing to reactivate")
    leaving = account.leaving_date
    today = settings.today(now)
    if leaving is not None and leaving <= today:
        after = (f"; not disabled again for the leaving date {leaving.isoformat()} (MIS-2),"
                 " a later leaving date disables it again")
    else:
        after = ""
    return Approved("MIS-4", f"staff account reactivated by the service desk (was disabled,"
                             f" {_reason(account)}){after}", enable=True)


# --- NM-8, NM-9: expiring and review ---------------------------------------------------------------


def expiring_window(now: datetime, settings: PolicySettings, weeks: int | None = None) -> tuple[date, date]:
    """NM-8: the first and last expiry dates of the window, today to today + `weeks` weeks."""
    today = settings.today(now)
    span = settings.expiring_weeks if weeks is None else weeks
    return today, date.fromordinal(today.toordinal() + 7 * span)


def is_expiring(account: Account, first: date, last: date) -> bool:
    """An enabled non-MIS account whose expiry date falls in [first, last]."""
    return (account.category is Category.NON_MIS and account.enabled
            and account.expiry_date is not None and first <= account.expiry_date <= last)


def days_left(account: Account, today: date) -> int | None:
    """Days from today to the expiry date (0: today is the last day it can be used, NM-3)."""
    return None if account.expiry_date is None else (account.expiry_date - today).days


def review_year_end(now: datetime, settings: PolicySettings) -> date:
    """NM-9: the academic year end the annual review looks at."""
    return academic_year_end(settings.today(now), settings.academic_year_end)
