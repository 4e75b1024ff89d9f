"""The loop on short intervals with fake jobs: schedule, guard, outage backoff and recovery."""

from __future__ import annotations

import time
from datetime import time as time_of_day

import pytest
from structlog.testing import capture_logs

from agent.service.jobs import JobSummary
from agent.service.service import Service, Timetable, timetable_from_config
from agent.settings.config import ConfigError
from tests.service.conftest import (
    FakeJobFactory,
    ServiceThread,
    fast_timetable,
    make_config,
    wait_until,
)


def make_service(factory: FakeJobFactory, **options) -> Service:
    config = make_config()
    options.setdefault("timetable", fast_timetable(sweep_interval=0.3, poll=0.05))
    options.setdefault("tick_seconds", 0.05)
    return Service(lambda: config, factory, install_signal_handlers=False, **options)


def test_sweeps_run_on_the_interval_and_the_activation_poll_runs_more_often(factory):
    with ServiceThread(make_service(factory)):
        wait_until(lambda: factory.directory.count("sweep") >= 3, "three sweeps")
        polls, sweeps = factory.directory.count("poll"), factory.directory.count("sweep")
    # Six polls per sweep are scheduled; whatever the machine's load, polls outnumber sweeps.
    assert polls > sweeps
    # An interval service sweeps at once on start, before the first poll is due.
    assert factory.directory.calls[0] == ("a", "sweep")


def test_an_exception_in_a_job_is_logged_with_context_and_the_loop_carries_on(factory):
    service = make_service(factory)
    with capture_logs() as logs, ServiceThread(service):
        wait_until(lambda: len(factory.jobs) == 1, "the job to be built")
        factory.jobs[0].sweep_errors.append(KeyError("hwbExpiryDate"))
        wait_until(lambda: factory.directory.count("sweep") >= 2, "two good sweeps after the failure")
    failures = [entry for entry in logs if entry["event"] == "job_failed"]
    assert failures, logs
    assert failures[0]["job"] == "sweep"
    assert failures[0]["error_type"] == "KeyError"
    assert failures[0]["log_level"] == "error"
    assert "exc_info" in failures[0]
    assert service.metrics.errors.labels("sweep", "exception")._value.get() == 1


def test_a_directory_outage_backs_off_exponentially_up_to_the_cap_then_resumes(factory):
    factory.directory.failures_left = 4  # the first sweep and its first three retries fail
    service = make_service(
        factory, timetable=fast_timetable(sweep_interval=60, poll=0.05, retry_initial=0.05, retry_max=0.15)
    )
    with capture_logs() as logs, ServiceThread(service):
        wait_until(lambda: factory.directory.count("poll") >= 3, "polls after the directory came back")

    attempts = [entry for entry in logs if entry["event"] == "directory_unavailable"]
    assert [entry["attempt"] for entry in attempts] == [1, 2, 3, 4]
    assert [entry["retry_in_seconds"] for entry in attempts] == [0.05, 0.1, 0.15, 0.15]
    assert all(entry["log_level"] == "warning" and "refused" in entry["error"] for entry in attempts)
    # The waits really happened (lower bounds only: a slow machine makes them longer, never shorter).
    gaps = [later - earlier for earlier, later in zip(factory.directory.failure_times,
                                                      factory.directory.failure_times[1:], strict=False)]
    assert all(gap >= expected * 0.9 for gap, expected in zip(gaps, [0.05, 0.1, 0.15], strict=True))

    back = [entry for entry in logs if entry["event"] == "directory_available"]
    assert len(back) == 1 and back[0]["after_attempts"] == 4
    assert back[0]["missed_jobs"] == ["activation_poll"]
    # No job ran against the dead directory besides the retried one; the sweep ran once it was back.
    assert factory.directory.calls[0] == ("a", "sweep")
    assert service.outage is None
    assert service.metrics.errors.labels("sweep", "directory_unavailable")._value.get() == 4


def test_the_first_configuration_must_be_valid(factory):
    def bad_loader():
        raise ConfigError("la.yaml", ["at 'directory.url': is required"])

    service = Service(bad_loader, factory, install_signal_handlers=False)
    with pytest.raises(ConfigError):
        service.run()
    assert factory.configs == []


