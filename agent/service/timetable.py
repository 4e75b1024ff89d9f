"""When the service's jobs run: the timetable a configuration implies, and the schedule built from it.

Fixed sweep times ("02:00") are wall-clock times in the policy's time zone (`policy.timezone`),
whatever zone the host runs in, and stay so across the BST/GMT change: schedule's
`.at(time, zone)` (which uses pytz) computes each next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import schedule

from agent.settings.config import Config
from agent.settings.service import ServiceSettings

SWEEP = "sweep"
ACTIVATION_POLL = "activation_poll"
REMIND = "remind"  # reminders to sponsors (issue 14), daily at `schedule.remind`


@dataclass(frozen=True)
class Timetable:
    """When things run, in seconds, derived from a configuration (tests pass shorter ones)."""

    sweep_interval_seconds: float | None
    sweep_times: tuple[time_of_day, ...]
    activation_poll_seconds: float
    lease_period_seconds: float
    retry_initial_seconds: float
    retry_max_seconds: float
    # The zone `sweep_times` are read in: the policy's (POLICY.md dates are local dates too).
    # The default is the policy's own default, for timetables that tests write by hand.
    sweep_time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    # Local times (in `sweep_time_zone`) of the daily reminder run; empty without an SMTP server.
    remind_times: tuple[time_of_day, ...] = ()

    @property
    def lease_check_seconds(self) -> float:
        # A standby looks four times per period, so it takes over at most a quarter period late.
        return max(self.lease_period_seconds / 4, 0.05)

    @property
    def longest_sweep_gap_seconds(self) -> float | None:
        """The longest normal wait between two sweeps (health allows two of these)."""
        if self.sweep_times:
            minutes = sorted({moment.hour * 60 + moment.minute for moment in self.sweep_times})
            gaps = [later - earlier for earlier, later in zip(minutes, minutes[1:], strict=False)]
            gaps.append(minutes[0] + 24 * 60 - minutes[-1])  # across midnight
            return max(gaps) * 60.0
        return self.sweep_interval_seconds


def timetable_from_config(config: Config) -> Timetable:
    settings: ServiceSettings = config.service
    interval = config.schedule.sweep_interval_minutes
    return Timetable(
        # Fixed times win when both are given: an operator who names times means them.
        sweep_interval_seconds=None if config.schedule.sweep_times or interval is None else interval * 60.0,
        sweep_times=config.schedule.sweep_times,
        activation_poll_seconds=float(config.schedule.activation_poll_seconds),
        lease_period_seconds=float(settings.lease.period_seconds),
        retry_initial_seconds=settings.retry.initial_seconds,
        retry_max_seconds=settings.retry.max_seconds,
        sweep_time_zone=config.policy.timezone,
        remind_times=config.schedule.remind_times if config.notifications.enabled else (),
    )


def every_seconds(scheduler: schedule.Scheduler, seconds: float) -> schedule.Job:
    """A job every `seconds` (fractions allowed: the tests run on sub-second timetables)."""
    # schedule annotates the interval as int, but uses it as timedelta(seconds=interval),
    # which takes a float; rounding would turn a 0.05 s test timetable into a busy loop.
    job: schedule.Job = scheduler.every(seconds).seconds  # type: ignore[arg-type]
    return job


def daily_at(scheduler: schedule.Scheduler, moment: time_of_day, zone: ZoneInfo) -> schedule.Job:
    """A job every day at `moment` on the wall clock of `zone`, not of the host.

    schedule computes each next run in `zone` (through pytz, which it needs for a zone
    given by name) and keeps it as the host's naive local time, so 02:00 Europe/London is
    01:00 UTC in summer and 02:00 UTC in winter. On the day the clocks go forward a time in
    the skipped hour runs an hour later; on the day they go back it runs once, the first time.
    """
    job: schedule.Job = scheduler.every().day.at(moment.strftime("%H:%M"), zone.key)
    return job


def build_scheduler(
    timetable: Timetable,
    run_job: Callable[[str], None],
    check_lease: Callable[[], None] | None,
) -> schedule.Scheduler:
    """A scheduler that calls `run_job(SWEEP)`, `run_job(ACTIVATION_POLL)` and `check_lease()` on time."""
    scheduler = schedule.Scheduler()
    if timetable.sweep_interval_seconds is not None:
        every_seconds(scheduler, timetable.sweep_interval_seconds).do(run_job, SWEEP)
    for moment in timetable.sweep_times:
        daily_at(scheduler, moment, timetable.sweep_time_zone).do(run_job, SWEEP)
    every_seconds(scheduler, timetable.activation_poll_seconds).do(run_job, ACTIVATION_POLL)
    for moment in timetable.remind_times:
        daily_at(scheduler, moment, timetable.sweep_time_zone).do(run_job, REMIND)
    if check_lease is not None:
        every_seconds(scheduler, timetable.lease_check_seconds).do(check_lease)
    return scheduler
