"""The audit trail (C-6): every record flushed at once; fsync per record, or per window in a batch."""

from __future__ import annotations

import json

from agent.actions import audit as audit_module
from agent.actions.audit import AuditTrail


def _record(trail: AuditTrail, index: int) -> None:
    trail.record(event="account_disabled", dn=f"uid=u{index},ou=people,dc=x", uid=f"u{index}", rule="MIS-2",
                 actor="agent", before={"enabled": True}, after={"enabled": False})


def test_group_commit_fsyncs_once_per_window_and_on_leaving_while_every_record_is_written(
        tmp_path, monkeypatch):
    synced: list[int] = []
    monkeypatch.setattr(audit_module.os, "fsync", synced.append)
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    _record(trail, 0)
    assert len(synced) == 1  # outside a batch: one fsync per record
    with trail.group_commit(3):
        for index in range(1, 8):
            _record(trail, index)
            # flushed at once: a crash of the agent loses nothing
            assert len(path.read_text().splitlines()) == index + 1
        assert len(synced) == 1 + 2  # after the 3rd and 6th record of the batch
    assert len(synced) == 1 + 3  # the 7th, on leaving the batch
    _record(trail, 8)
    assert len(synced) == 5  # per record again
    trail.close()
    assert [json.loads(line)["uid"] for line in path.read_text().splitlines()] == [f"u{i}" for i in range(9)]
