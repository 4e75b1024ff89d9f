"""Month arithmetic, academic year ends and expiry dates (POLICY.md "Words", NM-1)."""

from datetime import UTC, date, datetime

import pytest

from agent.core.dates import academic_year_end, add_months, expiry_for, local_date
from agent.core.model import Duration
from tests.builders import LONDON


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 15), 3, date(2026, 8, 15)),
    ],
)
def test_month_arithmetic_clamps_to_the_last_day_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 8, 30), date(2026, 8, 31)),
        (date(2026, 8, 31), date(2026, 8, 31)),
        (date(2026, 9, 1), date(2027, 8, 31)),
        (date(2027, 1, 1), date(2027, 8, 31)),
    ],
)
def test_end_of_academic_year_is_the_next_31_august_on_or_after_today(today, expected):
    assert academic_year_end(today, (8, 31)) == expected


def test_a_29_february_year_end_falls_back_in_common_years():
    assert academic_year_end(date(2026, 1, 1), (2, 29)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (Duration.ONE_MONTH, date(2027, 2, 28)),
        (Duration.THREE_MONTHS, date(2027, 4, 30)),
        (Duration.SIX_MONTHS, date(2027, 7, 31)),
        (Duration.END_OF_ACADEMIC_YEAR, date(2027, 8, 31)),
    ],
)
def test_nm_1_expiry_is_today_plus_the_duration(duration, expected):
    assert expiry_for(duration, date(2027, 1, 31), (8, 31)) == expected


def test_local_date_follows_british_summer_time():
    assert local_date(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), LONDON) == date(2026, 3, 30)  # BST
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), LONDON) == date(2026, 12, 31)  # GMT


def test_local_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 1, 1), LONDON)
