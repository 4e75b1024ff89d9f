"""The real work of `hwb-agent run`: sweeps, activation-request polls and reminders to sponsors
(issue 14, on `schedule.remind`) on the directory.

Adapts agent.actions.sweep and agent.actions.requests to the service's `Job`
contract (agent.service.jobs). A routine sweep reads only candidate accounts; once a day
(and at start) it reads everything, which also reports unreadable entries
(C-7) and refreshes the account gauges. A connection is kept between jobs and
dropped on any outage, so the next attempt reconnects. The embedded demo
directory is reopened for every job, so changes made by other commands (which
save to its state file) are seen.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from agent.actions.audit import AuditTrail
from agent.actions.lease_store_factory import Directory
from agent.actions.reminders import remind
from agent.actions.requests import honour_activation_requests
from agent.actions.session import open_directory
from agent.actions.sweep import settle_unconfirmed, sweep
from agent.actions.writeahead import settle_intents
from agent.core.changes import Unconfirmed, UnconfirmedWrite
from agent.core.errors import DirectoryUnavailable
from agent.logs import get_logger
from agent.notify.message import build_message
from agent.notify.smtp import SmtpSender
from agent.service.jobs import JobSummary, StopCheck
from agent.settings.config import Config

FULL_SWEEP_EVERY = timedelta(hours=24)
log = get_logger("hwb-agent.service.lifecycle_job")


def _now() -> datetime:
    return datetime.now(UTC)


class LifecycleJob:
    def __init__(self, config: Config, should_stop: StopCheck, audit: AuditTrail,
                 clock: Callable[[], datetime] = _now) -> None:
        self.config = config
        self.should_stop = should_stop
        self.audit = audit
        self.clock = clock
        self._directory: Directory | None = None
        # The lease store shares this job's connection. Re-entrant: a long sweep renews the lease
        # from its own thread (should_stop -> lease check -> lease_directory) while holding it.
        self._lock = threading.RLock()
        self._last_full: datetime | None = None
        # Writes whose reply an outage swallowed; settled (audited or forgotten) on reconnecting.
        self._unconfirmed: list[Unconfirmed] = []
        # Intents a killed writer left without an outcome: settled once, on the first connection.
        self._intents_settled = False

    # --- the connection ------------------------------------------------------------------

    def directory(self) -> Directory:
        if self._directory is None:
            self._directory = open_directory(self.config)
        return self._directory

    def _drop(self) -> None:
        if self._directory is not None:
            self._directory.close()
            self._directory = None

    def _with_directory(self, work: Callable[[Directory], JobSummary]) -> JobSummary:
        with self._lock:
            try:
                directory = self.directory()
                if not self._intents_settled:
                    settle_intents(directory, self.audit, self.clock())
                    self._intents_settled = True
                settle_unconfirmed(directory, self.audit, self._unconfirmed)
                return work(directory)
            except DirectoryUnavailable as error:
                if isinstance(error, UnconfirmedWrite):
                    self._unconfirmed.extend(error.unconfirmed)
                self._drop()
                raise
            finally:
                if self.config.directory.is_mock:
                    self._drop()

    def lease_directory(self) -> Directory:
        """The bound directory for the lease store, which shares this job's connection
        (reconnects after an outage; agent.actions.lease_store_factory)."""
        with self._lock:
            return self.directory()

    # --- the jobs ------------------------------------------------------------------------

    def sweep(self) -> JobSummary:
        def work(directory: Directory) -> JobSummary:
            now = self.clock()
            full = self._last_full is None or now - self._last_full >= FULL_SWEEP_EVERY
            report = sweep(directory, self.config, self.audit, now, full=full, should_stop=self.should_stop)
            if full and not report.stopped:
                self._last_full = now
            changes = Counter((row.rule or "", row.action) for row in report.actions)
            for request in report.requests:
                if request.outcome in ("activated", "extended"):
                    changes[(request.rule or "", request.outcome)] += 1
            return JobSummary(
                scanned=report.scanned,
                changes=dict(changes),
                # Not after a stop: a full count re-reads every account, and the service is leaving.
                accounts=self._account_states(directory) if full and not report.stopped else None,
                problems=len(report.errors),
                guard_tripped=report.guard.tripped,
                interrupted=report.stopped,
            )

        return self._with_directory(work)

    def poll_activation_requests(self) -> JobSummary:
        def work(directory: Directory) -> JobSummary:
            summary = honour_activation_requests(directory, self.config, self.audit, self.clock(),
                                                 self.should_stop)
            changes = Counter((row.rule or "", row.outcome) for row in summary.rows
                              if row.outcome in ("activated", "extended"))
            return JobSummary(scanned=summary.found, changes=dict(changes),
                              problems=sum(1 for row in summary.rows if row.outcome == "errors"),
                              interrupted=summary.stopped)

        return self._with_directory(work)

    def remind(self) -> JobSummary:
        """Reminders to sponsors (issue 14): a digest each, once only; the SMTP server down is
        logged and nothing is recorded as sent, so tomorrow's run (or a restart) retries."""
        def work(directory: Directory) -> JobSummary:
            now = self.clock()
            render = functools.partial(build_message, config=self.config, now=now)
            with SmtpSender(self.config.notifications, render) as sender:
                report = remind(directory, self.config, self.audit, now, sender=sender)
            (log.warning if report.failed else log.info)(
                "reminders_finished", sent=report.count("sent"), failed=report.count("failed"),
                skipped=report.count("skipped"), recipient_problems=len(report.problems),
                claimed_elsewhere=len(report.claimed_elsewhere), error=report.error)
            unsent = report.count("failed") + report.count("skipped")
            return JobSummary(scanned=report.scanned, problems=unsent + len(report.problems))

        return self._with_directory(work)

    def _account_states(self, directory: Directory) -> dict[tuple[str, str], int]:
        tally: Counter[tuple[str, str]] = Counter()
        for account in directory.accounts(fields=("category",)):
            category = account.category.value if account.category else "unknown"
            tally[(category, "enabled" if account.enabled else "disabled")] += 1
        return dict(tally)

    def close(self) -> None:
        with self._lock:
            self._drop()

