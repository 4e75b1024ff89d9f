"""Calendar arithmetic of the policy: local dates, calendar months, academic years.

POLICY.md, "Words": dates are calendar dates in the policy time zone; month
arithmetic is in calendar months clamped to the month's last day; the academic
year ends on a configurable day (31 August by default).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from agent.core.model import Duration


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of an aware instant in the policy time zone."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: instants must carry a time zone")
    return instant.astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in the policy time zone."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    return day + relativedelta(months=months)


def academic_year_end(today: date, month_day: tuple[int, int]) -> date:
    """The next academic year end on or after `today` (POLICY.md, "Academic year end")."""
    month, day = month_day
    this_year = _clamped(today.year, month, day)
    return this_year if this_year >= today else _clamped(today.year + 1, month, day)


def _clamped(year: int, month: int, day: int) -> date:
    # A configured 29 February falls back to the 28th in common years.
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


DURATION_MONTHS = {Duration.ONE_MONTH: 1, Duration.THREE_MONTHS: 3, Duration.SIX_MONTHS: 6}


def expiry_for(duration: Duration, today: date, year_end: tuple[int, int]) -> date:
    """The expiry date of a non-MIS account created or extended today (NM-1, NM-6)."""
    if duration is Duration.END_OF_ACADEMIC_YEAR:
        return academic_year_end(today, year_end)
    return add_months(today, DURATION_MONTHS[duration])


def days(count: int) -> timedelta:
    return timedelta(days=count)


# C-7: the dates and instants the policy can use. A directory accepts any GeneralizedTime from
# year 0000 to 9999, but the policy adds months of retention, days of inactivity and grace, and
# moves instants into the policy time zone: from the ends of that range the arithmetic leaves
# Python's calendar. Inside this window every computation of the policy (at most 120 months of
# retention, 3650 days of inactivity or grace; the settings bound them) stays in range.
EARLIEST_USABLE = date(1000, 1, 1)
LATEST_USABLE = date(8999, 12, 31)


def out_of_range(value: date | datetime) -> str | None:
    """Why a lifecycle date or instant cannot be used by the policy, or None when it can."""
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST_USABLE <= day <= LATEST_USABLE:
        return None
    return (f"out of the usable range ({EARLIEST_USABLE.isoformat()} to {LATEST_USABLE.isoformat()}):"
            " the policy's date arithmetic cannot use it")
