"""The `hwb-agent` command line: argument parsing and output formatting only.

Exit codes (DESIGN.md): 0 done; 1 failed (directory unreachable, write
refused); 2 bad usage or configuration; 3 refused by policy; 4 the
mass-change guard stopped the run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agent import logs
from agent.actions import admin
from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import ImportReport, import_feed, with_feed_date
from agent.actions.mis.feed_reader import read_feed
from agent.actions.session import open_directory
from agent.actions.sweep import SweepReport, learner_identities, sweep
from agent.cli import views
from agent.core import criteria as c
from agent.core.changes import Change
from agent.core.dates import start_of_day
from agent.core.errors import AgentError, FeedError, UsageError
from agent.core.mis.report import plan_lines
from agent.core.model import Category, Duration, NonMisType, Role
from agent.core.operations import NewAccount, days_left
from agent.core.policy import decide
from agent.settings import config as config_module
from agent.settings.config import Config, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_GUARD = 0, 1, 2, 3, 4

Handler = Callable[[argparse.Namespace, Config], int]


def _date_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwb-agent",
        description="Apply the Hwb account lifecycle policy to an LDAP directory.",
    )
    parser.add_argument("--config", help=f"YAML configuration (default: ${config_module.ENV_CONFIG})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every change (audit events) to stderr as well")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate the file, connect, bind, report gaps")
    check.set_defaults(handler=cmd_check_config)

    run_sweep = commands.add_parser("sweep", help="one pass of every rule")
    run_sweep.add_argument("--dry-run", action="store_true", help="plan and report; change nothing")
    run_sweep.add_argument("--as-of", type=_date_argument, metavar="DATE",
                           help="forecast as of DATE (only with --dry-run)")
    run_sweep.add_argument("--full", action="store_true",
                           help="read every account, not only the candidates (also reports all bad data)")
    run_sweep.add_argument("--confirm-mass-change", action="store_true",
                           help="apply even when the mass-change guard (C-8) trips")
    run_sweep.add_argument("--json", action="store_true", help="print the report as JSON")
    run_sweep.set_defaults(handler=cmd_sweep)

    listing = commands.add_parser("list", help="accounts of this local authority")
    listing.add_argument("--category", choices=[item.value for item in Category])
    listing.add_argument("--active", choices=["Y", "N"], help="Y: enabled, N: disabled")
    listing.add_argument("--sponsor")
    _add_format_options(listing)
    listing.set_defaults(handler=cmd_list)

    show = commands.add_parser("show", help="one account: state, why, next transition")
    show.add_argument("uid")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)
    _add_admin_commands(commands)
    _add_import_mis(commands)
    return parser


DURATIONS = [item.value for item in Duration]


def _add_admin_commands(commands: Any) -> None:
    """The administrator operations of issue 3 (NM-1, NM-5, NM-6, NM-8, NM-9, MIS-4)."""
    create = commands.add_parser("create", help="new non-MIS account (NM-1, NM-2)")
    create.add_argument("--type", required=True, choices=[item.value for item in NonMisType])
    create.add_argument("--given-name", required=True)
    create.add_argument("--surname", required=True)
    create.add_argument("--mail", required=True)
    create.add_argument("--sponsor", required=True, help="the responsible administrator's id")
    create.add_argument("--duration", required=True, choices=DURATIONS)
    create.add_argument("--role", choices=[item.value for item in Role],
                        help="a role, if the person has one (learner is refused: NM-2)")
    create.add_argument("--mis-id", help="an MIS identifier, if the person has one (checked: NM-2)")
    create.add_argument("--by", help="who is creating it (default: the sponsor)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_create)

    extend = commands.add_parser("extend", help="new expiry counted from today (NM-6, NM-9)")
    extend.add_argument("uid", nargs="?")
    extend.add_argument("--duration", choices=DURATIONS,
                        help="the new duration (with --from-file: for rows without one)")
    extend.add_argument("--from-file", type=Path, metavar="FILE",
                        help="CSV with columns uid and duration (e.g. an edited `review --csv`)")
    extend.add_argument("--by", required=True, help="who is extending (recorded verbatim)")
    extend.add_argument("--allow-shorten", action="store_true",
                        help="allow the new expiry date to be earlier than the current one")
    extend.add_argument("--json", action="store_true")
    extend.set_defaults(handler=cmd_extend)

    activate = commands.add_parser("activate", help="reactivate a non-MIS account (NM-5, C-1)")
    activate.add_argument("uid")
    activate.add_argument("--by", required=True, help="who is activating (recorded verbatim)")
    activate.add_argument("--duration", choices=DURATIONS, help="also extend, in the same change (NM-6)")
    activate.add_argument("--json", action="store_true")
    activate.set_defaults(handler=cmd_activate)

    desk = commands.add_parser("service-desk-reactivate", help="reactivate a staff leaver (MIS-4)")
    desk.add_argument("uid")
    desk.add_argument("--by", required=True, help="the service desk operator (recorded verbatim)")
    desk.add_argument("--ticket", required=True, help="the service desk ticket reference")
    desk.add_argument("--json", action="store_true")
    desk.set_defaults(handler=cmd_service_desk)

    expiring = commands.add_parser("expiring", help="accounts due to expire (NM-8)")
    expiring.add_argument("--weeks", type=_weeks_argument, help="window in weeks (default: policy, 8)")
    expiring.add_argument("--sponsor")
    _add_format_options(expiring)
    expiring.set_defaults(handler=cmd_expiring)

    review = commands.add_parser("review", help="annual review of non-MIS accounts per sponsor (NM-9)")
    review.add_argument("--sponsor")
    _add_format_options(review)
    review.set_defaults(handler=cmd_review)

    run = commands.add_parser(
        "run", help="the long-running service: scheduled sweeps, activation requests within a minute")
    run.set_defaults(handler=cmd_run)

    request = commands.add_parser(
        "request-activation", help="ask for an activation as a portal would (C-1); the agent answers it")
    request.add_argument("uid")
    request.add_argument("--by", required=True, help="who asks (recorded verbatim)")
    request.add_argument("--duration", choices=[item.value for item in Duration],
                         help="extend by this duration as well (needed when the expiry has passed)")
    request.set_defaults(handler=cmd_request_activation)

    requests = commands.add_parser("requests", help="answer pending activation requests now (C-1)")
    requests.add_argument("--dry-run", action="store_true", help="report what they would do")
    requests.add_argument("--json", action="store_true")
    requests.set_defaults(handler=cmd_requests)


def _weeks_argument(text: str) -> int:
    try:
        weeks = int(text)
    except ValueError:
        weeks = -1
    if not 1 <= weeks <= 104:
        raise argparse.ArgumentTypeError(f"expected a whole number of weeks from 1 to 104, got {text!r}")
    return weeks


def _add_format_options(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="JSON for scripts")
    formats.add_argument("--csv", action="store_true", help="CSV (columns = the JSON keys)")


def now_utc() -> datetime:
    return datetime.now(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_module.load(args.config)
    except ConfigError as error:
        print(f"hwb-agent: {error}", file=sys.stderr)
        return EXIT_USAGE
    # One-shot commands print their own report; the log carries warnings unless asked for more.
    # The service (`run`) logs at the configured level.
    level = config.logging.level if args.verbose or args.command == "run" else "warning"
    # The service logs to stdout (journald, DESIGN.md); the one-shot commands keep stdout for reports.
    stream = sys.stdout if args.command == "run" else sys.stderr
    logs.configure("console" if stream.isatty() else config.logging.format, level, stream)
    try:
        return args.handler(args, config)
    except UsageError as error:
        print(f"hwb-agent: {error}", file=sys.stderr)
        return EXIT_USAGE
    except AgentError as error:
        print(f"hwb-agent: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("hwb-agent: interrupted", file=sys.stderr)
        return EXIT_FAILED


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# --- check-config ------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace, config: Config) -> int:
    emit(f"configuration {config.source}: valid")
    emit(f"local authority {config.local_authority.code} ({config.local_authority.name}),"
         f" flavour {config.directory.flavour.value}, base DN {config.directory.base_dn}")
    with open_directory(config) as directory:
        identity = config.directory.bind_dn or "(SASL EXTERNAL / anonymous)"
        emit(f"connected to {config.directory.url} and bound as {identity}")
        from agent.directory.inspect import missing_capabilities

        gaps = missing_capabilities(directory)
    for gap in gaps:
        emit(f"MISSING: {gap}")
    if gaps:
        return EXIT_FAILED
    emit("everything the agent needs is there")
    return EXIT_OK


# --- sweep -------------------------------------------------------------------------------


def sweep_time(args: argparse.Namespace, config: Config) -> datetime:
    if args.as_of is None:
        return now_utc()
    if not args.dry_run:
        raise UsageError("--as-of is a forecast: use it with --dry-run")
    # Midday of that date in the policy zone: "today" is then that date whatever the offset.
    return start_of_day(args.as_of, config.policy.timezone) + timedelta(hours=12)


def cmd_sweep(args: argparse.Namespace, config: Config) -> int:
    now = sweep_time(args, config)
    full = args.full or args.as_of is not None  # a forecast reads everything
    with audit_trail(config) as audit, open_directory(config) as directory:
        report = sweep(directory, config, audit, now, dry_run=args.dry_run, full=full,
                       confirm_mass_change=args.confirm_mass_change)
    if args.json:
        views.write_json(report.as_json(), sys.stdout)
    else:
        emit(render_sweep(report, config))
    if report.guard.tripped:
        print(f"hwb-agent: {report.guard.message}", file=sys.stderr)
        return EXIT_GUARD
    return EXIT_OK


def render_sweep(report: SweepReport, config: Config) -> str:
    counts = report.counts
    mode = "dry run (nothing changed)" if report.dry_run else "applied"
    lines = [
        f"Sweep of {config.local_authority.name} ({config.local_authority.code})"
        f" as of {report.as_of.astimezone(config.policy.timezone):%Y-%m-%d %H:%M %Z}: {mode}",
        f"read {report.scanned} {'accounts' if report.full else 'candidate accounts'};"
        f" {counts['disable']} to disable, {counts['enable']} to enable, {counts['purge']} to purge;"
        f" {counts['flags']} flagged, {counts['errors']} {_plural(counts['errors'], 'error', 'errors')},"
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
    if report.guard.tripped:
        lines += ["", report.guard.message]
    return "\n".join(lines)


# --- list / show -------------------------------------------------------------------------


def _listing_criterion(args: argparse.Namespace) -> c.Criterion | None:
    parts: list[c.Criterion] = []
    if args.category:
        parts.append(c.Equals("category", args.category))
    if args.active:
        parts.append(c.IsEnabled(args.active == "Y"))
    if args.sponsor:
        parts.append(c.Equals("sponsor", args.sponsor))
    return c.all_of(*parts) if parts else None


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


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    criterion = _listing_criterion(args)
    with open_directory(config) as directory:
        accounts = directory.accounts(criterion)
        # The mock cannot filter AD's bit flags: check the state here as well.
        rows = views.sorted_rows(
            (views.account_row(account) for account in accounts
             if args.active is None or account.enabled == (args.active == "Y")),
            # by category, then uid ("\0" sorts before any character, as the tuple would)
            key=lambda row: f"{row['category'] or ''}\0{row['uid'].lower()}",
        )
    if args.json:  # streamed: memory stays flat however many accounts there are
        views.write_json_rows(rows, sys.stdout.write)
        return EXIT_OK
    print_rows(args, list(rows), ("uid", "name", "category", "enabled", "school", "sponsor",
                                  "expiry_date", "leaving_date", "disabled_reason"))
    return EXIT_OK


find_account = admin.find_account


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    now = now_utc()
    with open_directory(config) as directory:
        account = find_account(directory, args.uid)
        identities = learner_identities(directory)
    from agent.core.policy import Context

    decision = decide(account, now, config.policy, Context(identities.covers(account)))
    row = views.show_row(account, decision)
    request = account.activation_request
    if request is not None:  # C-1: answered within a minute by the service, or by the next sweep
        row["activation_request"] = {
            "requested_by": request.requested_by,
            "requested_at": views.iso(request.requested_at),
            "duration": request.duration.value if request.duration else None,
        }
    if args.json:
        emit(views.to_json(row))
        return EXIT_OK
    emit(render_show(row, config.policy.today(now)))
    return EXIT_OK


def render_show(row: dict[str, Any], today: date | None = None) -> str:
    lines = [f"{row['name']} ({row['uid']})", f"  {'dn:':<21}{row['dn']}"]
    kind = row.get("type") or row.get("role")
    lines.append(f"  {'account:':<21}{row['category']} {kind or ''}".rstrip())
    state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason'] or 'outside the agent'})"
    lines.append(f"  {'state:':<21}{state}")
    for key in ("mail", "school", "sponsor", "leaving_date", "expiry_date", "last_sign_in", "disabled_at",
                "reactivated_at", "reactivated_by", "reactivation_ticket"):
        if row.get(key):
            lines.append(f"  {key.replace('_', ' ') + ':':<21}{row[key]}")
    why = row["why"]
    lines.append(f"  {'why:':<21}{why['detail']} [{why['rule']}]")
    if why["action_due"] != "none":
        lines.append(f"  {'due now:':<21}{why['action_due']} at the next sweep")
    upcoming = row.get("next")
    lines.append(
        f"  {'next:':<21}{upcoming['action']} on {upcoming['date']} [{upcoming['rule']}]"
        if upcoming else f"  {'next:':<21}nothing scheduled"
    )
    for problem in row.get("problems", []):
        lines.append(f"  {'PROBLEM:':<21}{problem['attribute']}={problem['value']!r}: {problem['detail']}")
    request = row.get("activation_request")
    if request:
        extension = f", with a {request['duration']} extension" if request["duration"] else ""
        lines.append(f"  {'request:':<21}activation asked by {request['requested_by']} at"
                     f" {request['requested_at']}{extension} (C-1): pending")
    lines.extend(_how_to(row, today or now_utc().date()))
    return "\n".join(lines)


def _how_to(row: dict[str, Any], today: date) -> list[str]:
    """What an administrator can do next with this account, as commands."""
    uid = row["uid"]
    if row["category"] == "non-mis" and not row["enabled"]:
        expired = row["expiry_date"] is not None and row["expiry_date"] < today.isoformat()
        if expired:
            return [f"  {'to activate:':<21}hwb-agent activate {uid} --by ID --duration 1m|3m|6m|eoy"
                    " (expiry passed: NM-5 needs an extension)"]
        return [f"  {'to activate:':<21}hwb-agent activate {uid} --by ID [--duration 1m|3m|6m|eoy]"]
    if row["category"] == "non-mis":
        return [f"  {'to extend:':<21}hwb-agent extend {uid} --duration 1m|3m|6m|eoy --by ID"]
    if row["category"] == "mis" and row.get("role") == "staff" and not row["enabled"]:
        return [f"  {'to reactivate:':<21}hwb-agent service-desk-reactivate {uid} --by ID --ticket REF"
                " (MIS-4)"]
    return []


# --- administrator operations (issue 3) --------------------------------------------------------


@contextlib.contextmanager
def audit_trail(config: Config) -> Iterator[AuditTrail]:
    """The audit trail of one command, closed when it ends."""
    audit = AuditTrail(config.logging.audit_file)
    try:
        yield audit
    finally:
        audit.close()


def _report(args: argparse.Namespace, result: admin.Result, done: str) -> int:
    if getattr(args, "json", False):
        emit(views.to_json(result.as_json()))
    elif result.changed:
        emit(f"{done} {result.uid} ({result.dn}): {result.detail} [{result.rule}]")
    else:
        emit(f"unchanged {result.uid}: {result.detail} [{result.rule}]")
    return EXIT_OK


def cmd_create(args: argparse.Namespace, config: Config) -> int:
    request = NewAccount(
        non_mis_type=NonMisType(args.type), given_name=args.given_name, surname=args.surname,
        mail=args.mail, sponsor=args.sponsor, duration=Duration(args.duration),
        role=Role(args.role) if args.role else None, mis_id=args.mis_id,
    )
    with audit_trail(config) as audit, open_directory(config) as directory:
        result = admin.create_account(directory, config, audit, now_utc(), request, by=args.by)
    return _report(args, result, "created")


def cmd_extend(args: argparse.Namespace, config: Config) -> int:
    if args.from_file is not None:
        if args.uid:
            raise UsageError("give either a UID or --from-file, not both")
        with audit_trail(config) as audit, open_directory(config) as directory:
            outcomes = admin.extend_from_file(
                directory, config, audit, now_utc(), args.from_file, args.by,
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
                emit(views.table(rows, ("line", "uid", "duration", "outcome", "detail")))
        failed = [row for row in rows if row["outcome"] in ("refused", "error")]
        if any(row["outcome"] == "error" for row in failed):
            return EXIT_USAGE
        return EXIT_REFUSED if failed else EXIT_OK
    if not args.uid or not args.duration:
        raise UsageError("extend needs UID --duration D (or --from-file FILE)")
    with audit_trail(config) as audit, open_directory(config) as directory:
        result = admin.extend_account(directory, config, audit, now_utc(), args.uid,
                                      Duration(args.duration), args.by, allow_shorten=args.allow_shorten)
    return _report(args, result, "extended")


def cmd_activate(args: argparse.Namespace, config: Config) -> int:
    with audit_trail(config) as audit, open_directory(config) as directory:
        result = admin.activate_account(directory, config, audit, now_utc(), args.uid, args.by,
                                        Duration(args.duration) if args.duration else None)
    return _report(args, result, "activated" if result.event == "account_reactivated" else "updated")


def cmd_service_desk(args: argparse.Namespace, config: Config) -> int:
    with audit_trail(config) as audit, open_directory(config) as directory:
        result = admin.service_desk_reactivate(directory, config, audit, now_utc(), args.uid, args.by,
                                               args.ticket)
    return _report(args, result, "reactivated")


EXPIRING_KEYS = (*views.ROW_KEYS, "days_left")
REVIEW_KEYS = (*views.ROW_KEYS, "duration", "days_left", "ends_by_year_end")


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def cmd_expiring(args: argparse.Namespace, config: Config) -> int:
    now = now_utc()
    with open_directory(config) as directory:
        first, last, accounts = admin.expiring_accounts(directory, config, now, weeks=args.weeks,
                                                        sponsor=args.sponsor)
    rows = []
    for account in accounts:
        row = views.account_row(account)
        row["days_left"] = days_left(account, first)
        rows.append(row)
    weeks = args.weeks or config.policy.expiring_weeks
    count = len(rows)
    banner = (f"{count} {_plural(count, 'account expires', 'accounts expire')} in the next {weeks}"
              f" {_plural(weeks, 'week', 'weeks')}"
              + (f" (sponsor {args.sponsor})" if args.sponsor else "")
              + f": expiry dates {first.isoformat()} to {last.isoformat()} [NM-8]")
    print_rows(args, rows, ("uid", "name", "type", "sponsor", "expiry_date", "days_left"),
               heading=banner, csv_keys=EXPIRING_KEYS)
    if rows and not (args.json or args.csv):
        emit("extend one: hwb-agent extend UID --duration 1m|3m|6m|eoy --by ID (NM-6)")
    return EXIT_OK


def cmd_review(args: argparse.Namespace, config: Config) -> int:
    now = now_utc()
    today = config.policy.today(now)
    with open_directory(config) as directory:
        year_end, accounts = admin.review_accounts(directory, config, now, sponsor=args.sponsor)
    rows = []
    for account in accounts:
        row = views.account_row(account)
        row["duration"] = account.duration.value if account.duration else None
        row["days_left"] = days_left(account, today)
        row["ends_by_year_end"] = account.expiry_date is not None and account.expiry_date <= year_end
        rows.append(row)
    if args.json or args.csv:
        print_rows(args, rows, (), csv_keys=REVIEW_KEYS)
        return EXIT_OK
    emit(f"Annual review (NM-9): {len(rows)} non-MIS {_plural(len(rows), 'account', 'accounts')};"
         f" academic year end {year_end.isoformat()}")
    by_sponsor: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_sponsor.setdefault(row["sponsor"] or "(no sponsor)", []).append(row)
    for sponsor, group in by_sponsor.items():
        ending = sum(1 for row in group if row["ends_by_year_end"])
        emit(f"\nSponsor {sponsor}: {len(group)} {_plural(len(group), 'account', 'accounts')},"
             f" {ending} {_plural(ending, 'ends', 'end')} by {year_end.isoformat()}")
        emit(views.table(group, ("uid", "name", "type", "enabled", "duration", "expiry_date", "days_left",
                                 "ends_by_year_end")))
    if not rows:
        emit("(none)")
    emit("\nextend many: hwb-agent review [--sponsor ID] --csv > review.csv; keep the rows to extend and"
         " set their duration column; hwb-agent extend --from-file review.csv --by ID")
    return EXIT_OK


def cmd_requests(args: argparse.Namespace, config: Config) -> int:
    with audit_trail(config) as audit, open_directory(config) as directory:
        summary = admin.honour_activation_requests(directory, config, audit, now_utc(),
                                                   dry_run=args.dry_run)
    if args.json:
        emit(views.to_json(summary.as_json()))
        return EXIT_OK
    counts = summary.counts
    emit(f"{summary.found} pending activation {_plural(summary.found, 'request', 'requests')}"
         f"{' (dry run: nothing changed)' if summary.dry_run else ''}: "
         + ", ".join(f"{counts[name]} {name}" for name in ("activated", "extended", "unchanged",
                                                           "refused", "skipped", "errors")))
    if summary.rows:
        emit(views.table(summary.rows, ("outcome", "rule", "uid", "requested_by", "detail")))
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from agent.service.app import run_service

    try:
        return run_service(lambda: config_module.load(args.config), config)
    except OSError as error:
        print(f"hwb-agent: cannot start the service: {error}", file=sys.stderr)
        return EXIT_FAILED


def cmd_request_activation(args: argparse.Namespace, config: Config) -> int:
    now = now_utc()
    with open_directory(config) as directory:
        account = find_account(directory, args.uid)
        fields = {"activation_requested_at": now, "activation_requested_by": args.by,
                  "activation_duration": args.duration}
        directory.write_change(account, Change(None, fields))
    emit(f"activation of {account.uid} requested by {args.by}"
         f"{f' with a {args.duration} extension' if args.duration else ''};"
         " the agent answers it at its next poll (C-1), or now with `hwb-agent requests`")
    return EXIT_OK


# --- import-mis (issue 5) ----------------------------------------------------------------


def _add_import_mis(commands: Any) -> None:
    importer = commands.add_parser(
        "import-mis", help="MIS provisioning from a OneRoster 1.1 CSV package (MIS-1, MIS-2, MIS-3)")
    importer.add_argument("path", metavar="PATH", help="the package: a folder or a .zip")
    importer.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    importer.add_argument("--json", action="store_true", help="print the plan and outcome as JSON")
    importer.add_argument("--confirm-mass-change", action="store_true",
                          help="apply what the mass-change guard (C-8) holds back")
    importer.add_argument("--feed-date", type=_date_argument, metavar="YYYY-MM-DD",
                          help="the date the feed describes (the leaving date of people missing from a"
                               " bulk file); overrides the manifest's feed.date and the file dates")
    importer.set_defaults(handler=cmd_import_mis)


def cmd_import_mis(args: argparse.Namespace, config: Config) -> int:
    """Exit 2: the package is unusable (nothing written); 1: a write was refused (the rest applied);
    4: the guard held something not confirmed (the rest applied); else 0."""
    try:
        feed = read_feed(args.path, config.mis, config.policy.timezone)
    except FeedError as error:
        print(f"hwb-agent: import-mis {args.path}: {error} (nothing was written)", file=sys.stderr)
        return EXIT_USAGE
    feed = with_feed_date(feed, args.feed_date)
    now = now_utc()
    with audit_trail(config) as audit, open_directory(config) as directory:
        report = import_feed(directory, config, audit, feed, now, dry_run=args.dry_run,
                             confirm=args.confirm_mass_change)
    if args.json:
        emit(views.to_json(report.as_json()))
    else:
        emit(render_import(report, config))
    if report.failed:
        print(f"hwb-agent: {len(report.errors)} writes refused; the rest was applied", file=sys.stderr)
        return EXIT_FAILED
    if report.held:
        print(f"hwb-agent: {report.guard_message()}", file=sys.stderr)
        return EXIT_GUARD
    return EXIT_OK


def render_import(report: ImportReport, config: Config) -> str:
    feed, plan = report.feed, report.plan
    mode = "dry run (nothing changed)" if report.dry_run else "applied"
    lines = [f"MIS import of {feed.location} ({feed.users_mode.value} users) for"
             f" {config.local_authority.name} ({config.local_authority.code}): {mode}"]
    lines += plan_lines(plan)
    if report.containers_created:
        lines.append("created containers: " + ", ".join(report.containers_created))
    for row in report.enabled:
        lines.append(f"enable  {row['rule']:<5} {row['uid']:<14} {row['detail']}")
    for row in report.flags:
        lines.append(f"flagged {row['rule']:<5} {row['uid']:<14} {row['detail']}")
    for row in report.errors:
        where = f" [{row['file']} row {row['row']}]" if row.get("row") else ""
        lines.append(f"FAILED  {row['action']} {row['uid'] or row['dn']}{where}: {row['detail']}")
    if not report.dry_run:
        operations = report.operations
        lines.append(f"{len(report.applied)} changes applied, {len(report.enabled)} re-enabled,"
                     f" {len(report.errors)} failed; {operations.get('adds', 0)} adds,"
                     f" {operations.get('modifies', 0)} modifies")
    if report.held:
        lines.append(report.guard_message())
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
