"""Listings: the accounts of the authority (Active = Y/N, C-1), one account with the decision
behind its state, the accounts due to expire (NM-8) and the annual review per sponsor (NM-9)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from agent.actions.lookup import find_account, identity_of
from agent.core import criteria as c
from agent.core.dates import EARLIEST_USABLE, LATEST_USABLE
from agent.core.model import Account, Category
from agent.core.operations import (
    expiring_window,
    is_expiring,
    review_year_end,
)
from agent.core.policy import Context, Decision, decide
from agent.directory.gateway import Directory
from agent.settings.config import Config


def _non_mis(sponsor: str | None, *extra: c.Criterion) -> c.Criterion:
    parts: list[c.Criterion] = [c.Equals("category", Category.NON_MIS.value), *extra]
    if sponsor:
        parts.append(c.Equals("sponsor", sponsor))
    return c.all_of(*parts)


def expiring_accounts(directory: Directory, config: Config, now: datetime, *, weeks: int | None = None,
                      sponsor: str | None = None) -> tuple[date, date, list[Account]]:
    """NM-8: enabled non-MIS accounts expiring from today to today + `weeks` weeks, soonest first.

    C-7: accounts whose lifecycle data cannot be used come last, with their `problems`: those the
    window's search returns, and those whose expiry date the policy cannot use (year 0001, 9999:
    a server stores them, and they would otherwise vanish from the listing unseen).
    """
    first, last = expiring_window(now, config.policy, weeks)
    window = c.all_of(c.AtMost("expiry_date", last),
                      c.Not(c.AtMost("expiry_date", date.fromordinal(first.toordinal() - 1))))
    unusable = c.any_of(c.Not(c.AtMost("expiry_date", LATEST_USABLE)),
                        c.AtMost("expiry_date", date.fromordinal(EARLIEST_USABLE.toordinal() - 1)))
    criterion = _non_mis(sponsor, c.IsEnabled(True), c.any_of(window, unusable))
    # Check again in Python: the mock drops bit-flag filters (AD) and the server's date bound is wide.
    found = [account for account in directory.accounts(criterion)
             if (is_expiring(account, first, last)
                 or (account.problems and account.category is Category.NON_MIS and account.enabled))
             and (not sponsor or (account.sponsor or "").lower() == sponsor.lower())]
    found.sort(key=lambda account: (bool(account.problems), account.expiry_date or date.max,
                                    account.uid.lower()))
    return first, last, found


def review_accounts(directory: Directory, config: Config, now: datetime, *, sponsor: str | None = None
                    ) -> tuple[date, list[Account]]:
    """NM-9: every non-MIS account (of `sponsor`), by sponsor then expiry date."""
    year_end = review_year_end(now, config.policy)
    found = [account for account in directory.accounts(_non_mis(sponsor))
             if account.category is Category.NON_MIS
             and (not sponsor or (account.sponsor or "").lower() == sponsor.lower())]
    found.sort(key=lambda account: ((account.sponsor or "").lower(), account.expiry_date or date.max,
                                    account.uid.lower()))
    return year_end, found


def list_accounts(directory: Directory, *, category: str | None = None, active: bool | None = None,
                  sponsor: str | None = None) -> Iterator[Account]:
    """The authority's accounts, filtered on the server by category, state and sponsor.

    Streamed (memory stays flat). The state is checked again here: the embedded mock cannot filter
    Active Directory's bit flags, and then returns both states.
    """
    parts: list[c.Criterion] = []
    if category:
        parts.append(c.Equals("category", category))
    if active is not None:
        parts.append(c.IsEnabled(active))
    if sponsor:
        parts.append(c.Equals("sponsor", sponsor))
    criterion = c.all_of(*parts) if parts else None
    return (account for account in directory.accounts(criterion)
            if active is None or account.enabled is active)


@dataclass(frozen=True)
class AccountView:
    """One account, and what the policy says of it at `now`: the rule and date behind its state and
    its next scheduled transition (the same decision a sweep would make)."""

    account: Account
    decision: Decision
    today: date


def view_account(directory: Directory, config: Config, now: datetime, uid: str) -> AccountView:
    account = find_account(directory, uid)
    # NM-2 for this one account: a search for a learner with its mail or MIS id (the policy reads the
    # context only for enabled non-MIS accounts, for which this equals the sweep's learner_identities;
    # a few entries read instead of every enabled non-MIS account: the console's View Details, `show`).
    decision = decide(account, now, config.policy, Context(identity_of(directory, account) is not None))
    return AccountView(account, decision, config.policy.today(now))
