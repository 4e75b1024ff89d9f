"""`check-config`'s look at the directory: connect, bind, and list what the agent needs but misses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.actions.lookup import learner_identities
from agent.actions.session import open_directory
from agent.core.policy import candidate_criteria
from agent.directory.inspect import index_warnings, missing_capabilities
from agent.directory.national import national_directory
from agent.settings.config import Config


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
        gaps += missing_capabilities(directory)
        national = national_directory(directory)
        if national is not None:  # issue 15: transfers need the national subtree readable
            problem = national.readable()
            if problem is not None:
                gaps.append(problem)
        warnings: list[str] = []
        if not gaps:
            when = now or datetime.now(UTC)
            criterion = candidate_criteria(when, config.policy, learner_identities(directory))
            warnings = index_warnings(directory, directory.account_filter(criterion))
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