def test_the_timetable_follows_the_configuration():
    interval = timetable_from_config(make_config(schedule={"sweep": "every 15 minutes",
                                                           "activation_poll_seconds": 30}))
    assert interval.sweep_interval_seconds == 900
    assert interval.activation_poll_seconds == 30
    assert interval.longest_sweep_gap_seconds == 900

    fixed = timetable_from_config(make_config(schedule={"sweep": ["02:00", "14:00", "20:00"]}))
    assert fixed.sweep_interval_seconds is None
    assert fixed.sweep_times == (time_of_day(2), time_of_day(14), time_of_day(20))
    # 02:00 -> 14:00 is the longest gap (20:00 -> 02:00 across midnight is 6 h): health allows two.
    assert fixed.longest_sweep_gap_seconds == 12 * 3600


def test_fixed_sweep_times_are_scheduled_daily_and_no_sweep_runs_at_start(factory):
    config = make_config()

    def daily(_config) -> Timetable:
        return Timetable(None, (time_of_day(2), time_of_day(14)), 0.05, 60, 1, 10)

    service = Service(lambda: config, factory, timetable=daily, tick_seconds=0.05,
                      install_signal_handlers=False)
    with ServiceThread(service):
        wait_until(lambda: factory.directory.count("poll") >= 2, "two polls")
        units = sorted((job.unit, str(job.at_time)) for job in service.scheduler.jobs)
    assert ("days", "02:00:00") in units and ("days", "14:00:00") in units
    assert factory.directory.count("sweep") == 0


def test_jobs_are_closed_when_the_service_stops(factory):
    with ServiceThread(make_service(factory)):
        wait_until(lambda: factory.directory.count("sweep") >= 1, "a sweep")
    assert factory.jobs[0].closed


def test_directory_unavailable_during_the_poll_is_retried_and_the_sweep_waits(factory):
    service = make_service(factory, timetable=fast_timetable(sweep_interval=0.2, poll=0.05))
    with capture_logs() as logs, ServiceThread(service):
        wait_until(lambda: factory.directory.count("sweep") >= 1, "the start sweep")
        factory.directory.failures_left = 3
        wait_until(lambda: any(entry["event"] == "directory_available" for entry in logs),
                   "the directory to come back")
        count_at_recovery = factory.directory.count("sweep")
        wait_until(lambda: factory.directory.count("sweep") > count_at_recovery, "the schedule to resume")
    failed = [entry for entry in logs if entry["event"] == "directory_unavailable"]
    assert [entry["attempt"] for entry in failed] == [1, 2, 3]
    # Every job that came due during the outage is either the one retried or run once when back.
    back = next(entry for entry in logs if entry["event"] == "directory_available")
    assert {failed[0]["job"], *back["missed_jobs"]} <= {"sweep", "activation_poll"}


class PortalRequestJob:
    """Activation requests that a portal writes at any moment; the poll honours what it finds."""

    def __init__(self):
        self.requested_at: float | None = None
        self.latencies: list[float] = []

    def sweep(self) -> JobSummary:
        return JobSummary()

    def poll_activation_requests(self) -> JobSummary:
        if self.requested_at is None:
            return JobSummary()
        self.latencies.append(time.monotonic() - self.requested_at)
        self.requested_at = None
        return JobSummary(scanned=1, changes={("C-1", "enable"): 1})


def test_an_activation_request_is_honoured_by_the_next_poll():
    job = PortalRequestJob()
    config = make_config()
    poll_seconds = 0.5
    service = Service(lambda: config, lambda _config: job,
                      timetable=fast_timetable(sweep_interval=600, poll=poll_seconds),
                      tick_seconds=0.05, install_signal_handlers=False)
    with ServiceThread(service):
        for _request in range(3):
            job.requested_at = time.monotonic()
            wait_until(lambda: job.requested_at is None, "the request to be honoured")
    # At most one poll interval plus the loop's reaction: generous for a loaded machine, and
    # still far below the interval of a sweep (600 s here), which is what the poll is for.
    assert len(job.latencies) == 3
    assert max(job.latencies) < poll_seconds + 5.0


def test_the_start_event_carries_the_running_version(factory):
    import agent

    with capture_logs() as logs, ServiceThread(make_service(factory)):
        wait_until(lambda: factory.directory.count("sweep") >= 1, "the start sweep")
    [started] = [entry for entry in logs if entry["event"] == "service_started"]
    assert started["version"] == agent.__version__ and started["version"]
    assert started["local_authority"] == "681"
