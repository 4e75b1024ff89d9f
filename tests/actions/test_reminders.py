"""Reminders to sponsors on the mock directory (issue 14; NM-8, NM-7, MIS-5, C-6): digests per
sponsor, recipients and their problems, once-only keys, dry run, a failed send recorded as nothing."""

from __future__ import annotations

import json
from dataclasses import replace as replaced
from datetime import timedelta

import pytest

from agent.actions.audit import AuditTrail
from agent.actions.reminders import MailUnavailable, remind
from agent.actions.session import open_directory
from agent.core.model import Category, Role
from agent.core.reminders import reminder_key
from agent.notify.message import plain_text
from tests.actions.reminder_population import (
    ADMINS,
    BASE,
    NOTIFY,
    NOW,
    TODAY,
    FakeSender,
    account,
    setup,
)
from tests.builders import left, load_config, non_mis
from tests.directory.populate import write_state


def _run(config, sender, **options):
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        try:
            return remind(directory, config, audit, NOW, sender=sender, **options)
        finally:
            audit.close()


def _keys(config, uid):
    with open_directory(config) as directory:
        return directory.read(f"uid={uid},{BASE}").reminders_sent


def _audit(config):
    return [json.loads(line) for line in config.logging.audit_file.read_text().splitlines()]


def test_digests_are_grouped_per_sponsor_at_the_boundary_days_and_problems_reported_per_account(tmp_path):
    config = setup(tmp_path)
    report = _run(config, None, dry_run=True)
    by_sponsor = {item.digest.sponsor: item.digest for item in report.digests}
    assert set(by_sponsor) == {"a.one", "a.two"}
    one = [(entry.uid, entry.reminder.kind, entry.reminder.threshold, entry.rule)
           for entry in by_sponsor["a.one"].entries]
    # 56 and 55 days within the 8-week threshold, 57 not; a purge in 28 days within the notice, 29 not.
    assert one == [("p28", "purge", 28, "NM-7"), ("n55", "expiry", 56, "NM-8"), ("n56", "expiry", 56, "NM-8")]
    two = [(entry.uid, entry.reminder.threshold) for entry in by_sponsor["a.two"].entries]
    assert two == [("n13", 14), ("n14", 14), ("n15", 56)]  # 15 days: still the 56-day reminder
    assert by_sponsor["a.one"].recipient == "a.one@test.example"
    problems = {(item.uid, item.sponsor, item.problem) for item in report.problems}
    assert problems == {("locked", "a.three", "disabled"), ("nomail", "a.four", "no mail"),
                        ("ghost", "nobody", "unknown"), ("twice", "a.five", "ambiguous")}
    assert all(item.status == "would send" for item in report.digests)


def test_a_dry_run_sends_and_records_nothing(tmp_path):
    config = setup(tmp_path)
    sender = FakeSender()
    report = _run(config, sender, dry_run=True)
    assert sender.sent == [] and len(report.digests) == 2
    assert _keys(config, "n56") == frozenset()
    assert not config.logging.audit_file.exists() or _audit(config) == []


def test_a_test_address_gets_one_digest_and_nothing_is_recorded(tmp_path):
    config = setup(tmp_path)
    sender = FakeSender()
    report = _run(config, sender, dry_run=True, test_address="tester@test.example")
    assert [digest.recipient for digest in sender.sent] == ["tester@test.example"]
    assert report.digests[0].status == "test sent"
    assert _keys(config, "n56") == frozenset() and _keys(config, "p28") == frozenset()


def test_each_reminder_is_sent_once_recorded_and_audited(tmp_path):
    config = setup(tmp_path)
    sender = FakeSender()
    report = _run(config, sender)
    assert [(digest.recipient, [entry.uid for entry in digest.entries]) for digest in sender.sent] == [
        ("a.one@test.example", ["p28", "n55", "n56"]), ("a.two@test.example", ["n13", "n14", "n15"])]
    assert not report.failed
    assert _keys(config, "n56") == {reminder_key(56, "expiry", TODAY + timedelta(days=56))}
    assert _keys(config, "p28") == {reminder_key(28, "purge", TODAY + timedelta(days=28))}
    assert _keys(config, "n57") == frozenset() and _keys(config, "locked") == frozenset()
    records = _audit(config)
    sent = [record for record in records if record["event"] == "reminder_sent"]
    assert [(record["sponsor"], record["accounts"], record["thresholds"]) for record in sent] == [
        ("a.one", ["p28", "n55", "n56"], [56, 28]), ("a.two", ["n13", "n14", "n15"], [56, 14])]
    assert sent[0]["rule"] == "NM-7,NM-8" and sent[0]["dn"] == f"uid=a.one,{ADMINS}"
    claimed = [record for record in records if record["event"] == "reminder_claimed"]
    assert len(claimed) == 6 and all(record.get("phase") == "outcome" for record in claimed)
    assert claimed[0]["after"]["reminders_sent"] and claimed[0]["before"] == {"reminders_sent": []}
    # Re-run: nothing is due again.
    again = FakeSender()
    assert _run(config, again).digests == [] and again.sent == []


