"""Movers across Wales (issue 15) on one real slapd holding two authorities, 681 and 682, each
with its own instance (configuration, audit trail): a learner who leaves 681 (MIS-2) and enrols
at a school of 682 keeps their one account, moved under 682 with its content, enabled again
(MIS-3), audited on the receiving side (C-6); staff are flagged, not moved (MIS-4); a re-import
moves nothing (C-5); the sending side never re-disables or purges what left its subtree."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from agent.actions.mis.transfer import MOVED_EVENT, TRANSFERRED_EVENT
from agent.core.dates import add_months
from agent.core.dn import is_below
from agent.core.model import Reason
from tests.actions.mis.national_support import (
    add_content,
    authorities,
    entries_below,
    learner,
    package,
    school,
    staff,
    with_mis_id,
)

pytestmark = pytest.mark.slapd

JOINED, LEFT, MOVED = date(2026, 9, 10), date(2026, 10, 1), date(2026, 10, 5)
ALED, CERI = learner(1), learner(2, "Ceri", "Morgan")
SIAN = staff(7)


@pytest.fixture
def wales(tmp_path, slapd_server, monkeypatch):
    try:
        yield authorities(tmp_path, slapd_server, monkeypatch, "681", "682")
    finally:
        slapd_server.clear_base()


def left_681(wales, tmp_path, *movers):
    """Day 1: 681 creates the movers and Ceri (who stays); each mover gets content. Day 2: the
    movers are gone from 681's bulk feed (MIS-2: leaving date = feed date) and 681's sweep
    disables them. Returns {uid: (dn, children)} as they were in 681."""
    cardiff = wales["681"]
    day1 = {person: school("681") for person in (*movers, CERI)}
    assert not cardiff.import_feed(package(tmp_path / "681-day1", "681", day1), JOINED).errors
    accounts = {a.mis_id: a for a in cardiff.accounts().values()}
    before = {}
    for person in movers:
        account = accounts[person.mis_id]
        before[account.uid] = (account.dn, add_content(cardiff.server, account.dn, "files", "mail"))
    report = cardiff.import_feed(package(tmp_path / "681-day2", "681", {CERI: school("681")}), LEFT)
    assert {row["action"] for row in report.applied} == {"leaver"} and not report.errors
    swept = cardiff.sweep(LEFT)
    assert {(row.action, row.rule) for row in swept.actions} == {("disable", "MIS-2")}
    for person in movers:
        account = accounts[person.mis_id]
        now = cardiff.accounts()[account.uid]
        assert not now.enabled and now.disabled_reason is Reason.LEFT
    return before


def joins_682(wales, tmp_path, day, name="682", *people):
    return wales["682"].import_feed(package(tmp_path / name, "682", {p: school("682") for p in people}), day)


def test_mis_3_a_learner_who_left_681_is_transferred_into_682_with_its_content(wales, tmp_path) -> None:
    [(uid, (old_dn, children))] = left_681(wales, tmp_path, ALED).items()
    swansea = wales["682"]

    report = joins_682(wales, tmp_path, MOVED, "682-day3", ALED)

    assert report.errors == [] and [t.uid for t in report.transfers] == [uid]
    [done] = report.transfers
    assert done.source_dn == old_dn and is_below(done.target_dn, swansea.base_dn)
    assert done.target_dn.lower() == f"uid={uid},ou=mis,{swansea.base_dn}".lower()
    # One account for the UPN in the whole of Wales, now 682's, enabled, with its content.
    assert [dn.lower() for dn in with_mis_id(swansea.server, ALED.mis_id)] == [done.target_dn.lower()]
    account = swansea.accounts()[uid]
    assert account.enabled and account.disabled_reason is None and account.leaving_date is None
    assert (account.school, account.local_authority) == (school("682"), "682")
    assert account.transferred_from == old_dn and account.transferred_at is not None
    assert entries_below(swansea.server, done.target_dn) == {
        child.lower().replace(old_dn.lower(), done.target_dn.lower()) for child in children}
    assert entries_below(swansea.server, old_dn) == set()
    # Audited on the receiving side: the move and the new state, one transfer id, rule MIS-3.
    records = [r for r in swansea.audit_records() if r["event"] in (MOVED_EVENT, TRANSFERRED_EVENT)]
    assert [r["event"] for r in records] == [MOVED_EVENT, TRANSFERRED_EVENT]
    assert {r["rule"] for r in records} == {"MIS-3"} and len({r["transfer"] for r in records}) == 1
    assert all(r["source_dn"] == old_dn and r["target_dn"] == done.target_dn for r in records)
    transferred = records[1]
    assert transferred["before"]["enabled"] is False and transferred["after"]["enabled"] is True
    assert (transferred["before"]["school"], transferred["after"]["school"]) == (school("681"), school("682"))
    assert transferred["after"]["leaving_date"] is None and transferred["actor"] == "mis-import"
    assert "saved_from_deletion" not in transferred
    # Nothing was created in 682 for the learner, and 681's trail has nothing of the transfer.
    assert report.plan.counts()["create"] == 0
    assert not any(r["event"] in (MOVED_EVENT, TRANSFERRED_EVENT) for r in wales["681"].audit_records())


def test_c_5_re_importing_the_same_feed_moves_nothing_and_writes_nothing(wales, tmp_path) -> None:
    left_681(wales, tmp_path, ALED)
    feed = package(tmp_path / "682-day3", "682", {ALED: school("682")})
    assert len(wales["682"].import_feed(feed, MOVED).transfers) == 1

    again = wales["682"].import_feed(feed, MOVED + timedelta(days=1))

    assert again.transfers == [] and again.applied == [] and again.plan.is_empty
    assert again.operations["writes"] == 0
    assert len(with_mis_id(wales["682"].server, ALED.mis_id)) == 1


def test_the_sending_side_never_re_disables_or_purges_what_left_its_subtree(wales, tmp_path) -> None:
    [(uid, (old_dn, _))] = left_681(wales, tmp_path, ALED).items()
    joins_682(wales, tmp_path, MOVED, "682-day3", ALED)
    cardiff = wales["681"]

    # 681's sweeps, today and long after its MIS-5 purge date, find nothing of the learner.
    for day in (MOVED, add_months(LEFT, 13)):
        report = cardiff.sweep(day)
        assert report.errors == [] and not any(row.dn.lower() == old_dn.lower() for row in report.actions)
    account = wales["682"].accounts()[uid]
    assert account.enabled and entries_below(cardiff.server, account.dn)


def test_mis_5_an_account_11_months_29_days_after_leaving_is_transferred_saved_from_deletion(
        wales, tmp_path) -> None:
    [(uid, (old_dn, children))] = left_681(wales, tmp_path, ALED).items()
    day = add_months(LEFT, 12) - timedelta(days=1)  # 11 months and 29 days (or 30) after leaving
    cardiff = wales["681"]
    assert cardiff.sweep(day).actions == []  # MIS-5: not purged yet, the day before

    report = joins_682(wales, tmp_path, day, "682-late", ALED)

    [done] = report.transfers
    assert done.saved_from_deletion and "saved from deletion" in done.detail
    account = wales["682"].accounts()[uid]
    assert account.enabled and account.local_authority == "682"
    assert len(entries_below(cardiff.server, done.target_dn)) == len(children)
    records = [r for r in wales["682"].audit_records() if r.get("transfer")]
    assert records and all(r.get("saved_from_deletion") is True for r in records)
    assert "saved from deletion" in records[-1]["detail"]
    # The day 681 would have purged it, nothing of it is left there to purge.
    purge_day = cardiff.sweep(add_months(LEFT, 12) + timedelta(days=1))
    assert purge_day.errors == [] and not any(row.action == "purge" for row in purge_day.actions)
    assert wales["682"].accounts()[uid].enabled


def test_mis_4_staff_who_left_681_are_flagged_in_682_with_the_dn_never_moved(wales, tmp_path) -> None:
    [(uid, (old_dn, _))] = left_681(wales, tmp_path, SIAN).items()

    report = joins_682(wales, tmp_path, MOVED, "682-staff", SIAN)

    assert report.transfers == [] and report.errors == []
    assert report.plan.counts()["create"] == 0
    [flag] = report.flags
    assert flag.rule == "MIS-4" and flag.dn == old_dn and old_dn in flag.detail
    assert with_mis_id(wales["682"].server, SIAN.mis_id) == [old_dn]
    still = wales["681"].accounts()[uid]
    assert not still.enabled and still.dn == old_dn
    assert report.as_json()["flags"][0]["dn"] == old_dn


def test_import_mis_json_lists_each_transfer_with_source_and_target_dn(wales, tmp_path) -> None:
    [(uid, (old_dn, _))] = left_681(wales, tmp_path, ALED).items()
    data = joins_682(wales, tmp_path, MOVED, "682-json", ALED).as_json()
    [row] = data["transfers"]
    assert row["uid"] == uid and row["source_dn"] == old_dn and row["rule"] == "MIS-3"
    assert is_below(row["target_dn"], wales["682"].base_dn) and row["enabled"] is True
    assert data["counts"]["transfer"] == 1


MOVERS = [learner(10 + index, "Dewi", f"Mover{index}") for index in range(12)]


def test_both_instances_sweeping_while_the_transfers_happen_leave_one_enabled_account_each(
        wales, tmp_path) -> None:
    """681's and 682's sweeps run in threads, round after round, while 682 imports twelve movers
    who left 681 today (681's sweep races to disable them, MIS-2). Whatever the interleaving,
    after at most one more import each mover has one account in Wales, under 682, enabled, with its
    content, and 681's sweeps never failed on an entry that moved away."""
    cardiff, swansea = wales["681"], wales["682"]
    day1 = {person: school("681") for person in (*MOVERS, CERI)}
    assert not cardiff.import_feed(package(tmp_path / "681-day1", "681", day1), JOINED).errors
    for account in cardiff.accounts().values():
        if account.mis_id != CERI.mis_id:
            add_content(cardiff.server, account.dn, "files")
    # Left today: 681's next sweep disables them (MIS-2), unless 682 has taken them in first.
    cardiff.import_feed(package(tmp_path / "681-day2", "681", {CERI: school("681")}), LEFT)

    stop, failures, sweeps = threading.Event(), [], {"681": 0, "682": 0}

    def keep_sweeping(code: str) -> None:
        try:
            while not stop.is_set():
                report = wales[code].sweep(LEFT)
                failures.extend((code, row.dn, row.detail) for row in report.errors)
                sweeps[code] += 1
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            failures.append((code, "", repr(error)))

    threads = [threading.Thread(target=keep_sweeping, args=(code,)) for code in ("681", "682")]
    for thread in threads:
        thread.start()
    try:
        feed = package(tmp_path / "682-movers", "682", {person: school("682") for person in MOVERS})
        first = swansea.import_feed(feed, LEFT)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert sweeps["681"] >= 1 and sweeps["682"] >= 1
    assert [f for f in failures if f[0] == "681"] == []
    # A transfer that lost its race is reported, never half done; the next import completes it.
    assert all("lost race" in error.detail or "changed" in error.detail for error in first.errors)
    swansea.import_feed(feed, LEFT + timedelta(days=1))
    # 682's own sweep may have disabled one between its move and its modify (only because this test
    # runs them together; the writer lock keeps them apart in service): its next sweep re-enables.
    swansea.sweep(LEFT + timedelta(days=1))
    accounts = {a.mis_id: a for a in swansea.accounts().values()}
    for person in MOVERS:
        [dn] = with_mis_id(swansea.server, person.mis_id)
        account = accounts[person.mis_id]
        assert dn.lower() == account.dn.lower() and is_below(dn, swansea.base_dn)
        assert account.enabled and account.school == school("682")
        assert len(entries_below(swansea.server, dn)) == 1  # its content came along


def _dead_writer() -> dict:
    """A writer identity of a process that has ended (a real pid, reaped)."""
    import socket
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    return {"host": socket.gethostname(), "pid": int(child.stdout), "started": "0"}


def test_a_transfer_whose_move_reply_was_lost_is_settled_by_read_back_then_completed(
        wales, tmp_path) -> None:
    """The server moved the entry but the reply never came (connection lost): the import stops with
    the intent open; the next start settles it from the directory (the entry is at the target, so
    the move is recorded as applied, once) and the next import completes the transfer (MIS-3)."""
    from ldap3.core.exceptions import LDAPSocketReceiveError

    from agent.actions.audit import AuditTrail
    from agent.actions.mis.apply import import_feed, with_feed_date
    from agent.actions.mis.feed_reader import read_feed
    from agent.actions.session import open_directory
    from agent.actions.writeahead import settle_intents, unsettled_intents
    from agent.core.changes import UnconfirmedWrite
    from tests.builders import noon

    [(uid, (old_dn, children))] = left_681(wales, tmp_path, ALED).items()
    swansea = wales["682"]
    config = swansea.config
    feed_path = package(tmp_path / "682-lost", "682", {ALED: school("682")})
    feed = with_feed_date(read_feed(feed_path, config.mis, config.policy.timezone), MOVED)
    trail = AuditTrail(config.logging.audit_file)
    trail._writer = _dead_writer()  # as the process that lost the connection, then ended, wrote it
    with open_directory(config) as directory:
        real = directory.connection.modify_dn

        def moved_then_lost(*args, **kwargs):
            real(*args, **kwargs)
            raise LDAPSocketReceiveError("connection lost before the reply")

        directory.connection.modify_dn = moved_then_lost
        with pytest.raises(UnconfirmedWrite):
            import_feed(directory, config, trail, feed, noon(MOVED), confirm=True)
    trail.close()
    [intent] = unsettled_intents(config.logging.audit_file)
    assert intent["intended_event"] == MOVED_EVENT and intent["source_dn"] == old_dn

    trail = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        [settled] = settle_intents(directory, trail, noon(MOVED))
    trail.close()
    assert settled.applied and settled.event == MOVED_EVENT
    assert not unsettled_intents(config.logging.audit_file)

    again = swansea.import_feed(feed_path, MOVED)
    assert again.errors == [] and again.transfers == []  # it is 682's now: a move of school (MIS-3)
    assert [(row["action"], row["rule"]) for row in again.applied] == [("move", "MIS-3")]
    account = swansea.accounts()[uid]
    assert account.enabled and account.school == school("682") and account.leaving_date is None
    assert account.local_authority == "682"
    assert [dn.lower() for dn in with_mis_id(swansea.server, ALED.mis_id)] == [account.dn.lower()]
    assert len(entries_below(swansea.server, account.dn)) == len(children)
    moved = [r for r in swansea.audit_records() if r.get("intent") == intent["intent"]]
    assert [r["event"] for r in moved] == [MOVED_EVENT] and "settled" in moved[0]


def test_the_command_line_lists_the_transfer_and_show_says_where_the_account_came_from_and_when(
        wales, tmp_path, capsys) -> None:
    import json

    from agent.cli import main
    from tests.builders import noon

    [(uid, (old_dn, _))] = left_681(wales, tmp_path, ALED).items()
    swansea = wales["682"]
    feed = package(tmp_path / "682-cli", "682", {ALED: school("682")})
    capsys.readouterr()
    code = main(["--config", str(swansea.config_path), "import-mis", str(feed), "--json",
                 "--feed-date", MOVED.isoformat()], clock=lambda: noon(MOVED))
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    [row] = data["transfers"]
    assert (row["uid"], row["source_dn"]) == (uid, old_dn) and is_below(row["target_dn"], swansea.base_dn)

    assert main(["--config", str(swansea.config_path), "show", uid], clock=lambda: noon(MOVED)) == 0
    text = capsys.readouterr().out
    assert f"transferred from:    {old_dn} on {noon(MOVED).isoformat()}" in text
    assert main(["--config", str(swansea.config_path), "show", uid, "--json"], clock=lambda: noon(MOVED)) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["transferred_from"] == old_dn and shown["transferred_at"] == noon(MOVED).isoformat()
    assert shown["enabled"] is True and shown["dn"].lower() == row["target_dn"].lower()


def test_a_dry_run_lists_the_planned_transfer_with_its_target_and_moves_nothing(wales, tmp_path) -> None:
    [(uid, (old_dn, _))] = left_681(wales, tmp_path, ALED).items()
    swansea = wales["682"]
    report = swansea.import_feed(package(tmp_path / "682-dry", "682", {ALED: school("682")}), MOVED,
                                 dry_run=True)
    [row] = report.as_json()["transfers"]
    assert row["source_dn"] == old_dn and row["target_dn"].lower() == f"uid={uid},ou=mis,{swansea.base_dn}"
    assert report.operations["writes"] == 0 and with_mis_id(swansea.server, ALED.mis_id) == [old_dn]


def test_the_sending_import_skips_an_account_taken_in_between_its_plan_and_its_writes(
        wales, tmp_path) -> None:
    """681 plans Aled as a leaver (absent from its bulk feed); 682 takes him in before 681 writes:
    681's modify finds no entry at the old DN, a clean skip (its intent gets its outcome), no error."""
    from agent.actions.audit import AuditTrail
    from agent.actions.mis.apply import ImportReport, apply_plan, plan_import, with_feed_date
    from agent.actions.mis.feed_reader import read_feed
    from agent.actions.session import open_directory
    from agent.actions.writeahead import unsettled_intents
    from tests.builders import noon

    cardiff, swansea = wales["681"], wales["682"]
    day1 = {ALED: school("681"), CERI: school("681")}
    assert not cardiff.import_feed(package(tmp_path / "681-day1", "681", day1), JOINED).errors
    config = cardiff.config
    feed = with_feed_date(read_feed(package(tmp_path / "681-day2", "681", {CERI: school("681")}),
                                    config.mis, config.policy.timezone), LEFT)
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        plan, accounts = plan_import(directory, config, feed, noon(LEFT), confirm=True)
        assert [action.kind.value for action in plan.actions] == ["leaver"]
        assert len(joins_682(wales, tmp_path, LEFT, "682-first", ALED).transfers) == 1  # meanwhile
        report = ImportReport(feed=feed, plan=plan, as_of=noon(LEFT), dry_run=False)
        apply_plan(directory, config, audit, plan, accounts, noon(LEFT), report)
    audit.close()
    assert report.errors == [] and report.applied == []
    assert unsettled_intents(config.logging.audit_file) == []
    account = {a.mis_id: a for a in swansea.accounts().values()}[ALED.mis_id]
    assert account.enabled and account.leaving_date is None and is_below(account.dn, swansea.base_dn)
