"""The console's systemd unit (deploy/systemd/hwb-agent-web@.service, issue 13): it verifies, every
directive is commented, it is hardened like hwb-agent@.service, and both run as one dynamic user so
that they share the audit file."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.service.test_unit_file import INSTALLED_BINARY, MAX_EXPOSURE, run, systemd_analyze  # noqa: F401

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
WEB_UNIT = UNITS / "hwb-agent-web@.service"


@pytest.fixture
def web_instance(tmp_path) -> Path:
    text = WEB_UNIT.read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    copy = tmp_path / "hwb-agent-web@cardiff.service"
    copy.write_text(text.replace(INSTALLED_BINARY, sys.executable), encoding="utf-8")
    return copy


def test_the_web_unit_verifies_without_warnings(systemd_analyze, web_instance):  # noqa: F811
    result = run(systemd_analyze, "verify", str(web_instance))
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "hwb-agent" in line] == []


def test_the_web_unit_exposure_score_is_low(systemd_analyze, web_instance):  # noqa: F811
    result = run(systemd_analyze, "security", "--offline=yes", str(web_instance))
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found[1]) <= MAX_EXPOSURE, result.stdout


def test_every_directive_of_the_web_unit_has_a_comment_line_above_it():
    lines = WEB_UNIT.read_text(encoding="utf-8").splitlines()
    uncommented = [line for previous, line in zip(["#"] + lines, lines, strict=False)
                   if "=" in line and not line.startswith("#") and not previous.startswith("#")]
    assert uncommented == []


def test_the_console_runs_as_the_agents_user_with_its_credentials():
    web = WEB_UNIT.read_text(encoding="utf-8")
    agent = (UNITS / "hwb-agent@.service").read_text(encoding="utf-8")
    for setting in ("User=hwb-agent-%i", "DynamicUser=yes", "LogsDirectory=hwb-agent/%i",
                    "StateDirectory=hwb-agent/%i"):
        assert setting in web and setting in agent, setting
    assert f"ExecStart={INSTALLED_BINARY} --config /etc/hwb-agent/%i.yaml web" in web
    assert "LoadCredential=session-secret:" in web and "LoadCredential=bind-password:" in web
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n",
                    "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"):
        assert setting in web, setting
