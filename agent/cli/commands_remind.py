"""`remind`: tell sponsors by email before their accounts expire or are deleted (issue 14; NM-8,
NM-7, MIS-5). `--dry-run` prints the digests and sends and records nothing; `--to ADDRESS` (only with
--dry-run) sends one digest to that address, or prints it when no SMTP server is configured."""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import datetime
from email.utils import parseaddr

from agent.actions.reminders import RemindReport, remind
from agent.cli import views
from agent.cli.output import emit, plural, session
from agent.core.clock import Clock
from agent.core.errors import ExitCode, UsageError
from agent.notify.message import build_message
from agent.notify.smtp import SmtpSender
from agent.settings.config import Config


def cmd_remind(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    if args.to and not args.dry_run:
        raise UsageError("--to sends one test digest: use it with --dry-run (nothing is recorded)")
    if args.to and not _looks_like_an_address(args.to):
        raise UsageError(f"--to: expected one mail address such as me@example.org, got {args.to!r}")
    notifications = config.notifications
    if not args.dry_run and not notifications.enabled:
        raise UsageError("no SMTP server is configured (notifications.host): nothing can be sent;"
                         " `remind --dry-run` prints what would go")
    for warning in notifications.warnings:  # on stderr: stdout may be --json
        print(f"hwb-agent: WARNING: {warning}", file=sys.stderr)
    now = clock()
    render = functools.partial(build_message, config=config, now=now)
    sends = notifications.enabled and (args.to or not args.dry_run)
    sender = SmtpSender(notifications, render) if sends else None
    try:
        with session(config, now, bulk=True, dry_run=args.dry_run, wait_seconds=args.wait) as opened:
            report = remind(opened.directory, config, opened.audit, now, sender=sender,
                            dry_run=args.dry_run, test_address=args.to)
    finally:
        if sender is not None:
            sender.close()
    if args.json:
        views.write_json(report.as_json(), sys.stdout)
    else:
        emit(render_report(report, config, now))
    if report.failed:
        print(f"hwb-agent: {failure_message(report)}", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK


def _looks_like_an_address(text: str) -> bool:
    name, address = parseaddr(text)
    local, _, domain = address.rpartition("@")
    return bool(local and "." in domain and " " not in address)


def failure_message(report: RemindReport) -> str:
    failed = [item for item in report.digests if item.status in ("failed", "skipped")]
    what = (f"{len(failed)} {plural(len(failed), 'digest was', 'digests were')} not sent and"
            " not recorded as sent; the next run retries")
    why = report.error if report.error else failed[0].detail
    return f"{why.rstrip('.')}: {what}"


def render_report(report: RemindReport, config: Config, now: datetime) -> str:
    authority = config.local_authority
    mode = "dry run (nothing sent or recorded)" if report.dry_run else "sent"
    reminders = sum(len(item.digest.entries) for item in report.digests)
    lines = [f"Reminders to sponsors of {authority.name} ({authority.code}) as of"
             f" {now.astimezone(config.policy.timezone):%Y-%m-%d %H:%M %Z}: {mode}",
             f"read {report.scanned} candidate accounts; {len(report.digests)}"
             f" {plural(len(report.digests), 'digest', 'digests')} ({reminders}"
             f" {plural(reminders, 'reminder', 'reminders')}) [NM-8, NM-7, MIS-5]"]
    if not report.dry_run:
        lines.append(f"sent {report.count('sent')}, failed {report.count('failed')},"
                     f" skipped {report.count('skipped')}; claimed by another run:"
                     f" {len(report.claimed_elsewhere)}")
    for item in report.digests:
        digest = item.digest
        lines += ["", f"=== {item.status}: to {digest.recipient} (sponsor {digest.sponsor}),"
                      f" {len(digest.entries)} {plural(len(digest.entries), 'reminder', 'reminders')}"
                      + (f" - {item.detail}" if item.detail else "") + " ==="]
        if item.status != "test sent" and report.dry_run:
            message = build_message(digest, config, now)
            lines += [f"Subject: {message['Subject']}", ""]
            text = message.get_body(("plain",))
            lines.append(text.get_content().rstrip("\n") if text is not None else "")
    if report.problems:
        lines += ["", "Sponsors who cannot be mailed (per account):",
                  views.table(report.problems, ("uid", "sponsor", "problem", "detail", "fallback"))]
    if report.unreleased:
        lines += ["", "Claimed but not sent, and the claim could not be removed (will not be resent):",
                  *[f"  {item}" for item in report.unreleased]]
    return "\n".join(lines)
