"""The audit trail's additions for the console (issue 13): every record written inside
`audit_context` carries the administrator's address; `account_history` reads one account's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from agent.actions.audit import AuditTrail, account_history, audit_context
from agent.core.records import AuditRecord

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _record(uid: str, event: str = "account_extended", **extra) -> AuditRecord:
    return AuditRecord(event=event, dn=f"uid={uid},ou=people", uid=uid, rule="NM-6", actor="admin.cardiff",
                       before={}, after={}, time=NOW, extra=extra)


def test_records_written_in_a_context_carry_its_fields_and_intents_too(tmp_path):
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    with audit_context(address="198.51.100.4", via="web"):
        outcome = trail.intend(_record("a.b"), {"replace": {}})
        trail.write(outcome)
        trail.write(_record("c.d", address="kept"))  # a record's own value wins
    trail.write(_record("e.f"))  # outside: nothing added
    trail.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line.get("address") for line in lines] == ["198.51.100.4", "198.51.100.4", "kept", None]
    assert lines[0]["phase"] == "intent" and lines[0]["via"] == "web"


def test_account_history_is_one_accounts_outcomes_newest_first(tmp_path):
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    for index in range(5):
        trail.write(_record("a.b", detail_index=index))
        trail.write(_record("a.bc"))  # a uid that contains the other one is not it
    trail.intend(_record("a.b"), None)  # intents are the write-ahead log, not history
    trail.close()
    with path.open("a") as stream:
        stream.write('{"uid": "a.b", broken\n')
    history = account_history(path, "A.B", limit=3)
    assert [entry["detail_index"] for entry in history] == [4, 3, 2]
    assert account_history(path, "nobody") == [] and account_history(tmp_path / "none.jsonl", "a.b") == []


def test_the_history_index_reads_only_what_was_appended_and_follows_a_rotation(tmp_path):
    from agent.actions.audit import HistoryIndex
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    trail.write(_record("a.b", step=1))
    trail.intend(_record("a.b"), None)
    index = HistoryIndex(path)
    assert [entry["step"] for entry in index.history("a.b")] == [1]
    trail.write(_record("a.b", step=2))
    trail.write(_record("x.y", step=3))
    assert [entry["step"] for entry in index.history("A.B")] == [2, 1]
    assert index.history("a.b") == account_history(path, "a.b")
    trail.close()
    path.rename(tmp_path / "audit.jsonl.1")  # logrotate, then the writer reopens (SIGHUP)
    trail = AuditTrail(path)
    trail.write(_record("a.b", step=4))
    trail.close()
    assert [entry["step"] for entry in index.history("a.b")] == [4]
    assert index.history("x.y") == [] and HistoryIndex(tmp_path / "none").history("a.b") == []
