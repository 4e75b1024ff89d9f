"""The plan as JSON and as text: rule ids, feed file and row, before/after values, the guard."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from agent.actions.mis.feed_reader import read_feed
from agent.core.mis.plan import plan_provisioning
from agent.core.mis.report import plan_lines, plan_to_json
from agent.core.mis.settings import MisSettings
from tests.actions.mis.support import apply_plan

SETTINGS = MisSettings()


def day2_plan(samples: Path):
    day1 = plan_provisioning(read_feed(samples / "day1"), [], date(2026, 11, 27), SETTINGS)
    feed = read_feed(samples / "day2")
    return feed, plan_provisioning(feed, apply_plan([], day1), date(2026, 11, 28), SETTINGS)


def test_json_carries_rule_source_and_before_after_for_every_action(samples: Path) -> None:
    feed, plan = day2_plan(samples)
    data = json.loads(json.dumps(plan_to_json(plan, feed, dry_run=True)))
    move = next(action for action in data["actions"] if action["action"] == "move")
    assert move["rule"] == "MIS-3" and move["source"] == {"file": "users.csv", "row": 5}
    assert move["changes"] == [{"field": "school", "before": "6812001", "after": "6814050"}]
    leaver = next(action for action in data["actions"] if action["action"] == "leaver")
    assert leaver["changes"] == [{"field": "leaving_date", "before": None, "after": "2026-11-27"}]
    assert data["guard"]["tripped"] and not data["guard"]["confirmed"]
    assert data["guard"]["trips"][0]["school"] == "6812150"
    assert len(data["held"]) == 8 and data["counts"]["held"] == 8
    assert data["feed"] == {"location": str(samples / "day2"), "users": "bulk",
                            "feed_date": "2026-11-28", "feed_date_source": "manifest"}
    assert data["row_errors"][0]["kind"] == "bad-date"
    assert plan.needs_confirmation


def test_text_lines_show_actions_held_actions_and_the_guard(samples: Path) -> None:
    _, plan = day2_plan(samples)
    lines = plan_lines(plan)
    assert any(line.startswith("move    MIS-3 sdavies") and "school: 6812001 -> 6814050" in line
               for line in lines)
    assert sum(line.startswith("HELD leaver") for line in lines) == 8
    assert any(line.startswith("guard (held): school 6812150") for line in lines)
    assert lines[-1].startswith("create 2, update 2, move 1, leaver 1, held 8")
