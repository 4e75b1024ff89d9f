"""What every command shares for output: stdout lines, row formats, the audit trail of one command."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from agent.actions.audit import AuditTrail
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


def plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
