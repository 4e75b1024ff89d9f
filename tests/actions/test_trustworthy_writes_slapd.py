"""Issue 11 on a real slapd (its own server per test, tests/servers/slapd.start_slapd()): two sweeps
started together change and audit each due account once; an unwritable audit path changes nothing;
a single-account operation that lost a race to a sweep fails cleanly instead of doubling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.actions.session import open_directory
from agent.core import changes
from agent.core.errors import DirectoryWriteError
from agent.core.model import Reason
from agent.settings import config as config_module
from tests.service.agent_process import (
    REPO,
    account_states,
    audit_records,
    complete_or_untouched,
    load_due_learners,
    slapd_config,
    successful_modifies,
)

pytestmark = pytest.mark.slapd


@pytest.fixture
def server(private_slapd):
    """This module's slapd: its own, since its tests kill or stop it."""
    return private_slapd


def _sweep(config: Path, server) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HWB_TEST_AGENT_PASSWORD": server.agent_password}
    return subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "sweep", "--json"],
                            cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_sweeps_started_together_on_slapd_apply_and_audit_each_change_once(server, tmp_path):
    due = load_due_learners(server, 1000)
    audit = tmp_path / "audit.jsonl"
    config = slapd_config(tmp_path / "agent.yaml", server, audit=audit)
    runs = [_sweep(config, server) for _ in range(2)]
    results = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in results]
    applied = sorted(len(json.loads(out)["actions"]) for out, _ in results)
    print(f"two sweeps together: {applied} changes applied by each")
    assert applied == [0, len(due)]
    changed, untouched = complete_or_untouched(account_states(server))
    assert untouched == set() and len(changed) == len(due)
    written = successful_modifies(server)
    assert {dn: count for dn, count in written.items() if dn in changed and count != 1} == {}, "written twice"
    audited = Counter(record["dn"].lower() for record in audit_records(audit))
    assert set(audited) == changed and set(audited.values()) == {1}
    # hwbDisabledAt not overwritten: one value per account, the one audited.
    with server.connect() as connection:
        connection.search(server.base_dn, "(hwbDisabledAt=*)", attributes=["hwbDisabledAt"])
        assert len(connection.response) == len(due)


def test_unwritable_audit_path_on_slapd_exits_1_naming_it_and_changes_nothing(server, tmp_path):
    due = load_due_learners(server, 20)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    audit = blocker / "audit.jsonl"
    config = slapd_config(tmp_path / "agent.yaml", server, audit=audit)
    writes = server.write_count()
    run = _sweep(config, server)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert f"cannot write the audit file {audit}" in err and "nothing was changed" in err
    assert server.write_count() == writes
    changed, untouched = complete_or_untouched(account_states(server))
    assert changed == set() and len(untouched) == len(due)


def test_a_single_account_change_that_lost_a_race_on_slapd_fails_instead_of_doubling(server, tmp_path,
                                                                                       monkeypatch):
    [dn] = load_due_learners(server, 1)
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", server.agent_password)
    config = config_module.load(slapd_config(tmp_path / "agent.yaml", server, audit=tmp_path / "a.jsonl"))
    now = datetime.now(UTC)
    with open_directory(config) as directory:
        stale = directory.find("uid", "leaver00000")[0]
        directory.write_change(stale, changes.disable(Reason.LEFT, now))  # the sweep got there first
        with pytest.raises(DirectoryWriteError, match="lost race"):
            directory.write_change(stale, changes.disable(Reason.POLICY, now), conditional=True)
        current = directory.find("uid", "leaver00000")[0]
    assert current.disabled_reason is Reason.LEFT and current.disabled_at == now.replace(microsecond=0)
