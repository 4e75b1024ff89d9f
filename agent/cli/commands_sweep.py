"""`check-config` and `sweep`: one pass of every rule, or a forecast (`--as-of`)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from agent.actions.check import check_directory, check_notifications
from agent.actions.sweep import SweepReport, sweep
from agent.cli import views
from agent.cli.output import emit, pasteable, plural, session
from agent.core.clock import Clock
from agent.core.dates import start_of_day
from agent.core.errors import ExitCode, UsageError
from agent.notify.smtp import probe
from agent.settings.config import Config


def cmd_check_config(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    emit(f"configuration {config.source}: valid")
    emit(f"local authority {config.local_authority.code} ({config.local_authority.name}),"
         f" flavour {config.directory.flavour.value}, base DN {config.directory.base_dn}")
    for warning in config.directory.warnings:
        emit(f"WARNING: {warning}")
    identity = config.directory.bind_dn or "(SASL EXTERNAL / anonymous)"
    checked = check_directory(config, clock())
    emit(f"connected to {config.directory.url} and bound as {identity}")
    for gap in checked.gaps:
        emit(f"MISSING: {gap}")
    for warning in checked.warnings:
        emit(f"WARNING: {warning}")
    # Reminders (issue 14): the SMTP server as configured.
    for warning in config.notifications.warnings:
        emit(f"WARNING: {warning}")
    smtp_gaps = check_notifications(config, probe)
    notifications = config.notifications
    if notifications.enabled and not smtp_gaps:
        login = f", logged in as {notifications.login.user}" if notifications.login else ""
        emit(f"connected to SMTP server {notifications.host}:{notifications.port}"
             f" ({notifications.tls}){login}")
    for gap in smtp_gaps:
        emit(f"MISSING: {gap}")
    if checked.gaps or smtp_gaps:
        return ExitCode.FAILED
    emit("everything the agent needs is there" + (" (see the warnings)" if checked.warnings else ""))
    return ExitCode.OK


def sweep_time(args: argparse.Namespace, config: Config, clock: Clock) -> datetime:
    """Now, or the forecast's date (`--as-of`, only with `--dry-run`)."""
    if args.as_of is None:
        return clock()
    if not args.dry_run:
        raise UsageError("--as-of is a forecast: use it with --dry-run")
    # Midday of that date in the policy zone: "today" is then that date whatever the offset.
    return start_of_day(args.as_of, config.policy.timezone) + timedelta(hours=12)

def cmd_sweep(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    now = sweep_time(args, config, clock)
    full = args.full or args.as_of is not None  # a forecast reads everything
    with session(config, clock(), bulk=True, dry_run=args.dry_run, wait_seconds=args.wait) as opened:
        report = sweep(opened.directory, config, opened.audit, now, dry_run=args.dry_run, full=full,
                       confirm_mass_change=args.confirm_mass_change, should_stop=opened.should_stop)
    if args.json:
        views.write_json(report.as_json(), sys.stdout)
    else:
        emit(pasteable(args, render_sweep(report, config)))
    if report.guard.tripped:
        print(f"hwb-agent: {report.guard.message}", file=sys.stderr)
        return ExitCode.GUARD
    return ExitCode.OK

def render_sweep(report: SweepReport, config: Config) -> str:
    counts = report.counts
    mode = "dry run (nothing changed)" if report.dry_run else "applied"
    lines = [
        f"Sweep of {config.local_authority.name} ({config.local_authority.code})"
        f" as of {report.as_of.astimezone(config.policy.timezone):%Y-%m-%d %H:%M %Z}: {mode}",
        f"read {report.scanned} {'accounts' if report.full else 'candidate accounts'};"
        f" {counts['disable']} to disable, {counts['enable']} to enable, {counts['purge']} to purge;"
        f" {counts['flags']} flagged, {counts['errors']} {plural(counts['errors'], 'error', 'errors')},"
        f" {counts['held']} held by the guard",
    ]
    if report.actions:
        lines += ["", views.table(report.actions, ("action", "rule", "uid", "detail"))]
    if report.flags:
        lines += ["", "Flagged (reported, not changed):",
                  views.table(report.flags, ("rule", "uid", "detail"))]
    if report.errors:
        lines += ["", "Errors (left unchanged):",
                  views.table(report.errors, ("rule", "uid", "attribute", "value", "detail"))]
    if report.held:
        lines += ["", "Held by the mass-change guard (C-8):",
                  views.table(report.held, ("action", "rule", "uid", "detail"))]
    if report.requests:
        lines += ["", "Activation requests (C-1):",
                  views.table(report.requests, ("outcome", "rule", "uid", "requested_by", "detail"))]
    if report.guard.tripped or report.guard.confirmed:
        lines += ["", report.guard.message]
    return "\n".join(lines)
