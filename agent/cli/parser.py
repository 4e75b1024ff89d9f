"""The `hwb-agent` argument parser: every command, its options, and which function runs it."""

from __future__ import annotations

import argparse
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

from agent import __version__
from agent.cli import (
    commands_accounts,
    commands_admin,
    commands_docs,
    commands_mis,
    commands_remind,
    commands_reports,
    commands_rules,
    commands_service,
    commands_sweep,
    commands_web,
    help_text,
)
from agent.core.model import Category, Duration, NonMisType, Role
from agent.settings.config import ENV_CONFIG

DURATIONS = [item.value for item in Duration]


def _date_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwb-agent",
        description="Apply the Hwb account lifecycle policy to an LDAP directory.",
        epilog="`hwb-agent COMMAND --help` describes one command, with examples.\n"
               "examples:\n  hwb-agent --config config/demo.yaml sweep --dry-run\n"
               "  hwb-agent --config config/demo.yaml show frees0238",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help=f"YAML configuration (default: ${ENV_CONFIG})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every change (audit events) to stderr as well")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate the file, connect, bind, report gaps")
    check.set_defaults(handler=commands_sweep.cmd_check_config)

    run_sweep = commands.add_parser("sweep", help="one pass of every rule")
    run_sweep.add_argument("--dry-run", action="store_true", help="plan and report; change nothing")
    run_sweep.add_argument("--as-of", type=_date_argument, metavar="DATE",
                           help="forecast as of DATE (only with --dry-run)")
    run_sweep.add_argument("--full", action="store_true",
                           help="read every account, not only the candidates (also reports all bad data)")
    run_sweep.add_argument("--confirm-mass-change", action="store_true",
                           help="apply even when the mass-change guard (C-8) trips")
    run_sweep.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_wait_option(run_sweep)
    run_sweep.set_defaults(handler=commands_sweep.cmd_sweep)

    listing = commands.add_parser("list", help="accounts of this local authority")
    listing.add_argument("--category", choices=[item.value for item in Category])
    listing.add_argument("--active", choices=["Y", "N"], help="Y: enabled, N: disabled")
    listing.add_argument("--sponsor")
    _add_format_options(listing)
    listing.set_defaults(handler=commands_accounts.cmd_list)

    show = commands.add_parser("show", help="one account: state, why, next transition")
    show.add_argument("uid")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=commands_accounts.cmd_show)
    _add_admin_commands(commands)
    _add_import_mis(commands)
    _add_remind(commands)
    rules = commands.add_parser("rules", help="the policy's rules, by id, in words")
    rules.add_argument("rule_id", nargs="?", metavar="ID", help="one rule, e.g. NM-4 (default: every rule)")
    rules.set_defaults(handler=commands_rules.cmd_rules, needs_config=False)
    completion = commands.add_parser("completion", help="print a shell completion script (bash, zsh)")
    completion.add_argument("shell", choices=commands_docs.SHELLS)
    completion.set_defaults(handler=commands_docs.cmd_completion, needs_config=False, root_parser=parser)
    manpage = commands.add_parser("manpage", help="print the man page (roff)")
    manpage.set_defaults(handler=commands_docs.cmd_manpage, needs_config=False, root_parser=parser)
    web = commands.add_parser("web", help="the administrators' console (sign-in, the seed's pages)")
    web.set_defaults(handler=commands_web.cmd_web)
    _accept_global_options_after_the_command(commands)
    _describe(commands)
    return parser


def _describe(commands: Any) -> None:
    """Each command's `--help`: its description (citing the rules) and examples, from help_text
    (a command missing there fails here, so that none goes without)."""
    for name, subparser in commands.choices.items():
        subparser.description = textwrap.fill(help_text.COMMANDS[name][0], width=79)
        subparser.epilog = help_text.epilog(name)
        subparser.formatter_class = argparse.RawDescriptionHelpFormatter


def _accept_global_options_after_the_command(commands: Any) -> None:
    """`hwb-agent list --config X` as well as `hwb-agent --config X list`: each subcommand also takes
    the global options, without a default of its own so that one given before it is kept."""
    for subparser in commands.choices.values():
        subparser.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        subparser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                               help=argparse.SUPPRESS)

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
    create.add_argument("--allow-duplicate", action="store_true",
                        help="create it even when an account with the same mail, or the same name"
                             " under the same sponsor, exists (NM-1)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=commands_admin.cmd_create)

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
    extend.set_defaults(handler=commands_admin.cmd_extend)

    activate = commands.add_parser("activate", help="reactivate a non-MIS account (NM-5, C-1)")
    activate.add_argument("uid")
    activate.add_argument("--by", required=True, help="who is activating (recorded verbatim)")
    activate.add_argument("--duration", choices=DURATIONS, help="also extend, in the same change (NM-6)")
    activate.add_argument("--json", action="store_true")
    activate.set_defaults(handler=commands_admin.cmd_activate)

    desk = commands.add_parser("service-desk-reactivate", help="reactivate a staff leaver (MIS-4)")
    desk.add_argument("uid")
    desk.add_argument("--by", required=True, help="the service desk operator (recorded verbatim)")
    desk.add_argument("--ticket", required=True, help="the service desk ticket reference")
    desk.add_argument("--json", action="store_true")
    desk.set_defaults(handler=commands_admin.cmd_service_desk)

    expiring = commands.add_parser("expiring", help="accounts due to expire (NM-8)")
    expiring.add_argument("--weeks", type=_weeks_argument, help="window in weeks (default: policy, 8)")
    expiring.add_argument("--sponsor")
    _add_format_options(expiring)
    expiring.set_defaults(handler=commands_reports.cmd_expiring)

    review = commands.add_parser("review", help="annual review of non-MIS accounts per sponsor (NM-9)")
    review.add_argument("--sponsor")
    _add_format_options(review)
    review.set_defaults(handler=commands_reports.cmd_review)

    run = commands.add_parser(
        "run", help="the long-running service: scheduled sweeps, activation requests within a minute")
    run.set_defaults(handler=commands_service.cmd_run)

    request = commands.add_parser(
        "request-activation", help="ask for an activation as a portal would (C-1); the agent answers it")
    request.add_argument("uid")
    request.add_argument("--by", required=True, help="who asks (recorded verbatim)")
    request.add_argument("--duration", choices=[item.value for item in Duration],
                         help="extend by this duration as well (needed when the expiry has passed)")
    request.set_defaults(handler=commands_admin.cmd_request_activation)

    requests = commands.add_parser("requests", help="answer pending activation requests now (C-1)")
    requests.add_argument("--dry-run", action="store_true", help="report what they would do")
    requests.add_argument("--json", action="store_true")
    _add_wait_option(requests)
    requests.set_defaults(handler=commands_admin.cmd_requests)

def _add_remind(commands: Any) -> None:
    """Reminders to sponsors by email (issue 14; NM-8, NM-7, MIS-5)."""
    reminders = commands.add_parser("remind",
                                    help="email sponsors before their accounts expire or are deleted")
    reminders.add_argument("--dry-run", action="store_true",
                           help="print the digests; send and record nothing")
    reminders.add_argument("--to", metavar="ADDRESS",
                           help="with --dry-run: send one digest to this test address (printed without SMTP)")
    reminders.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_wait_option(reminders)
    reminders.set_defaults(handler=commands_remind.cmd_remind)

def _add_wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", type=float, default=60.0, metavar="SECONDS",
        help="how long to wait for another writer (the lease, another command) before giving up (60)")


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
    _add_wait_option(importer)
    importer.set_defaults(handler=commands_mis.cmd_import_mis)
