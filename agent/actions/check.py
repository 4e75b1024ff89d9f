"""`check-config`'s look at the directory: connect, bind, and list what the agent needs but misses."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.actions.lookup import learner_identities
from agent.actions.session import open_directory
from agent.core.policy import candidate_criteria
from agent.directory.inspect import index_warnings, missing_capabilities
from agent.settings.config import Config
from agent.settings.notifications import NotificationSettings


@dataclass(frozen=True)
class DirectoryCheck:
    """`gaps` stop the agent from working (exit 1); `warnings` only make it slow or fragile."""

    gaps: list[str]
    warnings: list[str]


def check_directory(config: Config, now: datetime | None = None) -> DirectoryCheck:
    """Bind as configured (DirectoryUnavailable when that fails) and return the gaps found:
    schema attributes, sign-in tracking, rights, and an audit file that cannot be written (empty
    when everything is there); and warnings: the sweep's candidate search (at `now`) not served
    by an index."""
    gaps = check_audit_file(config)
    with open_directory(config) as directory:
        warnings: list[str] = []
        for gap in missing_capabilities(directory):
            # hwbReminderSent (issue 14) is needed only to send reminders: without an SMTP server
            # configured, a schema loaded before it is a warning, not a gap.
            reminders = f"attribute {directory.mapper.attribute('reminders_sent')!r} "
            if gap.startswith(reminders) and not config.notifications.enabled:
                warnings.append(f"{gap} (needed only for reminders, notifications.host)")
            else:
                gaps.append(gap)
        if not gaps:
            when = now or datetime.now(UTC)
            criterion = candidate_criteria(when, config.policy, learner_identities(directory))
            warnings += index_warnings(directory, directory.account_filter(criterion))
        return DirectoryCheck(gaps, warnings)


def check_audit_file(config: Config) -> list[str]:
    """The audit file must be writable before any command writes (C-6, issue 11): checked without
    creating it (its folder must then be writable)."""
    path = config.logging.audit_file
    if path is None:
        return []
    if path.exists():
        if path.is_dir():
            return [f"audit file {path}: is a directory (logging.audit_file)"]
        if not os.access(path, os.W_OK):
            return [f"audit file {path}: not writable by this user (logging.audit_file)"]
        return []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return [f"audit file {path}: cannot be created, {folder} is not writable (logging.audit_file)"]
    return []


def check_notifications(config: Config, probe: Callable[[NotificationSettings], list[str]]) -> list[str]:
    """The SMTP server of the reminders (issue 14), when one is configured: `probe` (the mail face's)
    connects, says EHLO, STARTTLS and logs in as configured; what failed, named by its YAML keys."""
    if not config.notifications.enabled:
        return []
    return [f"{failure} (notifications.host, notifications.tls, notifications.credential_file)"
            for failure in probe(config.notifications)]