def test_the_mail_server_down_records_nothing_and_the_next_run_sends_once(tmp_path):
    config = setup(tmp_path)
    report = _run(config, FakeSender(fail=MailUnavailable("cannot connect to 127.0.0.1:25")))
    assert report.failed and "cannot connect" in report.error
    assert [item.status for item in report.digests] == ["failed", "skipped"]
    assert _keys(config, "n56") == frozenset() and _keys(config, "n14") == frozenset()
    events = [record["event"] for record in _audit(config) if record.get("phase") != "intent"]
    assert "reminder_sent" not in events and events.count("reminder_released") == events.count(
        "reminder_claimed") == 3
    sender = FakeSender()
    assert not _run(config, sender).failed and len(sender.sent) == 2
    assert _run(config, FakeSender()).digests == []


def test_a_refused_recipient_fails_only_its_digest(tmp_path):
    config = setup(tmp_path)
    sender = FakeSender(refuse={"a.two@test.example"})
    report = _run(config, sender)
    assert [item.status for item in report.digests] == ["sent", "failed"] and report.failed
    assert _keys(config, "n14") == frozenset() and _keys(config, "n56")


def test_the_fallback_address_gets_what_no_sponsor_can(tmp_path):
    config = setup(tmp_path, {"fallback_address": "hwb-admins@test.example"})
    sender = FakeSender()
    _run(config, sender)
    fallback = [digest for digest in sender.sent if digest.recipient == "hwb-admins@test.example"]
    assert sorted(digest.sponsor for digest in fallback) == ["a.five", "a.four", "a.three", "nobody"]
    assert all(digest.fallback_because for digest in fallback)
    assert _keys(config, "ghost") == {reminder_key(14, "expiry", TODAY + timedelta(days=10))}


def test_an_extension_moves_the_date_so_a_new_reminder_follows_and_the_old_key_is_pruned(tmp_path):
    config = setup(tmp_path, accounts=[account("n14", "a.two", 14)])
    _run(config, FakeSender())
    old = reminder_key(14, "expiry", TODAY + timedelta(days=14))
    assert _keys(config, "n14") == {old}
    with open_directory(config) as directory:  # extended: a new expiry date, 50 days ahead
        directory.modify(f"uid=n14,{BASE}", [("hwbExpiryDate", "replace", ("20270105000000Z",))])
    sender = FakeSender()
    _run(config, sender)
    assert [entry.reminder.key for entry in sender.sent[0].entries] == ["56:expiry:2027-01-05"]
    assert _keys(config, "n14") == {"56:expiry:2027-01-05"}


@pytest.mark.parametrize("flavour", ["active-directory", "389ds"])
def test_other_flavours_plan_the_same_digests(tmp_path, flavour):
    config = load_config(tmp_path, {"notifications": NOTIFY}, flavour=flavour)
    root = ("dc=test,dc=example", {"objectClass": ["dcObject", "organization"], "dc": ["test"], "o": ["t"]})
    write_state(config, [account("n14", "a.two", 14)], [root])
    report = _run(config, FakeSender())
    assert [(item.uid, item.problem) for item in report.problems] == [("n14", "unknown")]


def test_an_mis_staff_leaver_with_a_sponsor_is_announced_under_mis5_and_protected_accounts_never(tmp_path):
    purge_on = TODAY + timedelta(days=20)
    # MIS-5: purged 12 months after the leaving date (the agent disabled it then).
    leaving = purge_on.replace(year=purge_on.year - 1)
    staff_leaver = replaced(non_mis(dn=f"uid=s.leaver,{BASE}", uid="s.leaver", sponsor="a.one",
                                    category=Category.MIS, role=Role.STAFF, non_mis_type=None,
                                    expiry_date=None, mis_id="S123", school="6812001",
                                    leaving_date=leaving),
                            **left(leaving))
    protected = account("hwb-breakglass", "a.one", 10)  # C-2 (the test configuration protects it)
    config = setup(tmp_path, accounts=[staff_leaver, protected])
    report = _run(config, None, dry_run=True)
    [digest] = [item.digest for item in report.digests]
    assert [(entry.uid, entry.reminder.kind, entry.reminder.on, entry.rule) for entry in digest.entries] == [
        ("s.leaver", "purge", purge_on, "MIS-5")]
    # The action for an MIS staff leaver is the service desk's (MIS-4), not an administrator's.
    text = plain_text(digest, config)
    assert "hwb-agent service-desk-reactivate s.leaver --by a.one --ticket TICKET" in text
