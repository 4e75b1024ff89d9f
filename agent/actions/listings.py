"""NM-8 and NM-9: the accounts due to expire, and the annual review per sponsor."""

from __future__ import annotations

from datetime import date, datetime

from agent.core import criteria as c
from agent.core.model import Account, Category
from agent.core.operations import (
    expiring_window,
    is_expiring,
    review_year_end,
)
from agent.directory.gateway import Directory
from agent.settings.config import Config


def _non_mis(sponsor: str | None, *extra: c.Criterion) -> c.Criterion:
    parts: list[c.Criterion] = [c.Equals("category", Category.NON_MIS.value), *extra]
    if sponsor:
        parts.append(c.Equals("sponsor", sponsor))
    return c.all_of(*parts)


def expiring_accounts(directory: Directory, config: Config, now: datetime, *, weeks: int | None = None,
                      sponsor: str | None = None) -> tuple[date, date, list[Account]]:
    """NM-8: enabled non-MIS accounts expiring from today to today + `weeks` weeks, soonest first."""
    first, last = expiring_window(now, config.policy, weeks)
    criterion = _non_mis(sponsor, c.IsEnabled(True), c.AtMost("expiry_date", last),
                         c.Not(c.AtMost("expiry_date", date.fromordinal(first.toordinal() - 1))))
    # Check again in Python: the mock drops bit-flag filters (AD) and the server's date bound is wide.
    found = [account for account in directory.accounts(criterion)
             if is_expiring(account, first, last)
             and (not sponsor or (account.sponsor or "").lower() == sponsor.lower())]
    found.sort(key=lambda account: (account.expiry_date, account.uid.lower()))
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
