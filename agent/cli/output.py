"""What every command shares for output: stdout lines, row formats, the audit trail of one command."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.session import WritingSession, open_directory, writing_session
from agent.actions.writer import DEFAULT_WAIT_SECONDS
from agent.cli import views
from agent.settings.config import Config


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")

def print_rows(args: argparse.Namespace, rows: list[dict[str, Any]], human_keys: Sequence[str],
               heading: str | None = None, csv_keys: Sequence[str] = views.ROW_KEYS) -> None:
    if args.json:
        emit(views.to_json(rows))
    elif getattr(args, "csv", False):
        emit(views.to_csv(rows, csv_keys))
    else:
        if heading:
            emit(heading)
        emit(views.table(rows, human_keys) if rows else "(none)")

@contextlib.contextmanager
def audit_trail(config: Config) -> Iterator[AuditTrail]:
    """The audit trail of one command, closed when it ends."""
    audit = AuditTrail(config.logging.audit_file)
    try:
        yield audit
    finally:
        audit.close()


@contextlib.contextmanager
def session(config: Config, now: datetime, *, bulk: bool, dry_run: bool = False,
            wait_seconds: float | None = None) -> Iterator[WritingSession]:
    """A command's audit trail and directory: for a command that may write, proven, locked and
    settled first (agent.actions.session.writing_session); a dry run only opens both."""
    with audit_trail(config) as audit:
        if dry_run:
            with open_directory(config) as directory:
                yield WritingSession(audit, directory, _NO_LOCK, [])
            return
        with writing_session(config, audit, now, bulk=bulk,
                             wait_seconds=DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
                             ) as opened:
            yield opened


class _NoLock:
    def should_stop(self) -> bool:
        return False

    def release(self) -> None:
        pass


_NO_LOCK: Any = _NoLock()


def plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
