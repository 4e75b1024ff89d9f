"""The `hwb-agent` command line: argument parsing and output formatting only.

Exit codes (DESIGN.md): 0 done; 1 failed (directory unreachable, write
refused); 2 bad usage or configuration; 3 refused by policy; 4 the
mass-change guard stopped the run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agent import config as config_module
from agent import criteria as c
from agent import logs, views
from agent.audit import AuditTrail
from agent.config import Config, ConfigError
from agent.dates import start_of_day
from agent.directory.gateway import Directory, connect
from agent.errors import AgentError, UsageError
from agent.model import Category
from agent.policy import decide
from agent.sweep import SweepReport, learner_identities, sweep

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
    return parser


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
    logs.configure("console" if sys.stderr.isatty() else config.logging.format, level)
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
    with connect(config) as directory:
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
    audit = AuditTrail(config.logging.audit_file)
    full = args.full or args.as_of is not None  # a forecast reads everything
    with connect(config) as directory:
        report = sweep(directory, config, audit, now, dry_run=args.dry_run, full=full,
                       confirm_mass_change=args.confirm_mass_change)
    audit.close()
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
        f" {counts['flags']} flagged, {counts['errors']} errors, {counts['held']} held by the guard",
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
               heading: str | None = None) -> None:
    if args.json:
        emit(views.to_json(rows))
    elif getattr(args, "csv", False):
        emit(views.to_csv(rows, views.ROW_KEYS))
    else:
        if heading:
            emit(heading)
        emit(views.table(rows, human_keys) if rows else "(none)")


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    criterion = _listing_criterion(args)
    with connect(config) as directory:
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


def find_account(directory: Directory, uid: str):
    found = directory.find("uid", uid)
    if not found:
        raise UsageError(f"no account with uid {uid!r} under {directory.base_dn}")
    if len(found) > 1:
        raise UsageError(f"uid {uid!r} is ambiguous: {', '.join(a.dn for a in found)}")
    return found[0]


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    now = now_utc()
    with connect(config) as directory:
        account = find_account(directory, args.uid)
        identities = learner_identities(directory)
    from agent.policy import Context

    decision = decide(account, now, config.policy, Context(identities.covers(account)))
    row = views.show_row(account, decision)
    if args.json:
        emit(views.to_json(row))
        return EXIT_OK
    emit(render_show(row))
    return EXIT_OK


def render_show(row: dict[str, Any]) -> str:
    lines = [f"{row['name']} ({row['uid']})", f"  {'dn:':<14}{row['dn']}"]
    kind = row.get("type") or row.get("role")
    lines.append(f"  {'account:':<14}{row['category']} {kind or ''}".rstrip())
    state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason'] or 'outside the agent'})"
    lines.append(f"  {'state:':<14}{state}")
    for key in ("mail", "school", "sponsor", "leaving_date", "expiry_date", "last_sign_in", "disabled_at",
                "reactivated_at", "reactivated_by", "reactivation_ticket"):
        if row.get(key):
            lines.append(f"  {key.replace('_', ' ') + ':':<14}{row[key]}")
    why = row["why"]
    lines.append(f"  {'why:':<14}{why['detail']} [{why['rule']}]")
    if why["action_due"] != "none":
        lines.append(f"  {'due now:':<14}{why['action_due']} at the next sweep")
    upcoming = row.get("next")
    lines.append(
        f"  {'next:':<14}{upcoming['action']} on {upcoming['date']} [{upcoming['rule']}]"
        if upcoming else f"  {'next:':<14}nothing scheduled"
    )
    for problem in row.get("problems", []):
        lines.append(f"  {'PROBLEM:':<14}{problem['attribute']}={problem['value']!r}: {problem['detail']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
