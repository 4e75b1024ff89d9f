"""`import-mis`: MIS provisioning from a OneRoster 1.1 package (MIS-1, MIS-2, MIS-3)."""

from __future__ import annotations

import argparse
import sys

from agent.actions.mis.apply import MIS_ACTOR, ImportReport, import_feed, with_feed_date
from agent.actions.mis.org_memory import read_package, recall, remember
from agent.cli import views
from agent.cli.output import emit, pasteable, session
from agent.core.clock import Clock
from agent.core.errors import ExitCode, FeedError
from agent.core.mis.report import plan_lines
from agent.settings.config import Config


def cmd_import_mis(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    """Exit 2: the package is unusable (nothing written); 1: a write was refused (the rest applied);
    4: the guard held something not confirmed (the rest applied); else 0."""
    try:
        feed = read_package(args.path, config)
    except FeedError as error:
        print(f"hwb-agent: import-mis {args.path}: {error} (nothing was written)", file=sys.stderr)
        return ExitCode.USAGE
    feed = with_feed_date(feed, args.feed_date)
    now = clock()
    with session(config, now, bulk=True, dry_run=args.dry_run, wait_seconds=args.wait) as opened:
        report = import_feed(opened.directory, config, opened.audit, feed, now, dry_run=args.dry_run,
                             confirm=args.confirm_mass_change)
        if not args.dry_run:
            # Re-read under the lease: what another import stored since is kept.
            report.orgs_remembered = remember(opened.directory, config.mis, opened.audit,
                                              recall(opened.directory, config.mis), feed, now, MIS_ACTOR)
    if args.json:
        emit(views.to_json(report.as_json()))
    else:
        emit(pasteable(args, render_import(report, config)))
    if report.failed:
        print(f"hwb-agent: {len(report.errors)} writes refused; the rest was applied", file=sys.stderr)
        return ExitCode.FAILED
    if report.held:
        print(f"hwb-agent: {report.guard_message()}", file=sys.stderr)
        return ExitCode.GUARD
    return ExitCode.OK


def render_import(report: ImportReport, config: Config) -> str:
    feed, plan = report.feed, report.plan
    mode = "dry run (nothing changed)" if report.dry_run else "applied"
    lines = [f"MIS import of {feed.location} ({feed.users_mode.value} users) for"
             f" {config.local_authority.name} ({config.local_authority.code}): {mode}"]
    lines += plan_lines(plan)
    if report.containers_created:
        lines.append("created containers: " + ", ".join(report.containers_created))
    if report.orgs_remembered is not None:
        memory = report.orgs_remembered
        lines.append(f"org registry {memory.dn}: {memory.total} organisations remembered"
                     f" ({len(memory.added)} added, {len(memory.changed)} changed,"
                     f" {len(memory.removed)} withdrawn)")
    for enabled in report.enabled:
        lines.append(f"enable  {enabled.rule:<5} {enabled.uid:<14} {enabled.detail}")
    for flag in report.flags:
        lines.append(f"flagged {flag.rule:<5} {flag.uid:<14} {flag.detail}")
    for error in report.errors:
        where = f" [{error.file} row {error.row}]" if error.row else ""
        lines.append(f"FAILED  {error.action} {error.uid or error.dn}{where}: {error.detail}")
    if not report.dry_run:
        operations = report.operations
        lines.append(f"{len(report.applied)} changes applied, {len(report.enabled)} re-enabled,"
                     f" {len(report.errors)} failed; {operations.get('adds', 0)} adds,"
                     f" {operations.get('modifies', 0)} modifies")
    if report.held:
        lines.append(report.guard_message())
    return "\n".join(lines)
