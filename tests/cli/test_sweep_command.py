"""`hwb-agent sweep` and friends, run in-process on the embedded directory."""

from __future__ import annotations

import json

from agent.cli import main
from tests.builders import write_config


def test_sweep_json_has_the_design_keys_and_exit_0(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sweep", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"as_of", "dry_run", "scanned", "actions", "flags", "errors", "counts", "guard"} <= set(report)
    assert report["dry_run"] is False and report["guard"]["tripped"] is False
    for action in report["actions"]:
        assert {
            "dn",
            "uid",
            "action",
            "rule",
            "reason" if action["action"] == "disable" else "detail",
            "detail",
        } <= set(action)
    assert report["counts"]["disable"] == 19


def test_guard_trip_exits_4_with_a_message(tmp_path, capsys):
    config = write_config(tmp_path, {"safety": {"max_disables": 2}})
    assert main(["--config", str(config), "sweep"]) == 4
    captured = capsys.readouterr()
    assert "mass-change guard (C-8)" in captured.err
    assert "Held by the mass-change guard" in captured.out


def test_as_of_is_only_a_forecast(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sweep", "--as-of", "2027-06-01"]) == 2
    assert "--as-of is a forecast" in capsys.readouterr().err
    assert main(["--config", str(config), "sweep", "--dry-run", "--as-of", "2027-12-01", "--json"]) == 0
    forecast = json.loads(capsys.readouterr().out)
    assert forecast["as_of"].startswith("2027-12-01") and forecast["dry_run"] and forecast["full"]
    assert forecast["operations"]["writes"] == 0


def test_show_explains_state_and_next_transition(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sweep"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "list", "--category", "mis", "--active", "N", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    staff = next(
        row
        for row in rows
        if row["role"] == "staff" and row["disabled_reason"] == "left" and row["leaving_date"] is None
    )
    assert main(["--config", str(config), "show", staff["uid"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["why"]["rule"] == "MIS-4" and shown["enabled"] is False
    assert main(["--config", str(config), "show", staff["uid"]]) == 0
    assert "waiting for a service desk reactivation [MIS-4]" in capsys.readouterr().out


def test_unknown_uid_is_a_usage_error(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "show", "nobody*"]) == 2
    assert "no account with uid 'nobody*'" in capsys.readouterr().err


def test_the_bind_password_never_reaches_the_log(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "-v", "sweep"]) == 0
    captured = capsys.readouterr()
    assert "account_disabled" in captured.err  # the verbose log carries the audit events
    assert "test-password" not in captured.err + captured.out
    assert "test-password" not in (tmp_path / "audit.jsonl").read_text()


def test_global_options_are_accepted_after_the_command(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["list", "--config", str(config), "--category", "non-mis", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)


def test_confirmed_guard_says_what_was_applied_in_the_output_and_the_json(tmp_path, capsys):
    config = write_config(tmp_path, {"safety": {"max_disables": 2}})
    assert main(["--config", str(config), "sweep", "--dry-run", "--confirm-mass-change", "--json"]) == 0
    forecast = json.loads(capsys.readouterr().out)
    assert forecast["guard"]["message"].startswith(
        "mass-change guard (C-8) confirmed by the operator: 19 disables and")
    assert "would be applied (dry run)" in forecast["guard"]["message"]
    assert main(["--config", str(config), "sweep", "--confirm-mass-change"]) == 0
    captured = capsys.readouterr()
    purges = forecast["counts"]["purge"]
    expected = (f"mass-change guard (C-8) confirmed by the operator: 19 disables and {purges}"
                f" {'purge' if purges == 1 else 'purges'} applied (limits 2 disables, ")
    assert expected in captured.out and captured.err == ""
    assert "exceeded: 19 accounts to disable" in captured.out
    assert main(["--config", str(config), "sweep", "--json"]) == 0  # nothing left over the limits
    report = json.loads(capsys.readouterr().out)
    assert report["guard"] == {**report["guard"], "tripped": False, "confirmed": False, "message": ""}
