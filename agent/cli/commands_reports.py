"""`expiring` (NM-8) and `review` (NM-9)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from agent.actions import listings
from agent.actions.session import open_directory
from agent.cli import views
from agent.cli.output import DURATION_WORDS, SUGGESTED_DURATION, emit, plural, print_rows, suggest
from agent.core.clock import Clock
from agent.core.errors import ExitCode
from agent.core.operations import days_left
from agent.settings.config import Config

EXPIRING_KEYS = (*views.ROW_KEYS, "days_left", "problems")

REVIEW_KEYS = (*views.ROW_KEYS, "duration", "days_left", "ends_by_year_end", "problems")


def cmd_expiring(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    now = clock()
    with open_directory(config) as directory:
        first, last, accounts = listings.expiring_accounts(directory, config, now, weeks=args.weeks,
                                                        sponsor=args.sponsor)
    rows = []
    for account in accounts:
        row = views.account_row(account)
        row["days_left"] = days_left(account, first)
        rows.append(row)
    weeks = args.weeks or config.policy.expiring_weeks
    count = sum(1 for row in rows if not row.get("problems"))  # C-7 rows are listed, not counted
    banner = (f"{count} {plural(count, 'account expires', 'accounts expire')} in the next {weeks}"
              f" {plural(weeks, 'week', 'weeks')}"
              + (f" (sponsor {args.sponsor})" if args.sponsor else "")
              + f": expiry dates {first.isoformat()} to {last.isoformat()} [NM-8]")
    print_rows(args, rows, ("uid", "name", "type", "sponsor", "expiry_date", "days_left"),
               heading=banner, csv_keys=EXPIRING_KEYS)
    if not (args.json or args.csv):
        _emit_problems(rows)
    if rows and not (args.json or args.csv):
        uid = next((row["uid"] for row in rows if not row.get("problems")), "UID")
        emit("extend one: " + suggest(args, f"extend {uid} --duration {SUGGESTED_DURATION} --by ID"))
        emit(f"            (--duration {DURATION_WORDS}; NM-6)")
    return ExitCode.OK

def cmd_review(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    now = clock()
    today = config.policy.today(now)
    with open_directory(config) as directory:
        year_end, accounts = listings.review_accounts(directory, config, now, sponsor=args.sponsor)
    rows = []
    for account in accounts:
        row = views.account_row(account)
        row["duration"] = account.duration.value if account.duration else None
        row["days_left"] = days_left(account, today)
        row["ends_by_year_end"] = account.expiry_date is not None and account.expiry_date <= year_end
        rows.append(row)
    if args.json or args.csv:
        print_rows(args, rows, (), csv_keys=REVIEW_KEYS)
        return ExitCode.OK
    emit(f"Annual review (NM-9): {len(rows)} non-MIS {plural(len(rows), 'account', 'accounts')};"
         f" academic year end {year_end.isoformat()}")
    by_sponsor: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_sponsor.setdefault(row["sponsor"] or "(no sponsor)", []).append(row)
    for sponsor, group in by_sponsor.items():
        ending = sum(1 for row in group if row["ends_by_year_end"])
        emit(f"\nSponsor {sponsor}: {len(group)} {plural(len(group), 'account', 'accounts')},"
             f" {ending} {plural(ending, 'ends', 'end')} by {year_end.isoformat()}")
        emit(views.table(group, ("uid", "name", "type", "enabled", "duration", "expiry_date", "days_left",
                                 "ends_by_year_end")))
    if not rows:
        emit("(none)")
    _emit_problems(rows)
    sponsor = f" --sponsor {shlex.quote(args.sponsor)}" if args.sponsor else ""
    emit("\nextend many:\n  " + suggest(args, f"review{sponsor} --csv > review.csv")
         + f"\n  (keep the rows to extend and set their duration column: {DURATION_WORDS})\n  "
         + suggest(args, "extend --from-file review.csv --by ID"))
    return ExitCode.OK


def _emit_problems(rows: list[dict[str, Any]]) -> None:
    lines = views.problem_lines(rows)
    if lines:
        emit(f"\nUnreadable lifecycle data (C-7), {len(lines)} {plural(len(lines), 'problem', 'problems')}:")
        emit("\n".join(lines))
