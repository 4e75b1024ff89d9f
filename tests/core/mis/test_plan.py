"""The provisioning planner on plain values: every case of issue 5, the guard (C-8), identity."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from agent.core.mis.feed import Feed, FileMode, RowStatus
from agent.core.mis.plan import ActionKind, plan_provisioning
from agent.core.mis.settings import GuardSettings, MisSettings
from agent.core.mis.upn import make_upn
from agent.core.model import Account, Action, Category, FieldProblem, Reason, Role
from agent.core.policy import PolicySettings, decide
from tests.actions.mis.support import (
    NOW,
    SCHOOL_A,
    SCHOOL_B,
    SCHOOL_C,
    TODAY,
    account,
    apply_plan,
    enrolment,
    feed,
    person,
    upn,
)

SETTINGS = MisSettings()


def plan(the_feed: Feed, accounts: list[Account], settings: MisSettings = SETTINGS, **options):
    return plan_provisioning(the_feed, accounts, TODAY, settings, **options)


def only(the_plan):
    assert len(the_plan.actions) == 1, the_plan.actions
    return the_plan.actions[0]


# --- MIS-1: create and update --------------------------------------------------------------


def test_current_person_without_account_is_created_with_identity_role_school_and_mis_id() -> None:
    action = only(plan(feed(person(1, given="Siân", family="Jones", mail="sian@hwb.example", row=7)), []))
    assert (action.kind, action.rule) == (ActionKind.CREATE, "MIS-1")
    assert (action.source_file, action.source_row) == ("users.csv", 7)
    assert action.dn is None and action.container == "ou=mis"
    assert action.fields == {
        "uid": "sjones",
        "category": "mis",
        "role": "learner",
        "mis_id": upn(1),
        "given_name": "Siân",
        "surname": "Jones",
        "display_name": "Siân Jones",
        "mail": "sian@hwb.example",
        "school": SCHOOL_A,
    }
    assert all(change.before is None for change in action.changes)


def test_new_uids_avoid_existing_uids_of_any_category_and_each_other() -> None:
    non_mis = Account(dn="uid=ajones,ou=guests,dc=example,dc=org", uid="AJones",
                      category=Category.NON_MIS, enabled=True)
    the_plan = plan(feed(person(1), person(2), person(3)), [non_mis], taken_uids=["ajones2"])
    assert [action.uid for action in the_plan.actions] == ["ajones3", "ajones4", "ajones5"]


def test_changed_name_and_mail_are_one_update_with_before_and_after() -> None:
    existing = account(1, family="Evans", mail="old@hwb.example")
    action = only(plan(feed(person(1, family="Evans-Rees", mail="new@hwb.example")), [existing]))
    assert (action.kind, action.rule, action.dn) == (ActionKind.UPDATE, "MIS-1", existing.dn)
    assert {(c.field, c.before, c.after) for c in action.changes} == {
        ("surname", "Evans", "Evans-Rees"),
        ("display_name", "Aled Evans", "Aled Evans-Rees"),
        ("mail", "old@hwb.example", "new@hwb.example"),
    }


def test_empty_mail_in_the_feed_never_clears_the_accounts_mail_and_case_is_no_change() -> None:
    existing = account(1, mail="Aled.Jones@hwb.example")
    assert plan(feed(person(1, mail=None)), [existing]).is_empty
    assert plan(feed(person(1, mail="aled.jones@hwb.example")), [existing]).is_empty


def test_staff_at_another_school_is_an_update_not_a_move() -> None:
    existing = account(5, role=Role.STAFF, school=SCHOOL_A)
    action = only(plan(feed(person(5, role=Role.STAFF, school=SCHOOL_B)), [existing]))
    assert (action.kind, action.rule) == (ActionKind.UPDATE, "MIS-1")
    assert action.fields == {"school": SCHOOL_B}


def test_person_at_two_schools_keeps_the_accounts_school() -> None:
    dual = replace(person(5, role=Role.STAFF), schools=(SCHOOL_B, SCHOOL_A))
    assert plan(feed(dual), [account(5, role=Role.STAFF, school=SCHOOL_A)]).is_empty


# --- MIS-3: a learner moves school ----------------------------------------------------------


def test_learner_enrolled_at_another_school_moves_and_keeps_the_account() -> None:
    existing = account(1, school=SCHOOL_A)
    mover = person(1, school=SCHOOL_B, enrolments=(
        enrolment(SCHOOL_A, end=date(2026, 11, 27), row=2),
        enrolment(SCHOOL_B, begin=date(2026, 11, 30), row=3),
    ))
    action = only(plan(feed(mover), [existing]))
    assert (action.kind, action.rule, action.dn) == (ActionKind.MOVE, "MIS-3", existing.dn)
    assert action.uid == "user1"
    assert action.fields == {"school": SCHOOL_B}
    assert action.schools == (SCHOOL_A, SCHOOL_B)


def test_mover_disabled_as_a_leaver_gets_the_leaving_date_cleared_and_is_re_enabled_by_the_sweep() -> None:
    left = account(1, school=SCHOOL_A, leaving=date(2026, 10, 31), enabled=False, reason=Reason.LEFT)
    assert decide(left, NOW, PolicySettings()).action is Action.NONE  # disabled as a leaver
    action = only(plan(feed(person(1, school=SCHOOL_B)), [left]))
    assert (action.kind, action.rule) == (ActionKind.MOVE, "MIS-3")
    assert action.fields == {"school": SCHOOL_B, "leaving_date": None}
    assert "re-enables" in action.detail
    [after] = apply_plan([left], plan(feed(person(1, school=SCHOOL_B)), [left]))
    decision = decide(after, NOW, PolicySettings())
    assert (decision.action, decision.rule) == (Action.ENABLE, "MIS-3")  # in the same run


def test_learner_current_again_at_the_same_school_has_the_leaving_date_withdrawn_under_mis_3() -> None:
    left = account(1, leaving=date(2026, 10, 31), enabled=False, reason=Reason.LEFT)
    action = only(plan(feed(person(1)), [left]))
    assert (action.kind, action.rule, action.fields) == (ActionKind.UPDATE, "MIS-3", {"leaving_date": None})


def test_staff_current_again_has_the_leaving_date_withdrawn_and_waits_for_the_service_desk() -> None:
    left = account(5, role=Role.STAFF, leaving=date(2026, 10, 31), enabled=False, reason=Reason.LEFT)
    action = only(plan(feed(person(5, role=Role.STAFF)), [left]))
    assert (action.kind, action.rule) == (ActionKind.UPDATE, "MIS-1")
    assert "MIS-4" in action.detail
    [after] = apply_plan([left], plan(feed(person(5, role=Role.STAFF)), [left]))
    assert decide(after, NOW, PolicySettings()).rule == "MIS-4"  # flagged, never enabled by itself


# --- MIS-2: leavers ---------------------------------------------------------------------------


def test_delta_tobedeleted_takes_the_end_date_of_the_last_enrolment() -> None:
    leaver = person(1, status=RowStatus.TO_BE_DELETED, modified_on=date(2026, 11, 28), enrolments=(
        enrolment(SCHOOL_A, end=date(2026, 11, 20), row=2),
        enrolment(SCHOOL_A, end=date(2026, 11, 25), row=3),
    ))
    action = only(plan(feed(leaver, users=FileMode.DELTA, enrollments=FileMode.DELTA), [account(1)]))
    assert (action.kind, action.rule) == (ActionKind.LEAVER, "MIS-2")
    assert action.fields == {"leaving_date": date(2026, 11, 25)}


def test_delta_tobedeleted_without_enrolments_takes_the_date_last_modified() -> None:
    leaver = person(1, status=RowStatus.TO_BE_DELETED, modified_on=date(2026, 11, 27))
    action = only(plan(feed(leaver, users=FileMode.DELTA, enrollments=FileMode.ABSENT), [account(1)]))
    assert action.fields == {"leaving_date": date(2026, 11, 27)}
    [after] = apply_plan([account(1)], plan(feed(leaver, users=FileMode.DELTA), [account(1)]))
    decision = decide(after, NOW, PolicySettings())
    assert (decision.action, decision.rule, decision.reason) == (Action.DISABLE, "MIS-2", Reason.LEFT)


def test_future_leaving_date_is_recorded_as_is_and_acted_on_when_it_comes() -> None:
    last_day = enrolment(SCHOOL_A, end=date(2026, 12, 18))
    leaver = person(1, status=RowStatus.TO_BE_DELETED, enrolments=(last_day,))
    action = only(plan(feed(leaver, users=FileMode.DELTA, enrollments=FileMode.DELTA), [account(1)]))
    assert (action.kind, action.fields) == (ActionKind.LEAVER, {"leaving_date": date(2026, 12, 18)})
    [after] = apply_plan([account(1)], plan(feed(leaver, users=FileMode.DELTA), [account(1)]))
    decision = decide(after, NOW, PolicySettings())
    assert decision.action is Action.NONE and decision.next is not None
    assert (decision.next.date, decision.next.rule) == (date(2026, 12, 18), "MIS-2")


def test_all_enrolments_ended_in_a_bulk_file_gives_the_latest_end_date() -> None:
    leaver = person(1, enrolments=(
        enrolment(SCHOOL_A, end=date(2026, 11, 20), row=2),
        enrolment(SCHOOL_A, end=date(2026, 11, 27), row=3),
    ))
    action = only(plan(feed(leaver), [account(1)]))
    assert (action.kind, action.rule, action.fields) == (
        ActionKind.LEAVER, "MIS-2", {"leaving_date": date(2026, 11, 27)})
    assert "every enrolment has ended" in action.detail


def test_ended_enrolments_in_a_delta_file_prove_nothing() -> None:
    partial = person(1, enrolments=(enrolment(SCHOOL_A, end=date(2026, 11, 20)),))
    assert plan(feed(partial, enrollments=FileMode.DELTA), [account(1)]).is_empty


def test_enrolments_ending_in_the_future_are_no_leaving_date() -> None:
    # Exports put the academic year's end on every enrolment; that is not leaving (MIS-4 for staff).
    current = person(5, role=Role.STAFF, enrolments=(enrolment(SCHOOL_A, end=date(2027, 7, 20)),))
    assert plan(feed(current), [account(5, role=Role.STAFF)]).is_empty


def test_leaver_without_an_account_gets_none_but_a_future_leaver_is_created_with_the_date() -> None:
    gone = person(1, status=RowStatus.TO_BE_DELETED, modified_on=date(2026, 11, 27))
    assert plan(feed(gone, users=FileMode.DELTA), []).is_empty
    leaving_soon = person(2, status=RowStatus.TO_BE_DELETED, enrolments=(
        enrolment(SCHOOL_A, end=date(2026, 12, 18)),))
    action = only(plan(feed(leaving_soon, users=FileMode.DELTA), []))
    assert (action.kind, action.fields["leaving_date"]) == (ActionKind.CREATE, date(2026, 12, 18))


def test_person_missing_from_a_bulk_file_leaves_on_the_feed_date() -> None:
    missing = account(2, school=SCHOOL_A)
    action = only(plan(feed(person(1), feed_date=date(2026, 11, 27)), [account(1), missing]))
    assert (action.kind, action.rule, action.dn) == (ActionKind.LEAVER, "MIS-2", missing.dn)
    assert action.fields == {"leaving_date": date(2026, 11, 27)}
    assert (action.source_file, action.source_row) == ("users.csv", None)
    assert "absent from the bulk users.csv" in action.detail


def test_missing_from_bulk_only_for_schools_the_feed_covers() -> None:
    elsewhere = account(2, school=SCHOOL_C)
    assert plan(feed(person(1), schools=(SCHOOL_A, SCHOOL_B)), [account(1), elsewhere]).is_empty


def test_missing_from_a_delta_file_changes_nothing() -> None:
    assert plan(feed(person(1), users=FileMode.DELTA), [account(1), account(2)]).is_empty


def test_person_whose_row_was_rejected_is_not_taken_for_a_leaver() -> None:
    malformed = account(2)
    assert plan(feed(person(1), rejected=frozenset({upn(2)})), [account(1), malformed]).is_empty


def test_missing_leaver_keeps_the_first_leaving_date() -> None:
    already = account(2, leaving=date(2026, 11, 1), enabled=False, reason=Reason.LEFT)
    assert plan(feed(person(1)), [account(1), already]).is_empty
    future = account(3, leaving=date(2027, 1, 31))
    action = only(plan(feed(person(1)), [account(1), future]))
    assert action.change("leaving_date").before == date(2027, 1, 31)  # left earlier than announced


# --- Identity ---------------------------------------------------------------------------------


def test_learner_is_matched_by_upn_whatever_the_name() -> None:
    renamed = account(1, given="Old", family="Name")
    action = only(plan(feed(person(1)), [renamed]))
    assert action.kind is ActionKind.UPDATE and action.dn == renamed.dn


def test_permanent_upn_replacing_a_temporary_one_keeps_the_account() -> None:
    temporary = make_upn("68100012600T")
    existing = account(1, mis_id=temporary)
    action = only(plan(feed(person(1, former=(temporary,))), [existing]))
    assert (action.kind, action.dn) == (ActionKind.UPDATE, existing.dn)
    assert action.fields == {"mis_id": upn(1)}


def test_former_upn_held_by_another_person_in_the_feed_is_not_matched() -> None:
    existing = account(1)
    claimant = person(2, former=(upn(1),))
    the_plan = plan(feed(person(1), claimant), [existing])
    assert the_plan.is_empty
    assert any("former UPN" in problem.detail for problem in the_plan.problems)


def test_two_accounts_with_one_upn_are_reported_and_never_changed() -> None:
    twins = [account(1, uid="a"), account(1, uid="b", family="Other")]
    the_plan = plan(feed(person(1, family="Changed")), twins)
    assert the_plan.is_empty
    assert any("2 learner accounts carry" in problem.detail for problem in the_plan.problems)


def test_account_with_unreadable_lifecycle_data_is_left_unchanged() -> None:
    broken = replace(account(1, family="Old"), problems=(FieldProblem("hwbLeavingDate", "soon", "bad date"),))
    the_plan = plan(feed(person(1)), [broken])
    assert the_plan.is_empty and "C-7" in the_plan.problems[0].detail


def test_non_mis_accounts_are_never_matched_or_made_leavers() -> None:
    guest = Account(dn="uid=g,ou=guests,dc=example,dc=org", uid="g", category=Category.NON_MIS,
                    enabled=True, mis_id=upn(2), school=SCHOOL_A)
    assert plan(feed(person(1)), [account(1), guest]).is_empty


# --- Guard (C-8) --------------------------------------------------------------------------


def school_of(count: int, school: str, first: int = 1) -> list[Account]:
    return [account(serial, school=school) for serial in range(first, first + count)]


def test_truncated_school_is_held_with_a_reason_naming_it_and_other_schools_go_ahead() -> None:
    accounts = school_of(10, SCHOOL_A) + school_of(10, SCHOOL_B, first=11)
    truncated = feed(person(1), person(2), *[person(serial, school=SCHOOL_B) for serial in range(11, 21)],
                     person(30, school=SCHOOL_B))
    the_plan = plan(truncated, accounts)
    assert [trip.school for trip in the_plan.trips] == [SCHOOL_A]
    trip = the_plan.trips[0]
    assert (trip.would, trip.out_of, trip.role) == (8, 10, Role.LEARNER)
    assert f"school {SCHOOL_A}" in trip.reason and "80%" in trip.reason and "C-8" in trip.reason
    assert len(the_plan.held) == 8 and all(a.kind is ActionKind.LEAVER for a in the_plan.held)
    assert [(a.kind, a.schools) for a in the_plan.actions] == [(ActionKind.CREATE, (SCHOOL_B,))]


def test_confirm_applies_a_held_school() -> None:
    accounts = school_of(10, SCHOOL_A)
    the_plan = plan(feed(person(1)), accounts, confirm=True)
    assert the_plan.guard_tripped and the_plan.confirmed
    assert len(the_plan.actions) == 9 and the_plan.held == ()


def test_small_losses_within_the_share_or_the_floor_pass() -> None:
    accounts = school_of(30, SCHOOL_A)
    three_leave = feed(*[person(serial) for serial in range(1, 28)])  # 3 of 30 = 10%: not more
    assert not plan(three_leave, accounts).trips
    tiny = school_of(4, SCHOOL_A)
    assert not plan(feed(person(1), person(2)), tiny).trips  # 2 of 4, but within loss_floor 2
    strict = replace(SETTINGS, guard=GuardSettings(loss_floor=0))
    assert plan(feed(person(1), person(2)), tiny, strict).trips


def test_moves_away_count_as_losses_of_the_school_they_leave() -> None:
    accounts = school_of(5, SCHOOL_A) + school_of(5, SCHOOL_B, first=11)
    exodus = feed(*[person(serial, school=SCHOOL_B) for serial in [1, 2, 3, 4, 5, *range(11, 16)]])
    the_plan = plan(exodus, accounts)
    assert [trip.school for trip in the_plan.trips] == [SCHOOL_A]
    assert len(the_plan.held) == 5 and not the_plan.actions  # every move touches school A


def test_staff_and_learners_are_guarded_separately() -> None:
    staff = [account(serial, role=Role.STAFF) for serial in range(1, 5)]
    learners = school_of(20, SCHOOL_A, first=11)
    the_plan = plan(feed(*[person(serial) for serial in range(11, 31)]), staff + learners)
    assert [(trip.school, trip.role) for trip in the_plan.trips] == [(SCHOOL_A, Role.STAFF)]


@pytest.mark.parametrize("kind", ["creates", "leavers"])
def test_absolute_limits_hold_the_whole_feed(kind: str) -> None:
    limits = replace(SETTINGS, guard=GuardSettings(max_creates=2, max_leavers=2, max_loss_percent=100))
    if kind == "creates":
        the_plan = plan(feed(person(1), person(2), person(3)), [], limits)
    else:
        the_plan = plan(feed(person(9)), school_of(3, SCHOOL_A), limits)
    assert [trip.school for trip in the_plan.trips] == [None]
    assert the_plan.actions == () and len(the_plan.held) == (3 if kind == "creates" else 4)
    assert "limit is 2" in the_plan.trips[0].reason


# --- Idempotence (C-5) ------------------------------------------------------------------------


def test_re_planning_an_applied_feed_is_empty() -> None:
    accounts = [account(1, family="Old"), account(2), account(3, school=SCHOOL_B)]
    the_feed = feed(person(1), person(3, school=SCHOOL_A), person(4, mail="n@hwb.example"),
                    person(5, status=None, enrolments=(enrolment(SCHOOL_A, end=date(2026, 11, 1)),)))
    first = plan(the_feed, accounts)
    assert {a.kind for a in first.actions} == {ActionKind.CREATE, ActionKind.UPDATE, ActionKind.MOVE,
                                               ActionKind.LEAVER}
    assert plan(the_feed, apply_plan(accounts, first)).is_empty


def test_protected_accounts_are_matched_but_never_changed() -> None:
    guarded = account(1, family="Old")
    policy = PolicySettings(protected=frozenset({"user1"}))
    the_plan = plan(feed(person(1)), [guarded, account(2)], policy=policy)
    assert [action.uid for action in the_plan.actions] == ["user2"]  # the absent one leaves
    assert "C-2" in the_plan.problems[0].detail
    gone = plan(feed(person(3)), [guarded], policy=policy)  # absent, protected: no leaver either
    assert [action.kind for action in gone.actions] == [ActionKind.CREATE]


def test_current_enrolment_elsewhere_is_a_move_even_if_org_sourced_ids_lag_behind() -> None:
    lagging = person(1, school=SCHOOL_A, enrolments=(enrolment(SCHOOL_B, begin=date(2026, 11, 2)),))
    action = only(plan(feed(lagging), [account(1, school=SCHOOL_A)]))
    assert (action.kind, action.fields) == (ActionKind.MOVE, {"school": SCHOOL_B})


def test_learner_enrolled_at_two_schools_keeps_the_accounts_school() -> None:
    dual = person(1, school=SCHOOL_B, enrolments=(
        enrolment(SCHOOL_B, begin=date(2026, 9, 1), primary=True, row=2),
        enrolment(SCHOOL_A, begin=date(2026, 9, 1), row=3),
    ))
    assert plan(feed(dual), [account(1, school=SCHOOL_A)]).is_empty
    assert only(plan(feed(dual), [])).fields["school"] == SCHOOL_B  # a new account: the primary
