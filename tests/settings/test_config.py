"""Configuration: every problem reported at once, each with its YAML path (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.settings import config as config_module
from agent.settings.config import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_configurations_are_valid(monkeypatch, tmp_path):
    demo = config_module.load(REPO / "config" / "demo.yaml")
    assert demo.directory.is_mock and demo.policy.protected == frozenset({"hwb-breakglass"})
    password = tmp_path / "bind-password"
    password.write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    example = config_module.load(REPO / "config" / "example-la.yaml")
    assert example.directory.password.reveal() == "s3cret"
    assert "s3cret" not in repr(example)


def test_all_problems_are_reported_together_with_their_paths():
    with pytest.raises(ConfigError) as caught:
        config_module.parse(
            {
                "local_authority": {"code": "681"},
                "directory": {
                    "url": "ldap://ldap.example.org",
                    "flavour": "novell",
                    "page_size": "lots",
                    "password": "inline",
                    "bind_dn": "cn=x",
                },
                "policy": {"timezone": "Europe/Cardiff", "academic_year_end": "31-08", "inactivty_days": 90},
                "schedule": {"sweep": ["2am"]},
                "surprise": 1,
            }
        )
    problems = "\n".join(caught.value.problems)
    for expected in [
        "at 'local_authority.name': is required",
        "at 'directory.base_dn': is required",
        "at 'directory.flavour': expected one of openldap, active-directory, 389ds, got 'novell'",
        "at 'directory.page_size': expected a whole number from 1 to 10000, got 'lots'",
        "at 'directory.url': 'ldap://ldap.example.org' would send the bind password in clear text",
        "at 'directory.password': an inline password is allowed only for the embedded demo directory",
        "at 'policy.timezone': unknown time zone 'Europe/Cardiff'",
        "at 'policy.academic_year_end': expected MM-DD such as 08-31, got '31-08'",
        "at 'policy.inactivty_days': unknown key (a typo?)",
        "at 'schedule.sweep[0]': expected a local time HH:MM or an interval",
        "at 'surprise': unknown key (a typo?)",
    ]:
        assert expected in problems
    assert "inline" not in problems.replace("an inline password", "")


def test_plain_ldap_is_allowed_on_loopback_or_when_explicitly_allowed():
    base = {"local_authority": {"code": "1", "name": "x"}}
    for directory in (
        {"url": "ldap://127.0.0.1:3890", "base_dn": "dc=x"},
        {"url": "ldap://ldap.la.example", "base_dn": "dc=x", "allow_plaintext": True},
        {"url": "ldap://ldap.la.example", "base_dn": "dc=x", "start_tls": True},
    ):
        assert config_module.parse({**base, "directory": directory}).directory.url == directory["url"]


def test_password_env_and_schedule_intervals(monkeypatch):
    monkeypatch.setenv("HWB_TEST_PASSWORD", "from-env")
    parsed = config_module.parse(
        {
            "local_authority": {"code": "1", "name": "x"},
            "directory": {
                "url": "ldaps://ldap.example.org",
                "base_dn": "dc=x",
                "bind_dn": "cn=a",
                "password_env": "HWB_TEST_PASSWORD",
            },
            "schedule": {"sweep": ["02:00", "13:30"]},
        }
    )
    assert parsed.directory.password.reveal() == "from-env"
    assert [t.strftime("%H:%M") for t in parsed.schedule.sweep_times] == ["02:00", "13:30"]
    assert parsed.schedule.sweep_interval_minutes is None


def test_cli_exits_2_and_names_the_yaml_path(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "local_authority: {code: '1', name: x}\ndirectory: {url: 'mock:', base_dn: 'dc=x', page_size: 0}\n"
    )
    assert main(["--config", str(path), "sweep", "--dry-run"]) == 2
    assert "at 'directory.page_size'" in capsys.readouterr().err


def test_cli_reports_broken_yaml_with_its_line(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("directory:\n  url: [unclosed\n")
    assert main(["--config", str(path), "check-config"]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err


def test_an_unreadable_password_file_is_one_problem_not_two(tmp_path):
    from agent.settings.config import ConfigError, parse

    data = {"local_authority": {"code": "681", "name": "Cardiff"},
            "directory": {"url": "ldaps://ldap.example.org", "base_dn": "dc=example,dc=org",
                          "bind_dn": "cn=agent,dc=example,dc=org", "password_file": "missing-file"}}
    try:
        parse(data, "<test>", tmp_path)
    except ConfigError as error:
        assert len(error.problems) == 1 and "cannot read" in error.problems[0]
    else:
        raise AssertionError("a missing password file must be refused")
