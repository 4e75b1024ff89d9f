"""A directory outage as the service sees it: which job to retry, when, and what to run after.

`DirectoryUnavailable` from a job starts an outage. The failed job is retried with capped
exponential backoff (`retry_initial_seconds` doubling up to `retry_max_seconds`); the other
jobs that fall due meanwhile are remembered, not run, and run once when the directory answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outage:
    """The directory is down: which job to retry, when, and which jobs to run once it is back."""

    first_failure: float  # monotonic
    retry_job: str
    attempts: int = 1
    next_attempt_at: float = 0.0
    missed_jobs: list[str] = field(default_factory=list)

    def backoff(self, now: float, initial_seconds: float, max_seconds: float) -> float:
        """Schedule the next attempt after `attempts` failures; returns the delay."""
        delay = min(initial_seconds * 2.0 ** (self.attempts - 1), max_seconds)
        self.next_attempt_at = now + delay
        return delay

    def miss(self, name: str) -> None:
        """Remember a job that fell due during the outage (once; the retried job runs anyway)."""
        if name not in self.missed_jobs and name != self.retry_job:
            self.missed_jobs.append(name)

    def due(self, now: float) -> bool:
        return now >= self.next_attempt_at


def record_failure(outage: Outage | None, job: str, now: float) -> Outage:
    """The outage after one more failed attempt of `job` (a new one if none was running)."""
    if outage is None:
        return Outage(first_failure=now, retry_job=job)
    outage.attempts += 1
    return outage
