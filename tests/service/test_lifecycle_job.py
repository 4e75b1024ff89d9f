"""LifecycleJob on the embedded directory: a write whose reply is lost with the connection.

The server applies a modify whole or not at all (C-4), but when the connection drops
between the request and the reply the agent cannot know which. The job remembers the
change and, once the directory answers again, audits it if it was applied (C-6) or
leaves it to the plan if it was not: every change is audited exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agent.actions.audit import AuditTrail
from agent.core.errors import DirectoryUnavailable
from agent.directory.gateway import Directory
from agent.service.lifecycle_job import LifecycleJob
from agent.settings import config as config_module
from tests.builders import write_config
from tests.service.agent_process import audit_records


def lose_the_reply_of_write(monkeypatch, number: int, *, applied: bool) -> list[str]:
    """Make the `number`th write_change raise DirectoryUnavailable, after or instead of writing."""
    original = Directory.write_change
    calls: list[str] = []

    def write_change(self, account, change, **options):
        calls.append(account.dn)
        if len(calls) == number:
            if applied:
                original(self, account, change, **options)
            raise DirectoryUnavailable("directory connection lost during modify: socket closed")
        return original(self, account, change, **options)

    monkeypatch.setattr(Directory, "write_change", write_change)
    return calls


# The demo's first write answers its pending portal request (C-1); the third is a sweep's change.
@pytest.mark.parametrize("number", [1, 3], ids=["activation-request", "sweep-change"])
@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_a_change_whose_reply_was_lost_is_audited_once_whether_or_not_the_server_applied_it(
        tmp_path: Path, monkeypatch, applied: bool, number: int):
    config = config_module.load(write_config(tmp_path))
    audit_path = tmp_path / "audit.jsonl"
    audit = AuditTrail(audit_path, host="host-a")
    job = LifecycleJob(config, lambda: False, audit)
    try:
        check_lost_reply(job, audit_path, monkeypatch, applied, number)
    finally:
        job.close()
        audit.close()


def check_lost_reply(job: LifecycleJob, audit_path: Path, monkeypatch, applied: bool, number: int) -> None:
    calls = lose_the_reply_of_write(monkeypatch, number, applied=applied)
    with pytest.raises(DirectoryUnavailable):
        job.sweep()
    lost = calls[number - 1]
    assert lost not in {record["dn"] for record in audit_records(audit_path)}

    summary = job.sweep()  # the directory is back
    assert not summary.interrupted
    records = audit_records(audit_path)
    audited = Counter(record["dn"] for record in records)
    assert {dn: count for dn, count in audited.items() if count != 1} == {}
    [record] = [record for record in records if record["dn"] == lost]
    assert record["host"] == "host-a"
    # Applied: audited on reconnecting, marked so. Not applied: planned and written again, as usual.
    assert ("confirmed" in record) is applied
    assert job.sweep().changed == 0  # C-5


def test_a_sweep_stopped_by_the_service_does_not_read_every_account_to_count_them(tmp_path: Path):
    config = config_module.load(write_config(tmp_path))
    audit = AuditTrail(None)
    stop = {"now": False}
    job = LifecycleJob(config, lambda: stop["now"], audit)
    try:
        stop["now"] = True
        stopped = job.sweep()  # the first sweep is a full one
        assert stopped.interrupted and stopped.accounts is None
        stop["now"] = False
        finished = job.sweep()
        assert not finished.interrupted and finished.accounts  # still full: the stopped one did not count
    finally:
        job.close()
