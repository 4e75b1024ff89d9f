"""The outage record on its own: capped exponential backoff, missed jobs remembered once."""

from __future__ import annotations

from agent.service.outage import Outage, record_failure


def test_backoff_doubles_up_to_the_cap_and_missed_jobs_are_kept_once() -> None:
    outage = record_failure(None, "sweep", now=100.0)
    assert (outage.first_failure, outage.retry_job, outage.attempts) == (100.0, "sweep", 1)
    assert outage.backoff(100.0, initial_seconds=1.0, max_seconds=5.0) == 1.0
    assert not outage.due(100.5) and outage.due(101.0)
    delays = []
    for _ in range(4):
        outage = record_failure(outage, "sweep", now=200.0)
        delays.append(outage.backoff(200.0, initial_seconds=1.0, max_seconds=5.0))
    assert delays == [2.0, 4.0, 5.0, 5.0]
    assert isinstance(outage, Outage) and outage.attempts == 5
    for name in ("activation_poll", "sweep", "activation_poll"):
        outage.miss(name)
    assert outage.missed_jobs == ["activation_poll"]  # the retried job is not "missed"
