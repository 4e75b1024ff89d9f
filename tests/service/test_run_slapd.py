"""`hwb-agent run` as a real process against a real slapd: SIGTERM, outages, failover.

Each test starts its own slapd (tests/servers/slapd.start_slapd(), ~0.2 s, set up with
deploy/openldap) because it stops it, fills it with thousands of due accounts, or reads its
stats log; the session's shared server stays untouched. Every account below is a learner
who left on 1 July 2026, so one sweep disables all of them (MIS-2) and takes seconds.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.service.agent_process import (
    AgentProcess,
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


@pytest.fixture
def agent_env(server) -> dict[str, str]:
    return {"HWB_TEST_AGENT_PASSWORD": server.agent_password}


def test_sigterm_during_a_long_sweep_exits_in_seconds_leaving_no_account_half_changed(
        server, agent_env, tmp_path: Path):
    due = load_due_learners(server, 3000)
    audit = tmp_path / "audit.jsonl"
    config = slapd_config(tmp_path / "agent.yaml", server, audit=audit)
    with AgentProcess(config, env=agent_env).start() as agent:
        agent.wait_for("account_disabled", count=200)
        sent = agent.send(signal.SIGTERM)
        code = agent.wait()
        stop_seconds = time.monotonic() - sent
    print(f"SIGTERM -> exit: {stop_seconds:.2f} s")
    assert code == 0, agent.tail()
    assert stop_seconds < 5.0
    [(_, finished)] = agent.events("job_finished", job="sweep")
    assert finished["interrupted"] is True
    assert agent.count("service_stopped", reason="SIGTERM") == 1

    changed, untouched = complete_or_untouched(account_states(server))
    assert len(changed) + len(untouched) == len(due)
    assert 200 <= len(changed) < len(due), "the stop came mid-sweep"
    # What the server applied is exactly what the audit trail says, once each.
    audited = Counter(record["dn"].lower() for record in audit_records(audit))
    assert set(audited) == changed and set(audited.values()) == {1}
    assert set(successful_modifies(server)) & set(untouched) == set()


def test_slapd_stopped_mid_sweep_the_service_retries_then_converges_changing_each_account_once(
        server, agent_env, tmp_path: Path):
    due = load_due_learners(server, 1500)
    audit = tmp_path / "audit.jsonl"
    config = slapd_config(tmp_path / "agent.yaml", server, audit=audit)
    with AgentProcess(config, env=agent_env).start() as agent:
        agent.wait_for("account_disabled", count=200)
        server.stop()
        # Backoff 0.2, 0.4, 0.8, 1.0 s: one clear line per failed attempt, and the service stays up.
        agent.wait_for("directory_unavailable", count=4)
        assert agent.alive()
        server.start()
        agent.wait_for("directory_available")
        agent.wait_for("job_finished", job="sweep", where=lambda event: not event["interrupted"])
        assert agent.stop() == 0

    failures = [record for _, record in agent.events("directory_unavailable")]
    assert [record["attempt"] for record in failures] == list(range(1, len(failures) + 1))
    assert all(record["error"] and record["job"] == "sweep" for record in failures)
    print(f"outage: {len(failures)} failed attempts, e.g. {failures[-1]}")
    assert agent.count("job_failed") == 0

    changed, untouched = complete_or_untouched(account_states(server))
    assert untouched == set() and len(changed) == len(due)
    written = successful_modifies(server)
    assert {dn: count for dn, count in written.items() if dn in changed and count != 1} == {}
    audited = Counter(record["dn"].lower() for record in audit_records(audit))
    assert {dn: count for dn, count in audited.items() if count != 1} == {}, "a change audited twice"
    assert set(audited) == changed, f"changes without audit: {sorted(changed - set(audited))[:5]}"

    # C-5: a final sweep with nothing new writes nothing.
    writes = server.write_count()
    with AgentProcess(config, env=agent_env, command="sweep").start() as final:
        assert final.wait() == 0
    assert server.write_count() == writes


def test_two_services_on_one_authority_only_the_lease_holder_writes_and_a_killed_holder_is_replaced(
        server, agent_env, tmp_path: Path):
    due = load_due_learners(server, 1500)
    audits = {name: tmp_path / f"audit-{name}.jsonl" for name in ("host-a", "host-b")}
    configs = {name: slapd_config(tmp_path / f"{name}.yaml", server, audit=audits[name], lease_holder=name,
                                  lease_period=4)
               for name in audits}
    first = AgentProcess(configs["host-a"], env=agent_env, name="host-a")
    second = AgentProcess(configs["host-b"], env=agent_env, name="host-b")
    with first, second:
        first.start().wait_for("lease_taken")
        second.start().wait_for("lease_standby", current_holder="host-a")
        # A holder renews its 4 s lease during a sweep that outlasts it.
        first.wait_for("account_disabled", count=len(due) // 3)
        assert audit_records(audits["host-b"]) == [], "the standby wrote"
        killed = first.send(signal.SIGKILL)
        first.wait()
        taken_at, taken = second.wait_for("lease_taken")
        takeover_seconds = taken_at - killed
        print(f"SIGKILL of the holder -> standby holds the lease: {takeover_seconds:.2f} s")
        second.wait_for("job_finished", job="sweep", where=lambda event: not event["interrupted"])
        first_write_at, _ = second.wait_for("account_disabled")
        assert second.stop() == 0
    print(f"standby's first change {first_write_at - killed:.2f} s after the kill")

    assert takeover_seconds <= 4 * 1.25 + 1.0  # one period, a quarter period of polling, a start-up
    assert first_write_at > taken_at, "the standby wrote before it held the lease"
    renewals = [record for _, record in first.events("lease_state_changed")]
    assert not [record for record in renewals if not record["holds"]], "the holder lost its lease mid-sweep"

    changed, untouched = complete_or_untouched(account_states(server))
    assert untouched == set() and len(changed) == len(due)
    # No change is ever made twice: the server accepted one modify per account, from either host.
    written = successful_modifies(server)
    assert {dn: count for dn, count in written.items() if dn in changed and count != 1} == {}
    records = {name: audit_records(path) for name, path in audits.items()}
    assert {record["host"] for record in records["host-a"]} == {"host-a"}
    assert {record["host"] for record in records["host-b"]} == {"host-b"}
    audited = Counter(record["dn"].lower() for rows in records.values() for record in rows)
    assert {dn: count for dn, count in audited.items() if count != 1} == {}, "a change audited twice"
    # SIGKILL may land between a modify and its audit line: at most that one change goes unrecorded.
    assert len(changed - set(audited)) <= 1
