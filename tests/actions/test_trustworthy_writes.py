"""Issue 11: no change without its record (audit sink proven first, write-ahead intents settled on
start), one writer at a time, conditional single-account writes. Embedded directory and slapd."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.actions.audit import AuditTrail
from agent.actions.writeahead import settle_intents, unsettled_intents
from agent.cli import main
from agent.core import changes
from agent.core.model import Reason
from agent.core.records import AuditRecord
from agent.settings import config as config_module
from tests.builders import write_config

REPO = Path(__file__).resolve().parents[2]


def _outcomes(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("phase") != "intent"]


def _unwritable(tmp_path: Path) -> Path:
    """An audit path that cannot be created even by root: its folder is a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker / "audit.jsonl"


WRITING_COMMANDS = [
    ["sweep"],
    ["requests"],
    ["extend", "x.unknown", "--duration", "1m", "--by", "admin"],
    ["activate", "x.unknown", "--by", "admin"],
    ["service-desk-reactivate", "x.unknown", "--by", "desk", "--ticket", "T1"],
    ["request-activation", "x.unknown", "--by", "admin"],
    ["create", "--type", "governor", "--given-name", "A", "--surname", "B", "--mail", "a@b.example",
     "--sponsor", "admin", "--duration", "1m"],
    ["import-mis", "no-such-package"],
]


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=lambda command: command[0])
def test_unwritable_audit_path_exits_1_naming_it_and_changes_nothing_on_the_embedded_directory(
        tmp_path, capsys, command):
    audit = _unwritable(tmp_path)
    config = write_config(tmp_path, {"logging": {"audit_file": str(audit)}})
    assert main(["--config", str(config), "sweep", "--dry-run", "--json"]) == 0  # a dry run needs none
    state = (tmp_path / "state.json")
    before = state.read_bytes() if state.exists() else None
    capsys.readouterr()
    if command[0] == "import-mis":
        packages = sorted(path for path in (REPO / "tests/data/oneroster").glob("*") if path.is_dir())
        command = ["import-mis", str(packages[0] if packages else tmp_path)]
    code = main(["--config", str(config), *command])
    err = capsys.readouterr().err
    if command[0] == "import-mis" and code == 2:
        pytest.skip("no usable demo package for import-mis here")  # unusable feed: refused earlier
    assert code == 1, err
    assert f"cannot write the audit file {audit}: " in err and "nothing was changed" in err
    after = state.read_bytes() if state.exists() else None
    assert after == before


def test_check_config_reports_an_unwritable_audit_path(tmp_path, capsys):
    audit = _unwritable(tmp_path)
    config = write_config(tmp_path, {"logging": {"audit_file": str(audit)}})
    assert main(["--config", str(config), "check-config"]) == 1
    out = capsys.readouterr().out
    assert f"MISSING: audit file {audit}" in out


def test_audit_file_is_created_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        trail = AuditTrail(tmp_path / "logs" / "audit.jsonl")
        trail.prove_writable()
        trail.close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "logs" / "audit.jsonl").stat().st_mode) == 0o600


def test_every_sweep_change_has_an_intent_and_one_outcome_with_its_id(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sweep", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    intents = [line for line in lines if line.get("phase") == "intent"]
    outcomes = [line for line in lines if line.get("phase") == "outcome"]
    assert len(intents) == len(outcomes) == len(report["actions"]) + len(report["requests"]) > 0
    assert Counter(line["intent"] for line in outcomes) == Counter(line["intent"] for line in intents)
    assert not unsettled_intents(tmp_path / "audit.jsonl")
    # A second sweep: nothing new, no write, no new line (C-5).
    count = len(lines)
    assert main(["--config", str(config), "sweep"]) == 0
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == count


def _dead_writer() -> dict:
    """A writer identity of a process that has ended (a real pid, reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    import socket
    return {"host": socket.gethostname(), "pid": int(child.stdout), "started": "0"}


def test_intents_left_by_a_killed_writer_are_settled_on_start_applied_or_not(tmp_path, capsys):
    config_path = write_config(tmp_path)
    config = config_module.load(config_path)
    assert main(["--config", str(config_path), "sweep", "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["actions"]
    disables = [row for row in planned if row["action"] == "disable"][:2]
    from agent.actions.session import open_directory
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    audit_path = tmp_path / "audit.jsonl"
    trail = AuditTrail(audit_path)
    with open_directory(config) as directory:
        applied_row, lost_row = disables
        for row, send in ((applied_row, True), (lost_row, False)):
            account = directory.find("uid", row["uid"])[0]
            change = changes.disable(Reason(row["reason"]), now)
            before, after = changes.before_after(account, change)
            trail._writer = _dead_writer()  # as the killed process wrote it
            trail.intend(AuditRecord(event="account_disabled", dn=account.dn, uid=account.uid,
                                     rule=row["rule"], actor="agent", before=before, after=after,
                                     time=now), changes.change_data(change))
            if send:
                directory.write_change(account, change)  # applied, then killed before the outcome
    trail.close()
    assert len(unsettled_intents(audit_path)) == 2
    # The next writing command settles both before it writes.
    assert main(["--config", str(config_path), "sweep", "--json"]) == 0
    capsys.readouterr()
    assert not unsettled_intents(audit_path)
    outcomes = _outcomes(audit_path)
    by_uid = Counter((line["uid"], line["event"]) for line in outcomes)
    assert by_uid[(applied_row["uid"], "account_disabled")] == 1  # settled as applied, not redone
    assert by_uid[(lost_row["uid"], "change_not_applied")] == 1
    assert by_uid[(lost_row["uid"], "account_disabled")] == 1  # done again by this sweep, audited once


def test_intents_of_a_writer_still_running_are_left_to_it(tmp_path):
    config = config_module.load(write_config(tmp_path))
    trail = AuditTrail(tmp_path / "audit.jsonl")
    trail.intend(AuditRecord(event="account_disabled", dn="uid=x,ou=people,dc=test", uid="x", rule="MIS-2",
                             actor="agent", before={}, after={}), {"kind": "purge"})
    from agent.actions.session import open_directory
    with open_directory(config) as directory:
        assert settle_intents(directory, trail, datetime.now(UTC)) == []  # this very process
    trail.close()
    assert len(unsettled_intents(tmp_path / "audit.jsonl")) == 1


def test_two_sweeps_started_together_on_the_embedded_directory_apply_each_change_once(tmp_path):
    config = write_config(tmp_path)
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "sweep", "--json"],
                             cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    actions = [len(json.loads(out)["actions"]) for out, _ in results]
    assert sorted(actions)[0] == 0 and sorted(actions)[1] > 0  # one did it all, the other found nothing
    outcomes = [line for line in _outcomes(tmp_path / "audit.jsonl")
                if line["event"] in ("account_disabled", "account_enabled", "account_purged")]
    assert len(outcomes) == max(actions)
    assert len({(line["dn"], line["event"]) for line in outcomes}) == len(outcomes)


def test_a_bulk_command_gives_up_after_its_wait_naming_the_holder(tmp_path, capsys):
    config = write_config(tmp_path)
    from agent.actions.writer import LocalLock, lock_path
    holder = LocalLock(lock_path(config_module.load(config)))
    assert holder.acquire(0)
    try:
        assert main(["--config", str(config), "sweep", "--wait", "0.3"]) == 1
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and "nothing was changed" in err
    finally:
        holder.release()
    assert not (tmp_path / "audit.jsonl").exists() or not _outcomes(tmp_path / "audit.jsonl")
