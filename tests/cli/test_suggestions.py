"""Every command line the CLI suggests can be pasted as printed: it repeats the `--config PATH` given
(not the one from $HWB_AGENT_CONFIG, which the pasted line reads too) and holds no `|` (a shell pipe)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from agent.cli import main
from agent.settings.config import ENV_CONFIG
from tests.builders import write_config


@pytest.fixture()
def demo(tmp_path, capsys):
    config = write_config(tmp_path)

    def run(*args: str, config_flag: bool = True) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*(["--config", str(config)] if config_flag else []), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.config = config  # type: ignore[attr-defined]
    return run


def suggestions(text: str) -> list[str]:
    """Each suggested command line, from its `hwb-agent ` to the end of its line."""
    return re.findall(r"hwb-agent .*", text)


def assert_pasteable(lines: list[str], config) -> None:
    assert lines
    for line in lines:
        assert f"hwb-agent --config {config} " in line, line
        assert "|" not in line, line
        assert "[" not in line, line


def accounts(demo, *args: str) -> list[dict]:
    code, out, err = demo("list", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_show_suggests_pasteable_commands_for_each_kind_of_account(demo):
    today = date.today().isoformat()
    non_mis = accounts(demo, "--category", "non-mis")
    expired = next(r for r in non_mis if not r["enabled"] and r["expiry_date"] and r["expiry_date"] < today)
    enabled = next(r for r in non_mis if r["enabled"])
    staff = next(r for r in accounts(demo, "--category", "mis", "--active", "N")
                 if r["role"] == "staff" and r["disabled_reason"] == "left")
    for row, command in ((expired, "activate"), (enabled, "extend"), (staff, "service-desk-reactivate")):
        code, out, err = demo("show", row["uid"])
        assert code == 0, err
        lines = suggestions(out)
        assert_pasteable(lines, demo.config)
        assert any(f" {command} {row['uid']} " in line for line in lines), out
    code, out, _ = demo("show", expired["uid"])
    assert "--duration 3m" in out and "1m, 3m, 6m or eoy" in out


def test_expiring_and_review_suggest_pasteable_commands(demo):
    code, out, err = demo("expiring", "--weeks", "104")
    assert code == 0, err
    assert_pasteable(suggestions(out), demo.config)
    assert "extend one: hwb-agent --config" in out
    code, out, err = demo("review", "--sponsor", "admin.cardiff")
    assert code == 0, err
    lines = suggestions(out)
    assert_pasteable(lines, demo.config)
    assert any("review --sponsor admin.cardiff --csv > review.csv" in line for line in lines)


def test_a_core_refusal_is_made_pasteable_too(demo):
    today = date.today().isoformat()
    expired = next(r for r in accounts(demo, "--category", "non-mis", "--active", "N")
                   if r["expiry_date"] and r["expiry_date"] < today)
    code, _, err = demo("activate", expired["uid"], "--by", "admin.test")
    assert code == 3
    assert "|" not in err and "add --duration 3m (the choices: 1m, 3m, 6m or eoy)" in err
    staff = next(r for r in accounts(demo, "--category", "mis", "--active", "N") if r["role"] == "staff")
    code, _, err = demo("activate", staff["uid"], "--by", "admin.test")
    assert code == 3
    assert_pasteable(suggestions(err), demo.config)


def test_a_config_from_the_environment_is_not_repeated(demo, monkeypatch):
    monkeypatch.setenv(ENV_CONFIG, str(demo.config))
    enabled = next(r for r in accounts(demo, "--category", "non-mis") if r["enabled"])
    code, out, err = demo("show", enabled["uid"], config_flag=False)
    assert code == 0, err
    lines = suggestions(out)
    assert lines and all("--config" not in line and "|" not in line for line in lines)
    assert any(line.startswith(f"hwb-agent extend {enabled['uid']} --duration 3m") for line in lines)
