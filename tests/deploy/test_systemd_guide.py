"""deploy/systemd/README.md: the install, wheel, upgrade and rollback blocks run as written, and the
logrotate snippet parses and rotates.

The guide's settings here: CHECKOUT is a clone of a throwaway "origin" made from this repository's
HEAD with two release tags (v0.1.0 = HEAD, v0.1.1 = HEAD with the version raised), PREFIX a
temporary virtual environment, VERSION v0.1.1, PREVIOUS v0.1.0. The dependencies come from the
configured Python index, as on a server. ``systemctl`` is a stand-in on PATH that records its
arguments: the test checks that the upgrade and the rollback restart every instance.

Not run (need systemd as PID 1, root-owned /etc or a real credential): the unit install block
(``install ... /etc/systemd/system``, ``daemon-reload``), "Credentials", "Start, reload, stop"
(``systemd-run``, ``systemctl enable/reload/status``), "Logs and metrics" (``journalctl``,
``curl``; tests/service covers metrics), the lease LDIF (loaded by tests/servers/slapd.py via
deploy/openldap/service-account.ldif) and the hardening drop-in (tests/service/test_unit_file.py
verifies the unit).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.guide import REPO, run_guide

GUIDE = REPO / "deploy" / "systemd" / "README.md"
SNIPPET = REPO / "deploy" / "systemd" / "hwb-agent.logrotate"
UNIT = REPO / "deploy" / "systemd" / "hwb-agent@.service"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _stand_in(folder: Path, name: str, log: Path) -> Path:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
    tool.chmod(0o755)
    return folder


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    """A bare origin with tags v0.1.0 (this HEAD) and v0.1.1 (the version raised)."""
    origin = tmp_path / "origin.git"
    _git("clone", "--quiet", "--bare", str(REPO), str(origin), cwd=tmp_path)
    work = tmp_path / "release-work"
    _git("clone", "--quiet", str(origin), str(work), cwd=tmp_path)
    for key, value in (("user.name", "release test"), ("user.email", "release@example.org")):
        _git("config", key, value, cwd=work)
    _git("tag", "v0.1.0", cwd=work)
    project = work / "pyproject.toml"
    text, count = re.subn(r'(?m)^version = ".*"$', 'version = "0.1.1"', project.read_text())
    assert count == 1
    project.write_text(text)
    _git("commit", "--quiet", "-am", "release 0.1.1", cwd=work)
    _git("tag", "v0.1.1", cwd=work)
    _git("push", "--quiet", "origin", "HEAD:refs/heads/release", "v0.1.0", "v0.1.1", cwd=work)
    return origin


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_install_wheel_upgrade_and_rollback_as_written(releases: Path, tmp_path: Path):
    checkout = tmp_path / "checkout"
    _git("clone", "--quiet", str(releases), str(checkout), cwd=tmp_path)
    _git("checkout", "--quiet", "v0.1.0", cwd=checkout)
    calls = tmp_path / "systemctl.calls"
    bin_dir = _stand_in(tmp_path / "bin", "systemctl", calls)
    completed = run_guide(GUIDE, {
        "CHECKOUT": str(checkout), "PREFIX": str(tmp_path / "opt-hwb-agent"),
        "VERSION": "v0.1.1", "PREVIOUS": "v0.1.0",
    }, extra_env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=900)
    versions = re.findall(r"^Version: (\S+)$", completed.stdout, re.M)
    assert versions == ["0.1.0", "0.1.1", "0.1.0"], completed.stdout  # install, upgrade, rollback
    assert list((checkout / "dist").glob("hwb_agent-*.whl")), "the wheel block built no wheel"
    assert calls.read_text().splitlines() == ["systemctl restart hwb-agent@*.service"] * 2
    assert (tmp_path / "opt-hwb-agent" / "bin" / "hwb-agent").is_file()  # what ExecStart= runs
    assert "ExecStart=/opt/hwb-agent/bin/hwb-agent " in UNIT.read_text()


@pytest.fixture
def logrotate() -> str:
    tool = shutil.which("logrotate") or shutil.which("logrotate", path="/usr/sbin:/sbin")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("logrotate is required in CI (.ci/install-servers.sh installs it)")
        pytest.skip("logrotate is not installed (apt-get install logrotate)")
    return tool


def test_the_logrotate_snippet_parses(logrotate: str, tmp_path: Path):
    completed = subprocess.run([logrotate, "-d", "--state", str(tmp_path / "state"), str(SNIPPET)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "error" not in completed.stderr.lower(), completed.stderr
    assert "rotating pattern: /var/log/hwb-agent/*/audit.jsonl" in completed.stderr


def test_the_logrotate_snippet_covers_the_units_logs_directory_and_signals_every_instance(
        logrotate: str, tmp_path: Path):
    unit = UNIT.read_text()
    assert "LogsDirectory=hwb-agent/%i\n" in unit and "ExecReload=/bin/kill -HUP $MAINPID\n" in unit
    logs = tmp_path / "log" / "hwb-agent"
    (logs / "cardiff").mkdir(parents=True)
    (logs / "cardiff" / "audit.jsonl").write_text('{"event": "change"}\n')
    text = SNIPPET.read_text().replace("/var/log/hwb-agent/", f"{logs}/")
    if os.geteuid() != 0:
        text = text.replace("    su root root\n", "")
    config = tmp_path / "hwb-agent.logrotate"
    config.write_text(text)
    calls = tmp_path / "systemctl.calls"
    bin_dir = _stand_in(tmp_path / "bin", "systemctl", calls)
    completed = subprocess.run([logrotate, "-f", "--state", str(tmp_path / "state"), str(config)],
                               capture_output=True, text=True, check=False,
                               env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert completed.returncode == 0, completed.stderr
    assert (logs / "cardiff" / "audit.jsonl.1").read_text() == '{"event": "change"}\n'
    assert calls.read_text().splitlines() == ["systemctl reload hwb-agent@*.service hwb-agent-web@*.service"]
