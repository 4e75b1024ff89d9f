"""A provisioning plan as JSON-ready data and as text lines (for `import-mis [--json]`).

Pure formatting: the command line prints these; the apply step's audit records
use the same field names (rule, source file and row, changes with before/after).
Dates are ISO 8601, like every other listing (DESIGN.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from agent.core.mis.feed import Feed, feed_date_warnings
from agent.core.mis.provisioning import FieldValue, GuardTrip, ProvisioningAction, ProvisioningPlan


def _value(value: FieldValue) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def action_to_json(action: ProvisioningAction) -> dict[str, Any]:
    return {
        "action": action.kind.value,
        "rule": action.rule,
        "uid": action.uid,
        "dn": action.dn,
        "container": action.container,
        "role": action.role.value,
        "mis_id": action.mis_id,
        "schools": list(action.schools),
        "source": {"file": action.source_file, "row": action.source_row},
        "detail": action.detail,
        "changes": [
            {"field": change.field, "before": _value(change.before), "after": _value(change.after)}
            for change in action.changes
        ],
    }


def _trip_to_json(trip: GuardTrip) -> dict[str, Any]:
    return {
        "school": trip.school,
        "role": trip.role.value if trip.role else None,
        "would": trip.would,
        "limit": trip.limit,
        "out_of": trip.out_of,
        "reason": trip.reason,
    }


def plan_to_json(plan: ProvisioningPlan, feed: Feed | None = None, dry_run: bool = False) -> dict[str, Any]:
    """One object: feed, today, actions, held, guard, row_errors, problems, counts."""
    return {
        "feed": {
            "location": feed.location if feed else None,
            "users": feed.users_mode.value if feed else None,
            "feed_date": plan.feed_date.isoformat(),
            "feed_date_source": feed.feed_date_source if feed else None,
        },
        "warnings": list(feed_date_warnings(plan.feed_date, plan.feed_date_source)),
        "today": plan.today.isoformat(),
        "dry_run": dry_run,
        "actions": [action_to_json(action) for action in plan.actions],
        "held": [action_to_json(action) for action in plan.held],
        "guard": {
            "tripped": plan.guard_tripped,
            "confirmed": plan.confirmed,
            "trips": [_trip_to_json(trip) for trip in plan.trips],
        },
        "row_errors": [
            {"file": error.file, "row": error.row, "kind": error.kind.value, "reason": error.reason}
            for error in plan.row_errors
        ],
        "problems": [
            {"detail": problem.detail, "mis_id": problem.mis_id, "dn": problem.dn,
             "file": problem.source_file, "row": problem.source_row}
            for problem in plan.problems
        ],
        "counts": plan.counts(),
    }


def _action_line(action: ProvisioningAction, prefix: str = "") -> str:
    where = f"{action.source_file} row {action.source_row}" if action.source_row else action.source_file
    changes = ", ".join(
        f"{change.field}: {_value(change.before)!s} -> {_value(change.after)!s}"
        if change.before is not None else f"{change.field}={_value(change.after)!s}"
        for change in action.changes if change.field not in ("category", "uid")
    )
    head = f"{prefix}{action.kind.value:<7} {action.rule:<5} {action.uid:<14} [{where}]"
    return f"{head} {action.detail}; {changes}"


def plan_lines(plan: ProvisioningPlan) -> list[str]:
    """The plan for a terminal: one line per action, then held actions, guard, errors."""
    lines = [f"feed date {plan.feed_date.isoformat()}, today {plan.today.isoformat()}"]
    lines += [f"WARNING: {warning}" for warning in feed_date_warnings(plan.feed_date, plan.feed_date_source)]
    lines += [_action_line(action) for action in plan.actions]
    lines += [_action_line(action, "HELD ") for action in plan.held]
    for trip in plan.trips:
        state = "confirmed" if plan.confirmed else "held"
        lines.append(f"guard ({state}): {trip.reason}")
    lines += [f"rejected: {error}" for error in plan.row_errors]
    lines += [f"not acted on: {problem.detail}" for problem in plan.problems]
    counts = plan.counts()
    lines.append(", ".join(f"{name} {count}" for name, count in counts.items()))
    return lines
