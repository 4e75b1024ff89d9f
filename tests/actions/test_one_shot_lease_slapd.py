"""One writer per authority for one-shot bulk commands (issue 11 item 2, C-4): a `sweep` from a
second host waits for the directory lease that another host's `run` holds, for a bounded time, then
exits 1 naming the holder and changes nothing; once the holder has let the lease go, it proceeds.
A real slapd (the lease is a conditional modify only the server makes atomic)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.service.agent_process import REPO, AgentProcess, audit_records, load_due_learners, slapd_config

pytestmark = pytest.mark.slapd


def _one_shot_sweep(config: Path, env: dict[str, str], wait: float) -> tuple[int, dict, str, float]:
    began = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "agent", "--config", str(config), "sweep", "--json", "--wait", str(wait)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env}, capture_output=True, text=True,
        timeout=120)
    report = json.loads(run.stdout) if run.returncode == 0 else {}
    return run.returncode, report, run.stderr, time.monotonic() - began


def test_a_one_shot_sweep_waits_for_the_lease_of_a_running_service_then_names_it(
        private_slapd, tmp_path: Path):
    env = {"HWB_TEST_AGENT_PASSWORD": private_slapd.agent_password}
    due = load_due_learners(private_slapd, 20)
    holder_config = slapd_config(tmp_path / "host-a.yaml", private_slapd, audit=tmp_path / "a.jsonl",
                                 lease_holder="host-a", lease_period=30)
    # host-a holds the same authority's lease but sweeps a subtree with no accounts (the lease's own
    # ou), so that the due accounts are still due when host-b gets its turn.
    data = yaml.safe_load(holder_config.read_text())
    data["directory"]["base_dn"] = f"ou=services,{private_slapd.suffix}"
    holder_config.write_text(yaml.safe_dump(data))
    # host-b: another host (its own audit file, so its own local lock): only the lease stops it.
    other_config = slapd_config(tmp_path / "host-b.yaml", private_slapd, audit=tmp_path / "b.jsonl",
                                lease_holder="host-b", lease_period=30)
    with AgentProcess(holder_config, env=env, name="host-a").start() as holder:
        holder.wait_for("lease_taken")
        holder.wait_for("job_finished", job="sweep")
        code, _, stderr, waited = _one_shot_sweep(other_config, env, wait=1.5)
        assert code == 1, stderr
        assert "host-a" in stderr and "nothing was changed" in stderr
        assert 1.5 <= waited < 1.5 + 30, f"waited {waited:.1f} s for a 1.5 s wait"
        assert not [r for r in audit_records(tmp_path / "b.jsonl") if r.get("phase") != "intent"
                    and r.get("event") == "account_disabled"]
        holder.send(signal.SIGTERM)
        assert holder.wait() == 0, holder.tail()
    # The holder released its lease on leaving: host-b now takes it and sweeps the due accounts.
    code, report, stderr, _ = _one_shot_sweep(other_config, env, wait=5)
    assert code == 0, stderr
    disabled = {row["dn"].lower() for row in report["actions"] if row["action"] == "disable"}
    assert {dn.lower() for dn in due} <= disabled
