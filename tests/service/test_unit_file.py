"""The systemd template unit: it verifies, every directive is commented, and it is well hardened.

systemd-analyze is not on every developer machine: these tests skip without it, except in
CI (env CI set), where a missing tool fails the build instead of hiding the check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "hwb-agent@.service"
INSTALLED_BINARY = "/opt/hwb-agent/bin/hwb-agent"
# Measured with systemd 252: 1.1. Issue 6 asks for 2.0 or lower; this guards the hardening we have.
# If another systemd version scores the same file differently, adjust with a note, never above 2.0.
MAX_EXPOSURE = 1.1


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is required in CI (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed")
    return tool


@pytest.fixture
def instance_unit(tmp_path) -> Path:
    """A copy named like an instance (cardiff), its ExecStart pointing at a binary that exists here.

    verify checks that ExecStart's program is executable; the real path exists only where the
    agent is installed, so the copy runs the test's own Python instead.
    """
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    copy = tmp_path / "hwb-agent@cardiff.service"
    copy.write_text(text.replace(INSTALLED_BINARY, sys.executable), encoding="utf-8")
    return copy


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_unit_verifies_without_warnings(systemd_analyze, instance_unit):
    result = run(systemd_analyze, "verify", str(instance_unit))
    assert result.returncode == 0, result.stderr
    # Lines about other units (a container's missing targets) are not ours to fix.
    about_us = [line for line in result.stderr.splitlines() if "hwb-agent" in line]
    assert about_us == []


def test_the_exposure_score_is_low(systemd_analyze, instance_unit):
    result = run(systemd_analyze, "security", "--offline=yes", str(instance_unit))
    if "--offline" in result.stderr and result.returncode != 0 and not os.environ.get("CI"):
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found[1]) <= MAX_EXPOSURE, result.stdout


def test_every_directive_has_a_comment_line_above_it():
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    uncommented = [
        line for previous, line in zip(["#"] + lines, lines, strict=False)
        if "=" in line and not line.startswith("#") and not previous.startswith("#")
    ]
    assert uncommented == []


def test_the_unit_has_the_contracted_settings():
    text = UNIT.read_text(encoding="utf-8")
    for setting in (
        "Type=notify",
        f"ExecStart={INSTALLED_BINARY} --config /etc/hwb-agent/%i.yaml run",
        "Restart=on-failure",
        "LoadCredential=bind-password:",
        "StateDirectory=hwb-agent/%i",
        "LogsDirectory=hwb-agent/%i",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
    ):
        assert setting in text, setting
    assert re.search(r"^WatchdogSec=\d+s$", text, re.MULTILINE)
