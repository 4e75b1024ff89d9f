"""Fakes and helpers for the service tests: a scripted job, configs on disk, a service in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.core.errors import DirectoryUnavailable
from agent.service.jobs import JobSummary
from agent.service.service import Service, Timetable
from agent.settings.config import Config, parse

# Generous: these bound how long a test may wait for something that normally takes milliseconds,
# so that a loaded 2-core CI machine never fails a correct build. Only failures wait this long.
PATIENCE_SECONDS = 30.0

MINIMAL_CONFIG: dict[str, Any] = {
    "local_authority": {"code": "681", "name": "Cardiff"},
    "directory": {"url": "mock:", "base_dn": "ou=people,dc=example,dc=org", "flavour": "openldap"},
}


def make_config(**sections: Any) -> Config:
    return parse({**MINIMAL_CONFIG, **sections}, "<test>")


def write_config(path: Path, **sections: Any) -> Path:
    path.write_text(yaml.safe_dump({**MINIMAL_CONFIG, **sections}), encoding="utf-8")
    return path


def fast_timetable(
    sweep_interval: float | None = 60.0,
    poll: float = 60.0,
    lease_period: float = 4.0,
    retry_initial: float = 0.05,
    retry_max: float = 0.2,
) -> Callable[[Config], Timetable]:
    """Short intervals for tests (the configuration's own minimum is one minute)."""

    def timetable(config: Config) -> Timetable:
        return Timetable(
            sweep_interval_seconds=sweep_interval,
            sweep_times=(),
            activation_poll_seconds=poll,
            lease_period_seconds=lease_period,
            retry_initial_seconds=retry_initial,
            retry_max_seconds=retry_max,
        )

    return timetable


def wait_until(condition: Callable[[], bool], what: str, timeout: float = PATIENCE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(0.01)


class FakeDirectory:
    """Shared state of the fake jobs: calls seen, and an outage switch."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  # (job owner, method)
        self.failures_left = 0  # the next N calls raise DirectoryUnavailable
        self.failure_times: list[float] = []

    def record(self, owner: str, method: str) -> None:
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.failure_times.append(time.monotonic())
                raise DirectoryUnavailable("ldap.example.org:636: connection refused")
            self.calls.append((owner, method))

    def count(self, method: str, owner: str | None = None) -> int:
        with self.lock:
            return sum(1 for who, name in self.calls if name == method and (owner is None or who == owner))


class FakeJob:
    """A hand-written stand-in for the sweep job; scripted per test."""

    def __init__(self, config: Config, directory: FakeDirectory, owner: str = "a"):
        self.config = config
        self.directory = directory
        self.owner = owner
        self.sweep_errors: list[Exception] = []  # raised by the next sweeps, in order
        self.sweep_summary = JobSummary(
            scanned=10,
            changes={("NM-3", "disable"): 2, ("MIS-2", "disable"): 1},
            accounts={("mis", "enabled"): 7, ("non-mis", "disabled"): 3},
        )
        self.closed = False

    def sweep(self) -> JobSummary:
        if self.sweep_errors:
            raise self.sweep_errors.pop(0)
        self.directory.record(self.owner, "sweep")
        return self.sweep_summary

    def poll_activation_requests(self) -> JobSummary:
        self.directory.record(self.owner, "poll")
        return JobSummary(scanned=1)

    def close(self) -> None:
        self.closed = True


class FakeJobFactory:
    def __init__(self, directory: FakeDirectory | None = None, owner: str = "a"):
        self.directory = directory or FakeDirectory()
        self.owner = owner
        self.jobs: list[FakeJob] = []
        self.configs: list[Config] = []

    def __call__(self, config: Config) -> FakeJob:
        self.configs.append(config)
        job = FakeJob(config, self.directory, self.owner)
        self.jobs.append(job)
        return job


class ServiceThread:
    """Runs a service's loop in a background thread (no signal handlers there)."""

    def __init__(self, service: Service):
        self.service = service
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="service-under-test", daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.service.run()
        except BaseException as error:  # reported by stop()
            self.error = error

    def __enter__(self) -> ServiceThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.service.request_stop()
        self.thread.join(PATIENCE_SECONDS)
        assert not self.thread.is_alive(), "the service did not stop"
        if self.error is not None:
            raise self.error

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def factory(directory: FakeDirectory) -> FakeJobFactory:
    return FakeJobFactory(directory)
