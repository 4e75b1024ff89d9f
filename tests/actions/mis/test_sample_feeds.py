"""The sample feeds end to end (issue 5, "Done when"): day 1 into an empty directory, then
day 2 (mover, leavers, a truncated school), the delta, re-imports, and the sweep afterwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent.actions.mis.feed_reader import read_feed
from agent.core.mis.plan import ActionKind, ProvisioningPlan, plan_provisioning
from agent.core.mis.settings import MisSettings
from agent.core.model import Account, Action, Reason, Role
from agent.core.policy import PolicySettings, decide
from tests.actions.mis.support import apply_plan

DAY1, DAY2 = date(2026, 11, 27), date(2026, 11, 28)
GLAN_CEUBAL, LLANISHEN, RADNOR = "6812001", "6814050", "6812150"
SETTINGS = MisSettings()


def summary(plan: ProvisioningPlan, held: bool = False) -> set[tuple[str, str, str]]:
    return {(a.kind.value, a.rule, a.uid) for a in (plan.held if held else plan.actions)}


@pytest.fixture
def after_day1(samples: Path) -> list[Account]:
    plan = plan_provisioning(read_feed(samples / "day1"), [], DAY1, SETTINGS)
    return apply_plan([], plan)


def test_day1_into_an_empty_directory_creates_exactly_the_expected_accounts(samples: Path) -> None:
    plan = plan_provisioning(read_feed(samples / "day1"), [], DAY1, SETTINGS)
    assert {a.kind for a in plan.actions} == {ActionKind.CREATE} and not plan.trips
    assert sorted(a.uid for a in plan.actions) == sorted([
        "ajones", "fevans", "dwilliams", "sdavies", "othomas", "croberts",  # Glan Ceubal learners
        "glloydhughes", "mobrien", "rprice", "emorgan", "tgriffiths", "npowell",  # Llanishen
        "lhughes", "iedwards", "cphillips", "howen", "ajones2", "jjames", "mrees", "ijenkins",
        "eparry", "cbowen",  # Radnor (Alys Jones is ajones2: collision handled)
        "sjones", "browlands", "gpugh", "hwatkins", "mharris",  # staff
    ])
    roles = {a.uid: a.fields["role"] for a in plan.actions}
    assert roles["sjones"] == roles["hwatkins"] == Role.STAFF.value
    npowell = next(a for a in plan.actions if a.uid == "npowell")
    assert npowell.fields["mis_id"] == "P68140502600T" and "temporary UPN" in npowell.detail
    # The malformed row (wrong check letter) is rejected with its file and row; nobody is created for it.
    assert [(e.file, e.row, e.kind.value) for e in plan.row_errors] == [
        ("users.csv", 8, "invalid-upn"), ("enrollments.csv", 8, "unknown-user"),
    ]


def test_day1_re_imported_writes_nothing(samples: Path, after_day1: list[Account]) -> None:
    assert plan_provisioning(read_feed(samples / "day1"), after_day1, DAY1, SETTINGS).is_empty


def test_day2_plans_mover_leaver_updates_creates_and_holds_the_truncated_school(
    samples: Path, after_day1: list[Account]
) -> None:
    plan = plan_provisioning(read_feed(samples / "day2"), after_day1, DAY2, SETTINGS)
    assert summary(plan) == {
        ("create", "MIS-1", "gbevan"),  # row corrected since day 1
        ("create", "MIS-1", "thopkins"),  # new learner
        ("update", "MIS-1", "fevans"),  # surname and mail changed
        ("update", "MIS-1", "npowell"),  # permanent UPN replaces the temporary one: same account
        ("move", "MIS-3", "sdavies"),  # Glan Ceubal -> Llanishen
        ("leaver", "MIS-2", "dwilliams"),  # every enrolment ended on 2026-11-27
    }
    held = summary(plan, held=True)
    assert held == {("leaver", "MIS-2", uid) for uid in
                    ["cphillips", "howen", "ajones2", "jjames", "mrees", "ijenkins", "eparry", "cbowen"]}
    [trip] = plan.trips
    assert trip.school == RADNOR and (trip.would, trip.out_of) == (8, 10)
    # The school is named beside its code (orgs.csv).
    assert ("school 6812150 (Radnor Primary School) would lose 8 of its 10 current learner accounts"
            " (80%)") in trip.reason
    mover = next(a for a in plan.actions if a.uid == "sdavies")
    assert (mover.source_file, mover.source_row) == ("users.csv", 5)
    assert {(c.field, c.before, c.after) for c in mover.changes} == {("school", GLAN_CEUBAL, LLANISHEN)}
    assert [str(e) for e in plan.row_errors] == [
        "enrollments.csv row 23: endDate '20/07/2027' is not a date YYYY-MM-DD"
    ]


def test_day2_applied_then_swept_disables_exactly_the_leavers_whose_date_has_come(
    samples: Path, after_day1: list[Account]
) -> None:
    plan = plan_provisioning(read_feed(samples / "day2"), after_day1, DAY2, SETTINGS)
    accounts = apply_plan(after_day1, plan)
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    disabled = {a.uid: decide(a, now, PolicySettings()) for a in accounts}
    assert {uid for uid, d in disabled.items() if d.action is Action.DISABLE} == {"dwilliams"}
    assert disabled["dwilliams"].rule == "MIS-2" and disabled["dwilliams"].reason is Reason.LEFT
    # Re-importing day 2 proposes only the still-held school again.
    again = plan_provisioning(read_feed(samples / "day2"), accounts, DAY2, SETTINGS)
    assert again.actions == () and len(again.held) == 8


def test_day2_confirmed_applies_the_truncated_school_and_then_is_idempotent(
    samples: Path, after_day1: list[Account]
) -> None:
    feed = read_feed(samples / "day2")
    confirmed = plan_provisioning(feed, after_day1, DAY2, SETTINGS, confirm=True)
    assert confirmed.held == () and confirmed.guard_tripped and confirmed.counts()["leaver"] == 9
    accounts = apply_plan(after_day1, confirmed)
    assert plan_provisioning(feed, accounts, DAY2, SETTINGS).is_empty


def test_mover_who_had_left_is_re_enabled_in_the_same_run(samples: Path, after_day1: list[Account]) -> None:
    # Seren Davies had been disabled as a leaver of Glan Ceubal before enrolling at Llanishen.
    disabled_at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    left = [
        replace(a, leaving_date=date(2026, 11, 20), enabled=False, disabled_reason=Reason.LEFT,
                disabled_at=disabled_at) if a.uid == "sdavies" else a
        for a in after_day1
    ]
    plan = plan_provisioning(read_feed(samples / "day2"), left, DAY2, SETTINGS)
    move = next(a for a in plan.actions if a.uid == "sdavies")
    assert (move.kind, move.rule, move.fields) == (
        ActionKind.MOVE, "MIS-3", {"school": LLANISHEN, "leaving_date": None})
    seren = next(a for a in apply_plan(left, plan) if a.uid == "sdavies")
    decision = decide(seren, datetime(2026, 11, 28, 2, 0, tzinfo=UTC), PolicySettings())
    assert (decision.action, decision.rule) == (Action.ENABLE, "MIS-3")


def test_delta_feed_sets_leavers_now_and_in_the_future_and_updates_staff(
    samples: Path, after_day1: list[Account]
) -> None:
    plan = plan_provisioning(read_feed(samples / "day2-delta"), after_day1, DAY2, SETTINGS)
    by_uid = {a.uid: a for a in plan.actions}
    assert set(by_uid) == {"othomas", "croberts", "gpugh"}  # absent people are untouched in a delta
    assert by_uid["othomas"].fields == {"leaving_date": date(2026, 11, 28)}  # its dateLastModified
    assert by_uid["croberts"].fields == {"leaving_date": date(2026, 12, 18)}  # future: recorded as is
    assert by_uid["gpugh"].fields == {"mail": "gpugh@llanishen.cardiff.example"}
    assert all(a.rule == ("MIS-1" if a.uid == "gpugh" else "MIS-2") for a in plan.actions)
    accounts = apply_plan(after_day1, plan)
    now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    due = {a.uid for a in accounts if decide(a, now, PolicySettings()).action is Action.DISABLE}
    assert due == {"othomas"}
    assert plan_provisioning(read_feed(samples / "day2-delta"), accounts, DAY2, SETTINGS).is_empty


def test_zip_variant_plans_the_same(samples: Path, after_day1: list[Account], copy_sample, zip_of) -> None:
    from_folder = plan_provisioning(read_feed(samples / "day2"), after_day1, DAY2, SETTINGS)
    from_zip = plan_provisioning(read_feed(zip_of(copy_sample("day2"))), after_day1, DAY2, SETTINGS)
    assert from_zip == from_folder
