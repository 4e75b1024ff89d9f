"""Fixed sweep times are wall-clock times of `policy.timezone`, not of the host (issue 10).

The host's zone is forced with TZ + time.tzset() (restored afterwards), and schedule's clock
is fixed by handing its module a `datetime` whose `now()` answers a chosen instant, as
schedule's own tests do. schedule keeps next runs as the host's naive local time, so each
expectation is the intended instant (02:00 Europe/London) seen on the host's clock.
"""

from __future__ import annotations

import datetime as real_datetime
import os
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import pytest
import schedule

from agent.service.service import Service, daily_at, timetable_from_config
from tests.service.conftest import PATIENCE_SECONDS, ServiceThread, make_config, wait_until

LONDON = ZoneInfo("Europe/London")
HOST_ZONES = ["UTC", "America/New_York", "Asia/Tokyo"]


@pytest.fixture
def host_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's local time zone set to `request.param`."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


class FixedClock:
    """Stands in for schedule's `datetime` module, with `datetime.now()` at a set instant."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, instant: datetime):
        self.instant = instant
        clock = self

        class FrozenDatetime(real_datetime.datetime):
            @classmethod
            def now(cls, tz: real_datetime.tzinfo | None = None) -> real_datetime.datetime:  # type: ignore[override]
                # No zone: the host's naive local time, as datetime.now() gives it.
                if tz is None:
                    return clock.instant.astimezone().replace(tzinfo=None)
                return clock.instant.astimezone(tz)

        module = types.ModuleType("datetime")
        module.__dict__.update(real_datetime.__dict__)
        module.datetime = FrozenDatetime  # type: ignore[attr-defined]
        monkeypatch.setattr(schedule, "datetime", module)


def on_host_clock(instant: datetime) -> datetime:
    """`instant` as the naive host-local time schedule keeps its next runs in."""
    return instant.astimezone().replace(tzinfo=None)


def next_sweep(monkeypatch: pytest.MonkeyPatch, now: datetime, at: str = "02:00") -> datetime:
    FixedClock(monkeypatch, now)
    timetable = timetable_from_config(make_config(schedule={"sweep": [at]},
                                                  policy={"timezone": "Europe/London"}))
    assert timetable.sweep_time_zone == LONDON
    job = daily_at(schedule.Scheduler(), timetable.sweep_times[0], timetable.sweep_time_zone)
    job.do(lambda: None)
    assert job.next_run is not None
    return job.next_run


@pytest.mark.parametrize("host_zone", HOST_ZONES, indirect=True)
def test_a_summer_sweep_at_0200_runs_at_0200_london_which_is_0100_utc(monkeypatch, host_zone):
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_sweep(monkeypatch, now) == on_host_clock(datetime(2026, 7, 2, 1, 0, tzinfo=UTC))


@pytest.mark.parametrize("host_zone", HOST_ZONES, indirect=True)
def test_a_winter_sweep_at_0200_runs_at_0200_london_which_is_0200_utc(monkeypatch, host_zone):
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert next_sweep(monkeypatch, now) == on_host_clock(datetime(2026, 1, 16, 2, 0, tzinfo=UTC))


@pytest.mark.parametrize("host_zone", HOST_ZONES, indirect=True)
def test_the_sweep_follows_london_across_the_change_to_bst_and_back(monkeypatch, host_zone):
    # BST starts Sunday 29 March 2026 at 01:00 UTC: 02:00 that night is already 02:00 BST.
    assert next_sweep(monkeypatch, datetime(2026, 3, 28, 12, 0, tzinfo=UTC)) == on_host_clock(
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    # BST ends Sunday 25 October 2026 at 01:00 UTC: 02:00 that night is 02:00 GMT.
    assert next_sweep(monkeypatch, datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == on_host_clock(
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC))


@pytest.mark.parametrize("host_zone", ["UTC"], indirect=True)
def test_after_the_last_bst_sweep_the_next_one_is_at_0200_gmt(monkeypatch, host_zone):
    clock = FixedClock(monkeypatch, datetime(2026, 10, 23, 12, 0, tzinfo=UTC))
    runs: list[datetime] = []
    scheduler = schedule.Scheduler()
    daily_at(scheduler, time_of_day(2), LONDON).do(lambda: runs.append(clock.instant))
    assert scheduler.next_run == datetime(2026, 10, 24, 1, 0)  # 02:00 BST, host on UTC

    clock.instant = datetime(2026, 10, 24, 1, 0, 1, tzinfo=UTC)
    scheduler.run_pending()
    assert len(runs) == 1
    assert scheduler.next_run == datetime(2026, 10, 25, 2, 0)  # 02:00 GMT, one day and one hour on


@pytest.mark.parametrize("host_zone", ["UTC"], indirect=True)
def test_the_policy_zone_is_the_one_used_not_london_by_default(monkeypatch, host_zone):
    FixedClock(monkeypatch, datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    timetable = timetable_from_config(make_config(schedule={"sweep": ["02:00"]},
                                                  policy={"timezone": "America/New_York"}))
    job = daily_at(schedule.Scheduler(), timetable.sweep_times[0], timetable.sweep_time_zone)
    job.do(lambda: None)
    assert job.next_run == datetime(2026, 7, 2, 6, 0)  # 02:00 EDT


@pytest.mark.parametrize("host_zone", ["America/New_York"], indirect=True)
def test_the_running_service_schedules_its_sweep_at_0200_in_the_policy_zone(factory, host_zone):
    config = make_config(schedule={"sweep": ["02:00"], "activation_poll_seconds": 60},
                         policy={"timezone": "Europe/London"})
    service = Service(lambda: config, factory, tick_seconds=0.05, install_signal_handlers=False)
    with ServiceThread(service):
        wait_until(lambda: service.timetable is not None, "the schedule", PATIENCE_SECONDS)
        [sweep] = [job for job in service.scheduler.jobs if job.unit == "days"]
        next_run = sweep.next_run
    # Real clock: the host (New York) keeps the next run as its own local time; it must be the
    # first 02:00 London after now, whatever the season.
    assert next_run is not None
    london = next_run.astimezone(LONDON)  # a naive datetime is read as host-local time
    assert (london.hour, london.minute) == (2, 0)
    assert datetime.now(LONDON) < london <= datetime.now(LONDON) + real_datetime.timedelta(days=1)
