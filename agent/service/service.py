"""The long-running service (`hwb-agent run`): schedule, guards, outages, signals, lease, health.

Shape (after gunicorn's arbiter and schedule's own advice):

- One thread does the work. It runs `schedule` jobs (full sweeps on the
  configured interval or local times, the activation poll every
  `activation_poll_seconds`, a lease check), then waits on a `threading.Event`
  for the next one, never in `time.sleep`.
- Every job runs inside a guard: an exception is logged with its context and
  counted, and the loop carries on. `DirectoryUnavailable` starts an outage:
  the failed job is retried with capped exponential backoff (one log line per
  failed attempt), the other jobs wait, and when the directory answers again the
  jobs missed meanwhile run once and the normal schedule resumes.
- Signal handlers only record the signal. SIGTERM/SIGINT: jobs see
  `should_stop()` turn True and return between two entries; the loop ends.
  SIGHUP: the loop reloads the configuration (a bad file is rejected with its
  problems logged and the old configuration stays in force) and calls
  `on_reload` so the audit sink reopens its file after log rotation.
- With `service.lease.enabled`, the service acts only while it holds the
  lease (agent.actions.lease); `should_stop()` also turns True when the lease is
  lost, and renews it in passing during a long sweep.
- Fixed sweep times ("02:00") are wall-clock times in the policy's time zone
  (`policy.timezone`), whatever zone the host runs in (agent/service/timetable.py).
- Outages are tracked by agent/service/outage.py.

The real wiring is agent/service/app.py (`run_service`); tests pass fakes. The factories
are only called inside `run()`, so they may refer to the service itself.

Why handlers do not set the wake-up Event: `Event.set()` takes a lock that the
interrupted main thread may hold at that very moment (inside `wait()`), which
would deadlock. So the wait is cut into ticks of at most `tick_seconds`
(default 1 s) and the flags are read between ticks; a stop during an idle wait
is therefore seen within a second, and `request_stop()` from another thread
wakes the loop at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

import schedule
import structlog

from agent import __version__
from agent.actions.lease import LeaseKeeper, LeaseStore, utc_now
from agent.core.errors import DirectoryUnavailable
from agent.service.jobs import ConfigLoader, Job, JobFactory, JobSummary, close_job
from agent.service.metrics import Metrics, MetricsServer
from agent.service.outage import Outage, record_failure
from agent.service.systemd_notify import Notifier
from agent.service.timetable import (
    ACTIVATION_POLL,
    REMIND,
    SWEEP,
    Timetable,
    build_scheduler,
    daily_at,
    every_seconds,
    timetable_from_config,
)
from agent.settings.config import Config, ConfigError

log = structlog.get_logger("agent.service.service")

# Re-exported: tests and embedding programs import these from here.
__all__ = ["ACTIVATION_POLL", "SWEEP", "Outage", "Service", "Timetable", "daily_at", "every_seconds",
           "timetable_from_config"]

JOB_METHODS = {SWEEP: "sweep", ACTIVATION_POLL: "poll_activation_requests", REMIND: "remind"}

LeaseStoreFactory = Callable[[Config], LeaseStore]
ReloadHook = Callable[[Config], None]


class Service:
    """Runs the jobs of one local authority until stopped. See the module docstring for wiring."""

    def __init__(
        self,
        load_config: ConfigLoader,
        make_job: JobFactory,
        *,
        make_lease_store: LeaseStoreFactory | None = None,
        on_reload: ReloadHook | None = None,
        notifier: Notifier | None = None,
        timetable: Callable[[Config], Timetable] = timetable_from_config,
        tick_seconds: float = 1.0,
        lease_clock: Callable[[], datetime] = utc_now,
        install_signal_handlers: bool = True,
    ):
        self.load_config = load_config
        self.make_job = make_job
        self.make_lease_store = make_lease_store
        self.on_reload = on_reload
        self.notifier = notifier if notifier is not None else Notifier()
        self.timetable_for = timetable
        self.tick_seconds = tick_seconds
        self.lease_clock = lease_clock
        self.install_signal_handlers = install_signal_handlers

        # Set from other threads (tests, an embedding program); also wakes the wait at once.
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        # Set by the signal handlers only: plain attribute writes, nothing that takes a lock.
        self._stop_signal: int | None = None
        self._reload_signal = False

        self.config: Config | None = None
        self.job: Job | None = None
        self.timetable: Timetable | None = None
        self.scheduler = schedule.Scheduler()
        self.lease: LeaseKeeper | None = None
        self.metrics: Metrics | None = None
        self.metrics_server: MetricsServer | None = None
        self.outage: Outage | None = None
        self._running_job: str | None = None
        self._last_watchdog = 0.0
        self._last_lease_check = 0.0
        # Set when this instance takes the lease over from another (or back after losing it): the
        # previous holder may have died mid-sweep, so sweep at once rather than an interval later.
        self._sweep_after_takeover = False
        # A job that writes from worker threads may call should_stop() from several at once.
        self._lease_lock = threading.Lock()
        self._previous_handlers: dict[int, Any] = {}
        self._lease_key: tuple[Any, float] | None = None
        self._metrics_settings: Any = None

    # --- control, from jobs, signal handlers and other threads ------------------------------

    def should_stop(self) -> bool:
        """True when the running job must return at the next boundary between two entries.

        That is: a stop was asked for, or this instance no longer holds the lease. Jobs call
        it between entries; it also pets the systemd watchdog and renews a lease that is due,
        so a long sweep keeps both alive.
        """
        if self._stop_requested():
            return True
        self._pet_watchdog()
        if self.lease is not None and self._running_job is not None:
            if self.lease.renewal_due() and time.monotonic() - self._last_lease_check >= 1.0:
                self._check_lease()
            if not self.lease.holds():
                log.warning("lease_lost_during_job", job=self._running_job, holder=self.lease.me)
                return True
        return False

    def request_stop(self) -> None:
        """Ask the service to stop (thread-safe; not for signal handlers, which set a flag)."""
        self.stop_event.set()
        self._wake.set()

    def request_reload(self) -> None:
        """Ask for a configuration reload as SIGHUP does (thread-safe)."""
        self._reload_signal = True
        self._wake.set()

    def _stop_requested(self) -> bool:
        return self._stop_signal is not None or self.stop_event.is_set()

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum

    def _on_reload_signal(self, signum: int, frame: FrameType | None) -> None:
        self._reload_signal = True

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Load the configuration, serve until stopped; 0 after a clean stop.

        Raises ConfigError when the first configuration is bad (the caller exits 2), and
        OSError when the metrics address cannot be bound.
        """
        self._install_handlers()
        try:
            self._apply(self.load_config(), first=True)
            assert self.config is not None
            log.info(
                "service_started",
                version=__version__,
                local_authority=self.config.local_authority.code,
                config=self.config.source,
                metrics=str(self.metrics_server.address) if self.metrics_server else None,
                lease_holder=self.lease.me if self.lease else None,
            )
            self.notifier.ready(self._status_text())
            self._start_jobs()
            while not self._stop_requested():
                if self._reload_signal:
                    self._reload()
                self._run_due_work()
                self._pet_watchdog()
                self._wait(self._seconds_until_next_work())
            return 0
        finally:
            self._shut_down()

    def _start_jobs(self) -> None:
        if self.lease is not None:
            self._check_lease()
        # An interval service sweeps at once: a restart must not leave the policy unenforced
        # for a whole interval. Fixed times are the operator's chosen quiet hours: wait for them.
        if self.timetable and self.timetable.sweep_interval_seconds is not None:
            self._run_job(SWEEP)
        self._sweep_after_takeover = False  # taking the lease at start is not a takeover

    def _run_due_work(self) -> None:
        if self.outage is not None and self.outage.due(time.monotonic()):
            self._retry_after_outage()
        if self._sweep_after_takeover and self.outage is None:
            self._sweep_after_takeover = False
            # Same rule as at start: an interval service sweeps now, fixed times wait for their hour.
            if self.timetable and self.timetable.sweep_interval_seconds is not None:
                self._run_job(SWEEP)
        self.scheduler.run_pending()

    def _seconds_until_next_work(self) -> float:
        if self._sweep_after_takeover and self.outage is None:
            return 0.0
        candidates = [self.tick_seconds]
        idle = self.scheduler.idle_seconds
        if idle is not None:
            candidates.append(idle)
        if self.outage is not None:
            candidates.append(self.outage.next_attempt_at - time.monotonic())
        return max(0.0, min(candidates))

    def _wait(self, seconds: float) -> None:
        if self._wake.wait(seconds):
            self._wake.clear()

    # --- jobs inside the guard -----------------------------------------------------------------

    def _run_job(self, name: str) -> None:
        """Run one job if this instance may act; never raises (the guard)."""
        if self._stop_requested():
            return
        if self.outage is not None:
            # The directory is down: the retry will tell when it is back; run this job then.
            self.outage.miss(name)
            return
        if not self._acting():
            log.debug("job_skipped_standby", job=name)
            return
        self._attempt(name)

    def _attempt(self, name: str) -> bool:
        """Run the job once; False when the directory was unavailable (an outage is then set)."""
        assert self.job is not None
        method = getattr(self.job, JOB_METHODS[name])
        started = time.monotonic()
        self._running_job = name
        self.notifier.status(f"running {name}")
        try:
            summary = method()
        except DirectoryUnavailable as error:
            self._record_outage(name, error)
            return False
        except Exception as error:
            # The guard: a bug or a refused write in one run must not end the service.
            log.exception("job_failed", job=name, error_type=type(error).__name__, error=str(error),
                          duration_seconds=round(time.monotonic() - started, 3))
            if self.metrics:
                self.metrics.record_error(name, "exception")
            return True
        finally:
            self._running_job = None
            self.notifier.status(self._status_text())
        self._record_success(name, summary, time.monotonic() - started)
        return True

    def _record_success(self, name: str, summary: JobSummary, duration: float) -> None:
        if not isinstance(summary, JobSummary):
            summary = JobSummary()  # a job without a summary still ran; nothing to count
        fields = summary.log_fields(name, duration)
        # One line per job run (the sweep itself also logs its own detailed summary);
        # polls log at info only when they did something, or the journal fills with them.
        quiet = name == ACTIVATION_POLL and not summary.changed and not summary.problems
        (log.debug if quiet else log.info)("job_finished", **fields)
        if summary.guard_tripped:
            log.warning("mass_change_guard_tripped", job=name)
        if self.metrics:
            self.metrics.record_job(name, summary, duration)

    # --- directory outages ---------------------------------------------------------------------

    def _record_outage(self, name: str, error: DirectoryUnavailable) -> None:
        assert self.timetable is not None
        now = time.monotonic()
        self.outage = record_failure(self.outage, name, now)
        timetable = self.timetable
        delay = self.outage.backoff(now, timetable.retry_initial_seconds, timetable.retry_max_seconds)
        log.warning(
            "directory_unavailable",
            job=name,
            attempt=self.outage.attempts,
            retry_in_seconds=round(delay, 3),
            error=str(error) or type(error).__name__,
        )
        if self.metrics:
            self.metrics.record_error(name, "directory_unavailable")
        self.notifier.status(f"directory unavailable; retry {self.outage.attempts + 1} in {delay:.0f}s")

    def _retry_after_outage(self) -> None:
        outage = self.outage
        assert outage is not None
        if self._stop_requested():
            return
        if not self._acting():
            # Lost the lease meanwhile: the other instance does the work; stop retrying.
            self.outage = None
            return
        if not self._attempt(outage.retry_job):
            return
        log.info(
            "directory_available",
            after_attempts=outage.attempts,
            outage_seconds=round(time.monotonic() - outage.first_failure, 3),
            missed_jobs=outage.missed_jobs,
        )
        self.outage = None
        for name in outage.missed_jobs:
            self._run_job(name)

    # --- lease -----------------------------------------------------------------------------------

    def _acting(self) -> bool:
        if self.lease is None:
            return True
        if not self.lease.holds() or self.lease.renewal_due():
            self._check_lease()
        return self.lease.holds()

    def _check_lease(self) -> None:
        """The scheduled lease job: take, renew or stand by; never raises."""
        if self.lease is None:
            return
        with self._lease_lock:
            self._last_lease_check = time.monotonic()
            held_before = self.lease.holds()
            try:
                held = self.lease.refresh()
            except Exception as error:  # the guard, as for any job
                log.exception("lease_check_error", error=str(error))
                held = self.lease.holds()
        if held != held_before:
            log.info("lease_state_changed", holds=held, holder=self.lease.me,
                     current_holder=self.lease.seen_holder)
            if held:
                self._sweep_after_takeover = True
            self.notifier.status(self._status_text())
        if self.metrics:
            self.metrics.record_lease(held, self.lease.seen_holder)

    # --- configuration ----------------------------------------------------------------------------

    def _apply(self, config: Config, first: bool) -> None:
        """Build everything a configuration needs, then switch to it; on error the old one stays."""
        settings = config.service
        timetable = self.timetable_for(config)
        job = self.make_job(config)

        # Rebuild the lease keeper and the HTTP server only when their settings change, so a
        # reload keeps a held lease and does not drop a scrape.
        lease_key = (settings.lease, timetable.lease_period_seconds)
        lease = self.lease
        if first or lease_key != self._lease_key:
            lease = None
            if settings.lease.enabled:
                if self.make_lease_store is None:
                    raise ConfigError(config.source, [
                        "at 'service.lease.enabled': this program was started without a lease store"
                    ])
                lease = LeaseKeeper(
                    self.make_lease_store(config),
                    settings.lease.holder,
                    timedelta(seconds=timetable.lease_period_seconds),
                    clock=self.lease_clock,
                )

        # The schedule too is built before the switch: a zone it cannot resolve leaves the old one in force.
        scheduler = None
        if timetable != self.timetable or lease is not self.lease:
            try:
                scheduler = self._new_scheduler(timetable, lease)
            except Exception:
                if job is not self.job:
                    close_job(job)
                raise

        if self.metrics is None:
            self.metrics = Metrics(config.local_authority.code)
        server = self.metrics_server
        if first or settings.metrics != self._metrics_settings:
            server = None
            if settings.metrics.listen is not None:
                listen, allow = settings.metrics.listen, settings.metrics.allow_non_loopback
                try:
                    server = MetricsServer(self.metrics, listen, allow)
                except Exception:
                    if job is not self.job:
                        close_job(job)
                    raise

        # Everything built: switch over (nothing below can fail on the new configuration's account).
        old_job, old_lease, old_server = self.job, self.lease, self.metrics_server
        self.config, self.job = config, job
        self._lease_key, self._metrics_settings = lease_key, settings.metrics
        if first or lease is not old_lease:
            if old_lease is not None:
                old_lease.release()
            self.lease = lease
            self.metrics.record_lease(lease is None, None)
        if server is not old_server:
            if old_server is not None:
                old_server.close()
            self.metrics_server = server
        if old_job is not None and old_job is not job:
            close_job(old_job)
        if scheduler is not None:
            self.timetable, self.scheduler = timetable, scheduler
        self.metrics.expect_sweeps_every(timetable.longest_sweep_gap_seconds)

    def _new_scheduler(self, timetable: Timetable, lease: LeaseKeeper | None) -> schedule.Scheduler:
        return build_scheduler(timetable, self._run_job, self._check_lease if lease is not None else None)

    def _reload(self) -> None:
        self._reload_signal = False
        self.notifier.reloading()
        log.info("config_reload_requested")
        old_source = self.config.source if self.config else None
        try:
            self._apply(self.load_config(), first=False)
        except ConfigError as error:
            log.error("config_rejected", source=error.source, problems=error.problems, kept=old_source)
        except Exception as error:
            log.exception("config_reload_failed", error=str(error), kept=old_source)
        else:
            log.info("config_reloaded", source=self.config.source if self.config else None)
        if self.on_reload is not None and self.config is not None:
            try:
                self.on_reload(self.config)
            except Exception as error:
                log.exception("reload_hook_failed", error=str(error))
        self.notifier.ready(self._status_text())

    # --- systemd, signals, shutdown -------------------------------------------------------------

    def _pet_watchdog(self) -> None:
        interval = self.notifier.watchdog_seconds
        now = time.monotonic()
        if interval is not None and now - self._last_watchdog >= interval / 4:
            self._last_watchdog = now
            self.notifier.watchdog()

    def _status_text(self) -> str:
        if self.outage is not None:
            return f"directory unavailable; {self.outage.attempts} failed attempt(s)"
        if self.lease is not None and not self.lease.holds():
            return f"standby; lease held by {self.lease.seen_holder or 'nobody'}"
        next_run = self.scheduler.next_run
        return f"idle; next job at {next_run:%Y-%m-%d %H:%M:%S}" if next_run else "idle"

    def _install_handlers(self) -> None:
        if not self.install_signal_handlers or threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in (
            (signal.SIGTERM, self._on_stop_signal),
            (signal.SIGINT, self._on_stop_signal),
            (signal.SIGHUP, self._on_reload_signal),
        ):
            self._previous_handlers[signum] = signal.signal(signum, handler)

    def _shut_down(self) -> None:
        if self._stop_signal is not None:
            reason = signal.Signals(self._stop_signal).name
        else:
            reason = "requested" if self.config is not None else "start_failed"
        self.notifier.stopping("stopping")
        if self.lease is not None:
            self.lease.release()
        if self.metrics_server is not None:
            self.metrics_server.close()
            self.metrics_server = None
        if self.job is not None:
            close_job(self.job)
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
        log.info("service_stopped", reason=reason)

