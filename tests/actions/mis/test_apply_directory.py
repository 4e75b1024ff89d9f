"""Importing the sample feeds into a directory (issue 5, "Done when"), on ldap3's mock and on a
real slapd: creates, updates, moves and leavers written (MIS-1, MIS-2, MIS-3), the truncated
school held (C-8), the mover re-enabled in the same run, every change audited (C-6), and a
re-import that writes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import MIS_ACTOR, ImportReport, apply_plan, plan_import
from agent.actions.mis.feed_reader import read_feed
from agent.actions.session import open_directory
from agent.core.changes import Change
from agent.core.model import Reason, Role
from agent.settings import config as config_module
from tests.actions.mis.apply_targets import DAY1, DAY2, Target, at
from tests.actions.mis.support import SAMPLES
from tests.builders import write_config
from tests.directory.populate import write_state

GLAN_CEUBAL, LLANISHEN, RADNOR = "6812001", "6814050", "6812150"

# Day 1 (tests/data/oneroster/README.md): uid -> (role, school, MIS id).
DAY1_ACCOUNTS = {
    "ajones": ("learner", GLAN_CEUBAL, "K681200119001"),
    "fevans": ("learner", GLAN_CEUBAL, "Z681200119002"),
    "dwilliams": ("learner", GLAN_CEUBAL, "N681200119003"),
    "sdavies": ("learner", GLAN_CEUBAL, "C681200119004"),
    "othomas": ("learner", GLAN_CEUBAL, "R681200119005"),
    "croberts": ("learner", GLAN_CEUBAL, "F681200119006"),
    "glloydhughes": ("learner", LLANISHEN, "H681405021007"),
    "mobrien": ("learner", LLANISHEN, "X681405021008"),
    "rprice": ("learner", LLANISHEN, "L681405021009"),
    "emorgan": ("learner", LLANISHEN, "X681405021010"),
    "tgriffiths": ("learner", LLANISHEN, "L681405021011"),
    "npowell": ("learner", LLANISHEN, "P68140502600T"),
    "lhughes": ("learner", RADNOR, "E681215022001"),
    "iedwards": ("learner", RADNOR, "U681215022002"),
    "cphillips": ("learner", RADNOR, "H681215022003"),
    "howen": ("learner", RADNOR, "X681215022004"),
    "ajones2": ("learner", RADNOR, "L681215022005"),
    "jjames": ("learner", RADNOR, "A681215022006"),
    "mrees": ("learner", RADNOR, "P681215022007"),
    "ijenkins": ("learner", RADNOR, "D681215022008"),
    "eparry": ("learner", RADNOR, "T681215022009"),
    "cbowen": ("learner", RADNOR, "D681215022010"),
    "sjones": ("staff", GLAN_CEUBAL, "STF-6812001-0007"),
    "browlands": ("staff", GLAN_CEUBAL, "STF-6812001-0011"),
    "gpugh": ("staff", LLANISHEN, "STF-6814050-0102"),
    "hwatkins": ("staff", LLANISHEN, "STF-6814050-0003"),
    "mharris": ("staff", RADNOR, "STF-6812150-0021"),
}
RADNOR_HELD = {"cphillips", "howen", "ajones2", "jjames", "mrees", "ijenkins", "eparry", "cbowen"}


def applied(report: ImportReport) -> set[tuple[str, str, str]]:
    return {(row["action"], row["rule"], row["uid"]) for row in report.applied}


def test_mis_1_day1_into_an_empty_directory_creates_exactly_the_expected_accounts(target: Target) -> None:
    report = target.import_feed("day1", DAY1)

    assert applied(report) == {("create", "MIS-1", uid) for uid in DAY1_ACCOUNTS}
    assert report.errors == [] and not report.held
    assert report.operations["adds"] == 27 + 1  # the accounts and their container OU
    assert report.containers_created == [f"ou=mis,{target.config.directory.base_dn}"]
    accounts = target.accounts()
    assert {uid: (a.role.value, a.school, a.mis_id) for uid, a in accounts.items()} == DAY1_ACCOUNTS
    for uid, account in accounts.items():
        assert account.enabled and account.leaving_date is None and account.local_authority == "681"
        assert account.dn.lower() == f"uid={uid},ou=mis,{target.config.directory.base_dn}".lower()
    assert accounts["sjones"].given_name == "Siân" and accounts["sjones"].display_name == "Siân Jones"
    assert accounts["npowell"].mail is None  # no mail in the feed: none invented
    # The malformed row is rejected with its file and row; nobody is created for it.
    assert [(e.file, e.row) for e in report.plan.row_errors] == [("users.csv", 8), ("enrollments.csv", 8)]
    assert not any(a.mis_id == "B681200119099" for a in accounts.values())


def test_c_6_every_create_is_audited_with_rule_actor_feed_file_and_row(target: Target) -> None:
    target.import_feed("day1", DAY1)
    records = target.audit_records()
    assert len(records) == 27
    by_uid = {record["uid"]: record for record in records}
    aled = by_uid["ajones"]
    assert (aled["event"], aled["rule"], aled["actor"]) == ("account_created", "MIS-1", MIS_ACTOR)
    assert (aled["source_file"], aled["source_row"]) == ("users.csv", 2)
    assert aled["feed"].endswith("day1") and aled["before"] == {"exists": False}
    assert aled["after"]["school"] == GLAN_CEUBAL and aled["after"]["enabled"] is True
    assert by_uid["mharris"]["source_row"] == 29


def test_issue_11_every_mis_write_has_its_intent_before_it_and_exactly_one_outcome(target: Target) -> None:
    target.import_feed("day1", DAY1)
    target.import_feed("day2", DAY2, confirm=True)  # modifies: leavers, updates, movers
    lines = target.audit_lines()
    intents = {line["intent"]: index for index, line in enumerate(lines) if line.get("phase") == "intent"}
    outcomes = [(index, line) for index, line in enumerate(lines) if line.get("phase") == "outcome"]
    assert len(intents) == len(outcomes) == len(target.audit_records()) > 27
    assert sorted(line["intent"] for _, line in outcomes) == sorted(intents)  # one outcome each
    assert all(intents[line["intent"]] < index for index, line in outcomes)  # the intent first
    kinds = {lines[index]["change"]["kind"] for index in intents.values()}
    assert kinds == {"add", "modify"}
    events = {line["event"] for _, line in outcomes}
    assert "account_created" in events and len(events) > 1


def test_c_5_re_importing_the_same_feed_writes_nothing(target: Target) -> None:
    target.import_feed("day1", DAY1)
    server_before = target.server_writes()
    again = target.import_feed("day1", DAY1)
    assert again.applied == [] and again.operations["writes"] == 0
    if server_before is not None:
        assert target.server_writes() == server_before  # counted by slapd itself
    # Day 2 re-imported: the applied part is not written again; the held school stays held.
    target.import_feed("day2", DAY2)
    server_before = target.server_writes()
    day2_again = target.import_feed("day2", DAY2)
    assert day2_again.operations["writes"] == 0 and len(day2_again.plan.held) == 8 and day2_again.held
    if server_before is not None:
        assert target.server_writes() == server_before


def test_day2_applies_the_safe_part_holds_the_truncated_school_and_a_sweep_disables_due_leavers(
    target: Target,
) -> None:
    target.import_feed("day1", DAY1)
    report = target.import_feed("day2", DAY2)

    assert applied(report) == {
        ("create", "MIS-1", "gbevan"), ("create", "MIS-1", "thopkins"),
        ("update", "MIS-1", "fevans"), ("update", "MIS-1", "npowell"),
        ("move", "MIS-3", "sdavies"), ("leaver", "MIS-2", "dwilliams"),
    }
    assert report.errors == [] and report.held
    assert {action.uid for action in report.plan.held} == RADNOR_HELD
    message = report.guard_message()
    # The school is named beside its code (orgs.csv).
    assert ("school 6812150 (Radnor Primary School) would lose 8 of its 10 current learner accounts"
            " (80%)") in message
    assert "--confirm-mass-change" in message

    accounts = target.accounts()
    assert accounts["sdavies"].school == LLANISHEN and accounts["sdavies"].enabled
    assert accounts["dwilliams"].leaving_date == date(2026, 11, 27)
    assert (accounts["fevans"].surname, accounts["fevans"].mail) == (
        "Evans-Rees", "ffion.evans-rees@hwbcymru.example")
    assert accounts["npowell"].mis_id == "C681405026001"  # same account, permanent UPN
    assert all(accounts[uid].leaving_date is None for uid in RADNOR_HELD)  # held: nothing written
    # MIS-2 audit of the leaver: rule, actor, feed row, before and after.
    leaver = next(r for r in target.audit_records() if r["event"] == "leaving_date_set")
    assert (leaver["uid"], leaver["rule"], leaver["actor"], leaver["source_row"]) == (
        "dwilliams", "MIS-2", MIS_ACTOR, 4)
    assert (leaver["before"], leaver["after"]) == ({"leaving_date": None}, {"leaving_date": "2026-11-27"})

    swept = target.sweep(DAY2)
    assert {(a.action, a.rule, a.uid) for a in swept.actions} == {("disable", "MIS-2", "dwilliams")}
    assert target.accounts()["dwilliams"].disabled_reason is Reason.LEFT


def test_c_8_confirmed_day2_applies_the_held_school_then_re_imports_to_nothing(target: Target) -> None:
    target.import_feed("day1", DAY1)
    report = target.import_feed("day2", DAY2, confirm=True)
    assert not report.held and report.plan.held == ()
    leavers = {row["uid"] for row in report.applied if row["action"] == "leaver"}
    assert leavers == RADNOR_HELD | {"dwilliams"}
    accounts = target.accounts()
    assert all(accounts[uid].leaving_date == DAY2 for uid in RADNOR_HELD)
    assert target.import_feed("day2", DAY2).operations["writes"] == 0


def test_mis_3_a_mover_disabled_as_a_leaver_is_re_enabled_in_the_same_run(target: Target) -> None:
    target.import_feed("day1", DAY1)
    # Seren had been given a leaving date, and a sweep disabled her (MIS-2).
    with target.connect() as directory:
        (seren,) = directory.find("uid", "sdavies")
        directory.write_change(seren, Change(None, {"leaving_date": date(2026, 11, 20)}))
    target.sweep(date(2026, 11, 27))
    assert target.accounts()["sdavies"].enabled is False

    report = target.import_feed("day2", DAY2)

    move = next(row for row in report.applied if row["uid"] == "sdavies")
    assert (move["action"], move["rule"]) == ("move", "MIS-3")
    assert [(row.uid, row.action, row.rule) for row in report.enabled] == [
        ("sdavies", "enable", "MIS-3")]
    seren = target.accounts()["sdavies"]
    assert seren.enabled and seren.school == LLANISHEN and seren.leaving_date is None
    assert seren.disabled_reason is None and seren.disabled_at is None
    enabled = [r for r in target.audit_records() if r["event"] == "account_enabled"]
    assert [(r["uid"], r["rule"], r["actor"], r["source_row"]) for r in enabled] == [
        ("sdavies", "MIS-3", MIS_ACTOR, 5)]
    assert enabled[0]["before"]["enabled"] is False and enabled[0]["after"]["enabled"] is True
    # Nothing left for the sweep to do for her.
    assert "sdavies" not in {a.uid for a in target.sweep(DAY2).actions}


def test_mis_4_a_staff_leaver_current_again_is_reported_not_enabled(target: Target) -> None:
    target.import_feed("day1", DAY1)
    with target.connect() as directory:
        (gareth,) = directory.find("uid", "gpugh")
        directory.write_change(gareth, Change(None, {"leaving_date": date(2026, 11, 20)}))
    target.sweep(date(2026, 11, 27))

    report = target.import_feed("day1", DAY2)  # he is in the feed again, with no leaving date

    assert applied(report) == {("update", "MIS-1", "gpugh")}
    assert report.enabled == []
    assert [(flag.uid, flag.rule) for flag in report.flags] == [("gpugh", "MIS-4")]
    gareth = target.accounts()["gpugh"]
    assert gareth.enabled is False and gareth.leaving_date is None and gareth.role is Role.STAFF


def test_delta_feed_records_leaving_dates_now_and_to_come(target: Target) -> None:
    target.import_feed("day1", DAY1)
    report = target.import_feed("day2-delta", DAY2)
    assert applied(report) == {("leaver", "MIS-2", "othomas"), ("leaver", "MIS-2", "croberts"),
                               ("update", "MIS-1", "gpugh")}
    accounts = target.accounts()
    assert accounts["croberts"].leaving_date == date(2026, 12, 18)  # recorded, acted on when it comes
    swept = target.sweep(DAY2)
    assert {a.uid for a in swept.actions} == {"othomas"}


def test_dry_run_plans_and_writes_nothing(target: Target) -> None:
    server_before = target.server_writes()
    report = target.import_feed("day1", DAY1, dry_run=True)
    assert report.plan.counts()["create"] == 27 and report.applied == []
    assert report.operations["writes"] == 0 and target.accounts() == {}
    if server_before is not None:
        assert target.server_writes() == server_before


def test_uid_held_by_an_entry_that_is_not_an_account_is_avoided(target: Target) -> None:
    config = target.config
    # A plain entry (no hwb category: not an account the planner reads) already holds "ajones".
    with open_directory(config) as directory:
        directory.add(f"ou=mis,{config.directory.base_dn}", ["organizationalUnit"], {"ou": ["mis"]})
        directory.add(f"uid=ajones,ou=mis,{config.directory.base_dn}", ["inetOrgPerson"],
                      {"uid": ["ajones"], "cn": ["A Jones"], "sn": ["Jones"]})
    report = target.import_feed("day1", DAY1)
    assert report.errors == []
    accounts = target.accounts()
    assert accounts["ajones2"].mis_id == "K681200119001"  # Aled
    assert accounts["ajones3"].mis_id == "L681215022005"  # Alys
    assert "ajones" not in accounts


def test_entry_created_after_the_plan_is_a_uid_collision_and_the_rest_is_applied(target: Target) -> None:
    config = target.config
    feed = read_feed(SAMPLES / "day1")
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        plan, accounts = plan_import(directory, config, feed, at(DAY1))
        # Someone else creates uid=rprice between the plan and the apply.
        directory.add(f"ou=mis,{config.directory.base_dn}", ["organizationalUnit"], {"ou": ["mis"]})
        directory.add(f"uid=rprice,ou=mis,{config.directory.base_dn}", ["inetOrgPerson"],
                      {"uid": ["rprice"], "cn": ["R Price"], "sn": ["Price"]})
        report = ImportReport(feed=feed, plan=plan, as_of=at(DAY1), dry_run=False)
        apply_plan(directory, config, audit, plan, accounts, at(DAY1), report)
    audit.close()
    [error] = report.errors
    assert (error.uid, error.action, error.file, error.row) == (
        "rprice", "create", "users.csv", 11)
    assert "uid collision" in error.detail
    assert len(report.applied) == 26 and report.failed
    # Its intent has an outcome: not applied (issue 11), and no account_created record.
    refused = [r for r in target.audit_records() if r["uid"] == "rprice"]
    assert [r["event"] for r in refused] == ["change_not_applied"]
    assert refused[0]["intended_event"] == "account_created"
    assert set(target.accounts()) == set(DAY1_ACCOUNTS) - {"rprice"}


def test_malformed_row_is_rejected_and_the_rest_applied(target: Target, write_package) -> None:
    users = (SAMPLES / "day1" / "users.csv").read_text(encoding="utf-8").splitlines()
    # Row 3 (Ffion) gets an unknown role; row 4 (Dylan) a UPN with a wrong check letter.
    users[2] = users[2].replace(",student,", ",wizard,")
    users[3] = users[3].replace("N681200119003", "A681200119003")
    package = write_package(
        "malformed",
        manifest=(SAMPLES / "day1" / "manifest.csv").read_text(encoding="utf-8"),
        orgs=(SAMPLES / "day1" / "orgs.csv").read_text(encoding="utf-8"),
        users="\n".join(users) + "\n",
        enrollments=(SAMPLES / "day1" / "enrollments.csv").read_text(encoding="utf-8"),
    )
    report = target.import_feed(package, DAY1)
    rejected = {(e.file, e.row, e.kind.value) for e in report.plan.row_errors}
    assert {("users.csv", 3, "unknown-role"), ("users.csv", 4, "invalid-upn"),
            ("users.csv", 8, "invalid-upn")} <= rejected
    assert set(target.accounts()) == set(DAY1_ACCOUNTS) - {"fevans", "dwilliams"}


@pytest.mark.parametrize("flavour", ["active-directory", "389ds"])
def test_day1_on_the_other_flavours_of_the_mock(tmp_path, flavour) -> None:
    path = write_config(tmp_path, flavour=flavour)
    write_state(config_module.load(path), [])
    target = Target("mock", path)
    report = target.import_feed("day1", DAY1)
    assert len(report.applied) == 27 and report.errors == []
    accounts = target.accounts()
    assert set(accounts) == set(DAY1_ACCOUNTS) and all(a.enabled for a in accounts.values())
    assert target.import_feed("day1", DAY1).operations["writes"] == 0


def test_taken_uids_one_read_of_every_uid_finds_what_the_batched_look_ups_find(target: Target) -> None:
    """Many new uids for the directory's size (a first load): one paged read of every uid instead
    of a filter per UID_BATCH; both answer the same."""
    from agent.actions.mis.apply import UID_BATCH, _taken_uids

    config = target.config
    base = config.directory.base_dn
    with open_directory(config) as directory:
        directory.add(f"ou=mis,{base}", ["organizationalUnit"], {"ou": ["mis"]})
        for uid in ("ajones", "BPrice", "cowen7"):
            directory.add(f"uid={uid},ou=mis,{base}", ["inetOrgPerson"],
                          {"uid": [uid], "cn": [uid], "sn": [uid]})
        wanted = [f"new{index}" for index in range(UID_BATCH + 50)] + ["ajones", "bprice", "dlewis"]
        before = directory.counts.searches
        scanned = _taken_uids(directory, wanted, in_scope=0)
        assert directory.counts.searches - before == 1
        batched = _taken_uids(directory, wanted)
        assert directory.counts.searches - before == 1 + 2
    assert scanned == batched == {"ajones", "bprice"}
