"""What every command shares for output: stdout lines, row formats, the audit trail of one command."""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.session import WritingSession, open_directory, writing_session
from agent.actions.writer import DEFAULT_WAIT_SECONDS
from agent.cli import help_text, views
from agent.core.model import Duration
from agent.settings.config import Config

# "1m, 3m, 6m or eoy": the durations in words, for suggestions (a `|` would be a shell pipe if pasted).
DURATION_WORDS = ", ".join(item.value for item in list(Duration)[:-1]) + f" or {list(Duration)[-1].value}"
# The duration a suggested command line shows (a concrete value, so that it can be pasted as it is).
SUGGESTED_DURATION = Duration("3m").value

_SUGGESTED = re.compile(
    r"\bhwb-agent (?=(?:" + "|".join(re.escape(name) for name in
                                     sorted(help_text.COMMANDS, key=len, reverse=True)) + r")\b)")
_CHOICES = re.compile(r"--duration (?:[0-9a-z]+\|)+[0-9a-z]+")


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")

def suggest(args: argparse.Namespace, command_line: str) -> str:
    """`hwb-agent COMMAND ...` as the user can paste it: with the `--config PATH` they gave (none when
    the configuration came from $HWB_AGENT_CONFIG, which the pasted line then also reads)."""
    return pasteable(args, f"hwb-agent {command_line}")


def pasteable(args: argparse.Namespace, text: str) -> str:
    """Every suggested `hwb-agent COMMAND` in `text` (also those of the core's messages) with the
    `--config PATH` given, and a duration's choices `1m|3m|6m|eoy` as one value and the choices in
    words."""
    text = _CHOICES.sub(f"--duration {SUGGESTED_DURATION} (the choices: {DURATION_WORDS})", text)
    path = getattr(args, "config", None)
    if not path:
        return text
    return _SUGGESTED.sub(f"hwb-agent --config {shlex.quote(str(path))} ", text)


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
