"""Signals on the real main thread: SIGTERM/SIGINT mid-sweep, SIGHUP with good and bad files.

The service runs in the test's main thread (the only one that gets Python signal handlers);
a helper thread plays the operator: it waits for an observable state, then sends the signal.
A safety thread stops the service if a test goes wrong, so a failure never hangs the suite.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from structlog.testing import capture_logs

from agent.service.jobs import JobSummary
from agent.service.service import Service
from agent.settings import config as agent_config
from tests.service.conftest import (
    PATIENCE_SECONDS,
    FakeJobFactory,
    fast_timetable,
    make_config,
    wait_until,
    write_config,
)

# Long enough that only a stop can end it: 100,000 entries at 10 ms.
LONG_SWEEP_ENTRIES = 100_000


class LongSweepJob:
    """A sweep over many entries that checks `should_stop()` between two entries, as the real one must."""

    def __init__(self, should_stop):
        self.should_stop = should_stop
        self.started = threading.Event()
        self.begun = 0  # entries whose change started
        self.finished = 0  # entries whose change completed
        self.stopped_at_boundary = False

    def sweep(self) -> JobSummary:
        self.started.set()
        for _entry in range(LONG_SWEEP_ENTRIES):
            if self.should_stop():
                self.stopped_at_boundary = self.begun == self.finished
                return JobSummary(scanned=self.finished, interrupted=True)
            self.begun += 1
            time.sleep(0.01)  # one entry's modify, never cut in half
            self.finished += 1
        return JobSummary(scanned=self.finished)

    def poll_activation_requests(self) -> JobSummary:
        return JobSummary()


def run_in_main_thread(service: Service, operator) -> tuple[int, float]:
    """Run the service here, `operator(service)` in a helper thread; (exit code, seconds run)."""
    safety = threading.Timer(PATIENCE_SECONDS * 2, service.request_stop)
    safety.daemon = True
    helper = threading.Thread(target=operator, args=(service,), daemon=True)
    safety.start()
    helper.start()
    started = time.monotonic()
    try:
        code = service.run()
    finally:
        safety.cancel()
    helper.join(PATIENCE_SECONDS)
    return code, time.monotonic() - started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_a_long_sweep_ends_it_between_two_entries_within_seconds(signum):
    jobs: list[LongSweepJob] = []
    sent_at: list[float] = []
    config = make_config()
    service = Service(
        lambda: config,
        lambda _config: jobs.append(LongSweepJob(service.should_stop)) or jobs[-1],
        timetable=fast_timetable(sweep_interval=60),
        tick_seconds=0.2,
    )

    def operator(service: Service) -> None:
        wait_until(lambda: bool(jobs) and jobs[0].started.is_set() and jobs[0].finished >= 5,
                   "the sweep to be under way")
        sent_at.append(time.monotonic())
        os.kill(os.getpid(), signum)

    previous_handler = signal.getsignal(signum)
    with capture_logs() as logs:
        code, _ = run_in_main_thread(service, operator)
    stopped_after = time.monotonic() - sent_at[0]

    assert code == 0
    sweep = jobs[0]
    assert sweep.stopped_at_boundary, "the sweep stopped in the middle of an entry"
    assert 5 <= sweep.finished < LONG_SWEEP_ENTRIES
    # "Within a few seconds": the sweep needs one entry (10 ms) to notice; allow a loaded machine.
    assert stopped_after < 5.0
    finished = next(entry for entry in logs if entry["event"] == "job_finished")
    assert finished["job"] == "sweep"
    assert finished["interrupted"] is True
    assert logs[-1]["event"] == "service_stopped"
    assert logs[-1]["reason"] == signal.Signals(signum).name
    # The service gives the handler back: the test runner's own Ctrl-C still works afterwards.
    assert signal.getsignal(signum) == previous_handler


def test_sigterm_while_idle_stops_the_service_within_a_tick(factory):
    config = make_config()
    service = Service(lambda: config, factory, timetable=fast_timetable(sweep_interval=60), tick_seconds=0.2)

    def operator(service: Service) -> None:
        wait_until(lambda: factory.directory.count("sweep") == 1, "the start sweep")
        time.sleep(0.3)  # let the loop settle into its wait
        os.kill(os.getpid(), signal.SIGTERM)

    code, _ = run_in_main_thread(service, operator)
    assert code == 0


def test_sighup_with_a_good_file_switches_configuration_and_reopens_the_audit_sink(tmp_path):
    path = write_config(tmp_path / "681.yaml", schedule={"sweep": "every 30 minutes"})
    factory = FakeJobFactory()
    reopened: list[agent_config.Config] = []
    service = Service(lambda: agent_config.load(path), factory, on_reload=reopened.append, tick_seconds=0.1)

    def operator(service: Service) -> None:
        wait_until(lambda: len(factory.configs) == 1, "the first configuration")
        write_config(path, local_authority={"code": "681", "name": "Caerdydd"},
                     schedule={"sweep": "every 45 minutes", "activation_poll_seconds": 20})
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: len(reopened) == 1, "the reload hook")
        os.kill(os.getpid(), signal.SIGTERM)

    with capture_logs() as logs:
        code, _ = run_in_main_thread(service, operator)

    assert code == 0
    assert [config.local_authority.name for config in factory.configs] == ["Cardiff", "Caerdydd"]
    assert reopened[0].local_authority.name == "Caerdydd"
    assert service.timetable.sweep_interval_seconds == 45 * 60
    assert service.timetable.activation_poll_seconds == 20
    assert factory.jobs[0].closed  # the job of the old configuration was released
    events = [entry["event"] for entry in logs]
    assert "config_reloaded" in events and "config_rejected" not in events


def test_sighup_with_a_bad_file_keeps_the_old_configuration_and_logs_every_problem(tmp_path):
    path = write_config(tmp_path / "681.yaml")
    factory = FakeJobFactory()
    reopened: list[agent_config.Config] = []
    service = Service(lambda: agent_config.load(path), factory, on_reload=reopened.append, tick_seconds=0.1)

    def operator(service: Service) -> None:
        wait_until(lambda: len(factory.configs) == 1, "the first configuration")
        write_config(path, directory={"url": "mock:", "base_dn": "ou=people,dc=example,dc=org",
                                      "flavour": "openldap", "page_size": "lots"},
                     schedule={"sweep": "whenever"},
                     service={"metrics": {"listen": "0.0.0.0:9464"}})
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: len(reopened) == 1, "the reload hook")
        os.kill(os.getpid(), signal.SIGTERM)

    with capture_logs() as logs:
        code, _ = run_in_main_thread(service, operator)

    assert code == 0
    assert len(factory.configs) == 1, "a job was built from the rejected file"
    assert service.config.local_authority.name == "Cardiff"
    # The audit file is reopened whatever became of the configuration (log rotation still happened).
    assert reopened[0] is service.config
    rejected = next(entry for entry in logs if entry["event"] == "config_rejected")
    assert rejected["log_level"] == "error"
    assert rejected["kept"] == str(path)
    problems = "\n".join(rejected["problems"])
    for yaml_path in ("directory.page_size", "schedule.sweep[0]", "service.metrics.listen"):
        assert f"'{yaml_path}'" in problems
