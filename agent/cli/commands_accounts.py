"""`list` and `show`: the authority's accounts, and one account with why it is in its state."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from agent.actions import listings, requests
from agent.actions.session import open_directory
from agent.cli import views
from agent.cli.output import DURATION_WORDS, SUGGESTED_DURATION, emit, print_rows, suggest
from agent.core.clock import Clock
from agent.core.errors import ExitCode
from agent.settings.config import Config


def cmd_list(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    active = None if args.active is None else args.active == "Y"
    with open_directory(config) as directory:
        rows = views.sorted_rows(
            (views.account_row(account) for account in listings.list_accounts(
                directory, category=args.category, active=active, sponsor=args.sponsor)),
            # by category, then uid ("\0" sorts before any character, as the tuple would)
            key=lambda row: f"{row['category'] or ''}\0{row['uid'].lower()}",
        )
    if args.json:  # streamed: memory stays flat however many accounts there are
        views.write_json_rows(rows, sys.stdout.write)
        return ExitCode.OK
    listed = list(rows)
    print_rows(args, listed, ("uid", "name", "category", "enabled", "school", "sponsor",
                              "expiry_date", "leaving_date", "disabled_reason"), csv_keys=views.CSV_ROW_KEYS)
    problems = [] if args.csv else views.problem_lines(listed)
    if problems:  # C-7: listed above with what could be read; here what could not
        emit("\nUnreadable lifecycle data (C-7), left unchanged:\n" + "\n".join(problems))
    return ExitCode.OK


def cmd_show(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    with open_directory(config) as directory:
        view = listings.view_account(directory, config, clock(), args.uid)
    account = view.account
    row = views.show_row(account, view.decision)
    request = account.activation_request
    if request is not None:  # C-1: answered within a minute by the service, or by the next sweep
        row["activation_request"] = {
            "requested_by": request.requested_by,
            "requested_at": views.iso(request.requested_at),
            "duration": request.duration.value if request.duration else None,
        }
    if account.activation_refusal:  # C-1: the last request refused, and why (as the portal shows it)
        row["activation_refusal"] = requests.refusal_parts(account.activation_refusal)
    if args.json:
        emit(views.to_json(row))
        return ExitCode.OK
    emit(render_show(row, view.today, args))
    return ExitCode.OK


def render_show(row: dict[str, Any], today: date, args: argparse.Namespace) -> str:
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
    if row.get("transferred_from") or row.get("transferred_at"):  # issue 15
        lines.append(f"  {'transferred from:':<21}{row.get('transferred_from') or 'another authority'}"
                     f" on {row.get('transferred_at') or 'an unknown date'} (MIS-3)")
    for problem in row.get("problems", []):
        lines.append(f"  {'PROBLEM:':<21}{problem['attribute']}={problem['value']!r}: {problem['detail']}")
    request = row.get("activation_request")
    if request:
        extension = f", with a {request['duration']} extension" if request["duration"] else ""
        lines.append(f"  {'request:':<21}activation asked by {request['requested_by']} at"
                     f" {request['requested_at']}{extension} (C-1): pending")
    refusal = row.get("activation_refusal")
    if refusal:
        when = f" at {refusal['refused_at']}" if refusal["refused_at"] else ""
        rule = f" [{refusal['rule']}]" if refusal["rule"] else ""
        lines.append(f"  {'request refused:':<21}activation refused{when}: {refusal['reason']}{rule}")
    lines.extend(_how_to(row, today, args))
    return "\n".join(lines)

def _how_to(row: dict[str, Any], today: date, args: argparse.Namespace) -> list[str]:
    """What an administrator can do next with this account: a command line alone on its line, to
    paste as it is (with the --config given, no `|`), then what to change in it."""
    uid, pad = row["uid"], " " * 23
    if row["category"] == "non-mis" and not row["enabled"]:
        expired = row["expiry_date"] is not None and row["expiry_date"] < today.isoformat()
        if expired:
            return [f"  {'to activate:':<21}"
                    + suggest(args, f"activate {uid} --by ID --duration {SUGGESTED_DURATION}"),
                    f"{pad}(expiry passed: NM-5 needs an extension; --duration {DURATION_WORDS})"]
        return [f"  {'to activate:':<21}" + suggest(args, f"activate {uid} --by ID"),
                f"{pad}(add --duration {SUGGESTED_DURATION} to extend as well: {DURATION_WORDS})"]
    if row["category"] == "non-mis":
        return [f"  {'to extend:':<21}"
                + suggest(args, f"extend {uid} --duration {SUGGESTED_DURATION} --by ID"),
                f"{pad}(--duration {DURATION_WORDS}; NM-6)"]
    if row["category"] == "mis" and row.get("role") == "staff" and not row["enabled"]:
        return [f"  {'to reactivate:':<21}"
                + suggest(args, f"service-desk-reactivate {uid} --by ID --ticket REF"),
                f"{pad}(the service desk only, with its ticket: MIS-4)"]
    return []
