"""`check-config`'s look at the directory: connect, bind, and list what the agent needs but misses."""

from __future__ import annotations

import os

from agent.actions.session import open_directory
from agent.directory.inspect import missing_capabilities
from agent.settings.config import Config


def check_directory(config: Config) -> list[str]:
    """Bind as configured (DirectoryUnavailable when that fails) and return the gaps found:
    schema attributes, sign-in tracking, rights, and an audit file that cannot be written (empty
    when everything is there)."""
    gaps = check_audit_file(config)
    with open_directory(config) as directory:
        return gaps + missing_capabilities(directory)


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
