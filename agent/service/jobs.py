"""The contract between the service loop and the work it schedules.

The service knows nothing about LDAP or the policy: it calls a job object built
from the configuration by a factory and reads back a small `JobSummary`. The
real sweep (agent/sweep.py) is wired in through an adapter that turns its
report into a `JobSummary`; the tests use hand-written fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from agent.settings.config import Config

log = structlog.get_logger("agent.service.jobs")

StopCheck = Callable[[], bool]


@dataclass(frozen=True)
class JobSummary:
    """What one run of a job did, for the summary log line and the metrics.

    `changes` counts applied changes by (rule id, action), for example
    ("NM-3", "disable"). `accounts`, when the job knows it, counts the local
    authority's accounts by (category, state), for example ("non-mis", "disabled");
    a job that read only candidates leaves it None and the gauges keep their values.
    `problems` counts entries left alone because their data could not be read (C-7).
    `guard_tripped` is True when the mass-change guard (C-8) held the sweep back.
    `interrupted` is True when the job stopped early because `should_stop()` said so.
    """

    scanned: int = 0
    changes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    accounts: Mapping[tuple[str, str], int] | None = None
    problems: int = 0
    guard_tripped: bool = False
    interrupted: bool = False

    @property
    def changed(self) -> int:
        return sum(self.changes.values())

    def log_fields(self, job: str, duration_seconds: float) -> dict[str, Any]:
        """The fields of the service's one `job_finished` line for this run."""
        return {
            "job": job,
            "scanned": self.scanned,
            "changed": self.changed,
            "changes": {f"{rule}/{action}": count for (rule, action), count in self.changes.items()},
            "problems": self.problems,
            "guard_tripped": self.guard_tripped,
            "interrupted": self.interrupted,
            "duration_seconds": round(duration_seconds, 3),
        }


class Job(Protocol):
    """The work the service runs on its schedule.

    Both methods must check the service's `should_stop()` between two entries
    (never in the middle of a change) and return early when it is True, with
    `interrupted=True` in the summary. They raise `agent.core.errors.DirectoryUnavailable`
    when the directory is down; the service retries with backoff.
    """

    def sweep(self) -> JobSummary: ...

    def poll_activation_requests(self) -> JobSummary: ...

    def remind(self) -> JobSummary:
        """Reminders to sponsors (issue 14), scheduled only when `notifications.host` is set."""
        ...


JobFactory = Callable[[Config], Job]
ConfigLoader = Callable[[], Config]


def close_job(job: object) -> None:
    """Close a job that holds resources (a directory connection); jobs without close() are fine."""
    close = getattr(job, "close", None)
    if callable(close):
        try:
            close()
        except Exception as error:
            log.warning("job_close_failed", error=str(error))
