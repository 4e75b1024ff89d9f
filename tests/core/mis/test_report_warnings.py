"""The import report says when the feed date came from file times (issue 11, item 5)."""

from __future__ import annotations

from dataclasses import replace

from agent.core.mis.plan import plan_provisioning
from agent.core.mis.report import plan_lines, plan_to_json
from agent.core.mis.settings import MisSettings
from tests.actions.mis.support import TODAY, feed, person


def test_a_feed_date_from_file_times_is_a_warning_in_the_report():
    the_feed = replace(feed(person(1)), feed_date_source="mtime")
    the_plan = plan_provisioning(the_feed, [], TODAY, MisSettings())
    [warning] = plan_to_json(the_plan, the_feed)["warnings"]
    assert "users.csv's file time" in warning and "--feed-date" in warning
    assert any(line.startswith("WARNING: feed date") for line in plan_lines(the_plan))


def test_a_feed_date_from_the_package_or_the_command_line_is_no_warning():
    for source in ("manifest", "dateLastModified", "command line"):
        the_feed = replace(feed(person(1)), feed_date_source=source)
        the_plan = plan_provisioning(the_feed, [], TODAY, MisSettings())
        assert plan_to_json(the_plan, the_feed)["warnings"] == []
        assert not [line for line in plan_lines(the_plan) if line.startswith("WARNING")]
