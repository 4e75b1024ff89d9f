"""The administrators' operations: create (NM-1), extend (NM-6, NM-9), activate (NM-5),
service-desk reactivation (MIS-4), activation requests (C-1)."""

from __future__ import annotations

import argparse

from agent.actions import activate, create, extend, outcome, requests
from agent.cli import views
from agent.cli.output import emit, pasteable, plural, session
from agent.core.clock import Clock
from agent.core.errors import ExitCode, LikelyDuplicate, UsageError
from agent.core.model import Duration, NonMisType, Role
from agent.core.operations import NewAccount
from agent.settings.config import Config


def _report(args: argparse.Namespace, result: outcome.Result, done: str) -> int:
    if getattr(args, "json", False):
        emit(views.to_json(result.as_json()))
    elif result.changed:
        emit(pasteable(args, f"{done} {result.uid} ({result.dn}): {result.detail} [{result.rule}]"))
    else:
        emit(pasteable(args, f"unchanged {result.uid}: {result.detail} [{result.rule}]"))
    return ExitCode.OK

def cmd_create(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    request = NewAccount(
        non_mis_type=NonMisType(args.type), given_name=args.given_name, surname=args.surname,
        mail=args.mail, sponsor=args.sponsor, duration=Duration(args.duration),
        role=Role(args.role) if args.role else None, mis_id=args.mis_id,
    )
    with session(config, clock(), bulk=False) as opened:
        audit, directory = opened.audit, opened.directory
        try:
            result = create.create_account(directory, config, audit, clock(), request, by=args.by,
                                           allow_duplicate=args.allow_duplicate)
        except LikelyDuplicate as refusal:
            raise LikelyDuplicate(f"{refusal}; pass --allow-duplicate to create another on"
                                  " purpose") from None
    return _report(args, result, "created")

def cmd_extend(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    if args.from_file is not None:
        if args.uid:
            raise UsageError("give either a UID or --from-file, not both")
        with session(config, clock(), bulk=False) as opened:
            audit, directory = opened.audit, opened.directory
            outcomes = extend.extend_from_file(
                directory, config, audit, clock(), args.from_file, args.by,
                default=Duration(args.duration) if args.duration else None,
                allow_shorten=args.allow_shorten)
        rows = [vars(outcome) for outcome in outcomes]
        if args.json:
            emit(views.to_json(rows))
        else:
            tally = {name: sum(1 for row in rows if row["outcome"] == name)
                     for name in ("extended", "unchanged", "refused", "error")}
            emit(f"{len(rows)} rows: " + ", ".join(f"{count} {name}" for name, count in tally.items()))
            if rows:
                emit(pasteable(args, views.table(rows, ("line", "uid", "duration", "outcome", "detail"))))
        # Any row refused or in error: the run failed (exit 1), with the result of every row above.
        failed = any(row["outcome"] in ("refused", "error") for row in rows)
        return ExitCode.FAILED if failed else ExitCode.OK
    if not args.uid or not args.duration:
        raise UsageError("extend needs UID --duration D (or --from-file FILE)")
    with session(config, clock(), bulk=False) as opened:
        audit, directory = opened.audit, opened.directory
        result = extend.extend_account(directory, config, audit, clock(), args.uid,
                                      Duration(args.duration), args.by, allow_shorten=args.allow_shorten)
    return _report(args, result, "extended")

def cmd_activate(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    with session(config, clock(), bulk=False) as opened:
        audit, directory = opened.audit, opened.directory
        result = activate.activate_account(directory, config, audit, clock(), args.uid, args.by,
                                        Duration(args.duration) if args.duration else None)
    return _report(args, result, "activated" if result.event == "account_reactivated" else "updated")

def cmd_service_desk(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    with session(config, clock(), bulk=False) as opened:
        audit, directory = opened.audit, opened.directory
        result = activate.service_desk_reactivate(directory, config, audit, clock(), args.uid, args.by,
                                               args.ticket)
    return _report(args, result, "reactivated")

def cmd_request_activation(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    with session(config, clock(), bulk=False) as opened:
        audit, directory = opened.audit, opened.directory
        result = requests.request_activation(directory, config, audit, clock(), args.uid, args.by,
                                             Duration(args.duration) if args.duration else None)
    emit(pasteable(args, f"{result.detail} (C-1), or now with `hwb-agent requests`"))
    return ExitCode.OK


def cmd_requests(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    now = clock()
    with session(config, now, bulk=True, dry_run=args.dry_run, wait_seconds=args.wait) as opened:
        summary = requests.honour_activation_requests(opened.directory, config, opened.audit, now,
                                                      opened.should_stop, dry_run=args.dry_run)
        refused = [requests.refusal_row(account) for account in requests.refused_requests(opened.directory)]
    if args.json:
        emit(views.to_json({**summary.as_json(), "refused": refused}))
        return ExitCode.OK
    counts = summary.counts
    emit(f"{summary.found} pending activation {plural(summary.found, 'request', 'requests')}"
         f"{' (dry run: nothing changed)' if summary.dry_run else ''}: "
         + ", ".join(f"{counts[name]} {name}" for name in ("activated", "extended", "unchanged",
                                                           "refused", "skipped", "errors")))
    if summary.rows:
        emit(pasteable(args, views.table(summary.rows, ("outcome", "rule", "uid", "requested_by", "detail"))))
    if refused:
        emit(f"{len(refused)} refused activation {plural(len(refused), 'request', 'requests')}"
             " (no new request since; the portal shows the reason):")
        emit(views.table(refused, ("refused_at", "rule", "uid", "reason")))
    return ExitCode.OK
