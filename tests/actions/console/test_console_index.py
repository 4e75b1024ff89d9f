"""The console's index (agent.actions.console_index, issue 13): the forecast from each account's
next transition, list pages, and the index on the embedded demo."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from agent.actions.console_index import (
    ConsoleIndex,
    ListFilter,
    Snapshot,
    build_snapshot,
    forecast,
    list_page,
    row_of,
)
from agent.actions.console_scope import Administrator, ConsoleRole
from agent.actions.session import open_directory
from agent.core.dates import add_months
from agent.core.model import Reason
from agent.core.policy import decide
from tests.builders import SETTINGS, non_mis, noon, staff

TODAY = date(2026, 12, 2)  # a Wednesday
NOW = noon(TODAY)
LA = Administrator("admin.cardiff", "uid=admin.cardiff", "LA", None, frozenset({ConsoleRole.LA_ADMIN}))


def _rows(*accounts):
    return [row_of(account, decide(account, NOW, SETTINGS)) for account in accounts]


def test_the_forecast_counts_disables_by_rule_and_their_purges_a_year_later_per_week():
    expiring = non_mis(uid="e", expiry_date=TODAY + timedelta(days=20), last_sign_in=NOW)
    disabled = non_mis(uid="d", enabled=False, disabled_reason=Reason.EXPIRED,
                       disabled_at=noon(add_months(TODAY, -12) + timedelta(days=10)),
                       expiry_date=add_months(TODAY, -12))
    weeks = forecast(_rows(expiring, disabled), TODAY, SETTINGS.retention_months)
    assert weeks[0].start == date(2026, 11, 30) and len(weeks) == 53
    disable_week = (TODAY + timedelta(days=21) - weeks[0].start).days // 7  # NM-3: the day after expiry
    assert weeks[disable_week].disable == {"NM-3": 1}
    assert sum(week.disabled for week in weeks) == 1
    purge_week = (TODAY + timedelta(days=10) - weeks[0].start).days // 7      # NM-7 for the disabled one
    assert weeks[purge_week].purge == 1
    assert sum(week.purge for week in weeks) == 1  # the new disable's purge is beyond the horizon


def test_a_change_due_now_counts_in_the_first_week_and_bad_data_never():
    due = staff(uid="s", leaving_date=TODAY - timedelta(days=1))  # MIS-2 due at the next sweep
    broken = non_mis(uid="x", expiry_date=TODAY)
    rows = _rows(due, broken)
    rows[1] = replace(rows[1], problems=True)
    weeks = forecast(rows, TODAY, SETTINGS.retention_months)
    assert weeks[0].disable == {"MIS-2": 1}


def test_list_pages_filter_and_count_on_the_server():
    accounts = [non_mis(uid=f"u{index:02d}", dn=f"uid=u{index:02d},ou=people,dc=example,dc=org",
                        enabled=index % 2 == 0, sponsor="admin.cardiff",
                        expiry_date=TODAY + timedelta(days=100)) for index in range(30)]
    rows = tuple(_rows(*accounts))
    snapshot = Snapshot(rows, NOW, TODAY, (), {row.uid: index for index, row in enumerate(rows)})
    page = list_page(snapshot, LA, ListFilter(active=False), 2, 10)
    assert (page.total, page.number, page.count) == (15, 2, 2)
    assert [row.uid for row in page.rows] == [f"u{index:02d}" for index in range(21, 30, 2)]
    assert list_page(snapshot, LA, ListFilter(text="U07"), 1, 10).total == 1
    assert list_page(snapshot, LA, ListFilter(), 99, 10).number == 3  # past the end: the last page


def test_the_index_reads_the_demo_once_and_updates_the_rows_the_console_changes(tmp_path):
    from tests.web.conftest import demo_config
    config = demo_config(tmp_path)
    opened = []

    def opener():
        opened.append(1)
        return open_directory(config)

    index = ConsoleIndex(config, opener, lambda: NOW, max_age=3600)
    first = index.snapshot()
    assert index.snapshot() is first and len(opened) == 1  # served from memory
    with open_directory(config) as directory:
        fresh = build_snapshot(directory, config, NOW)
    assert [row.uid for row in first.rows] == [row.uid for row in fresh.rows]
    row = first.row("temp.ysgol")
    assert row is not None and not row.enabled
    with open_directory(config) as directory:
        (account,) = directory.find("uid", "temp.ysgol")
    index.refresh([replace(account, enabled=True, disabled_reason=None)])
    assert index.snapshot().row("temp.ysgol").enabled and len(opened) == 1


def test_a_read_that_began_before_a_console_change_does_not_undo_it(tmp_path):
    from tests.web.conftest import demo_config
    config = demo_config(tmp_path)
    with open_directory(config) as directory:
        (account,) = directory.find("uid", "temp.ysgol")
    index = ConsoleIndex(config, lambda: open_directory(config), lambda: NOW, max_age=3600)
    index.snapshot()
    real_open = index._open

    def slow_open():  # the console changes the account while the background read is under way
        index.refresh([replace(account, enabled=True, disabled_reason=None)])
        return real_open()

    index._open = slow_open
    index._rebuild()
    assert index.snapshot().row("temp.ysgol").enabled  # the directory still says disabled
