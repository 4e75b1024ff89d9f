"""One test (or more) per rule id of POLICY.md, at each boundary: the day before, on, after."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from agent.core.model import Action, FieldProblem, Reason
from agent.core.policy import Context, PolicySettings, decide
from tests.builders import SETTINGS, learner, left, non_mis, noon, staff

TODAY = date(2026, 11, 28)
NOW = noon(TODAY)


def test_mis_1_current_learner_without_leaving_date_stays_enabled():
    decision = decide(learner(), NOW, SETTINGS)
    assert (decision.action, decision.rule, decision.next) == (Action.NONE, "MIS-1", None)


def test_mis_1_future_leaving_date_changes_nothing_yet_and_schedules_the_disable():
    decision = decide(learner(leaving_date=TODAY + timedelta(days=1)), NOW, SETTINGS)
    assert decision.action is Action.NONE
    assert (decision.next.date, decision.next.action, decision.next.rule) == (
        TODAY + timedelta(days=1),
        Action.DISABLE,
        "MIS-2",
    )


@pytest.mark.parametrize("days_before", [0, 1, 45])
def test_mis_2_leaving_date_today_or_earlier_disables_as_left(days_before):
    decision = decide(learner(leaving_date=TODAY - timedelta(days=days_before)), NOW, SETTINGS)
    assert (decision.action, decision.rule, decision.reason) == (Action.DISABLE, "MIS-2", Reason.LEFT)


def test_mis_2_disable_schedules_the_purge_twelve_months_after_the_leaving_date():
    decision = decide(learner(leaving_date=TODAY), NOW, SETTINGS)
    assert (decision.next.date, decision.next.rule) == (date(2027, 11, 28), "MIS-5")


def test_mis_2_service_desk_reactivation_after_leaving_date_is_not_undone():
    account = staff(leaving_date=TODAY - timedelta(days=20), reactivated_at=noon(TODAY - timedelta(days=10)))
    decision = decide(account, NOW, SETTINGS)
    assert (decision.action, decision.rule) == (Action.NONE, "MIS-2")


def test_mis_2_a_later_leaving_date_disables_a_reactivated_account_again():
    account = staff(leaving_date=TODAY - timedelta(days=1), reactivated_at=noon(TODAY - timedelta(days=10)))
    assert decide(account, NOW, SETTINGS).action is Action.DISABLE


def test_mis_3_learner_leaver_current_again_is_enabled():
    account = learner(**left(TODAY - timedelta(days=40)))
    decision = decide(account, NOW, SETTINGS)
    assert (decision.action, decision.rule) == (Action.ENABLE, "MIS-3")


def test_mis_3_learner_with_a_new_future_leaving_date_is_enabled_and_rescheduled():
    account = learner(leaving_date=TODAY + timedelta(days=30), **left(TODAY - timedelta(days=40)))
    decision = decide(account, NOW, SETTINGS)
    assert decision.action is Action.ENABLE
    assert decision.next.rule == "MIS-2"


def test_mis_3_learner_still_a_leaver_stays_disabled():
    account = learner(leaving_date=TODAY - timedelta(days=40), **left(TODAY - timedelta(days=40)))
    assert decide(account, NOW, SETTINGS).action is Action.NONE


def test_mis_4_staff_leaver_current_again_is_only_flagged_for_the_service_desk():
    decision = decide(staff(**left(TODAY - timedelta(days=30))), NOW, SETTINGS)
    assert (decision.action, decision.rule) == (Action.FLAG, "MIS-4")


@pytest.mark.parametrize(
    ("today", "action"),
    [
        (date(2026, 11, 27), Action.NONE),
        (date(2026, 11, 28), Action.PURGE),
        (date(2026, 11, 29), Action.PURGE),
    ],
)
def test_mis_5_purge_exactly_twelve_months_after_the_leaving_date(today, action):
    leaving = date(2025, 11, 28)
    account = learner(leaving_date=leaving, **left(leaving))
    decision = decide(account, noon(today), SETTINGS)
    assert decision.action is action
    if action is Action.PURGE:
        assert decision.rule == "MIS-5"
    else:
        assert (decision.next.date, decision.next.rule) == (date(2026, 11, 28), "MIS-5")


def test_mis_5_leap_day_leaver_is_purged_on_the_last_day_of_february():
    leaving = date(2024, 2, 29)
    account = learner(leaving_date=leaving, **left(leaving))
    assert decide(account, noon(date(2025, 2, 27)), SETTINGS).action is Action.NONE
    assert decide(account, noon(date(2025, 2, 28)), SETTINGS).action is Action.PURGE


def test_mis_5_account_reactivated_after_leaving_is_never_purged_for_that_date():
    leaving = date(2025, 1, 10)
    account = staff(
        leaving_date=leaving,
        enabled=False,
        disabled_reason=Reason.ADMIN,
        disabled_at=noon(date(2025, 6, 1)),
        reactivated_at=noon(date(2025, 2, 1)),
    )
    assert decide(account, NOW, SETTINGS).action is Action.NONE


def test_mis_5_covers_leavers_disabled_by_someone_else_per_the_source_text():
    leaving = date(2025, 1, 10)
    account = learner(leaving_date=leaving, enabled=False, disabled_reason=None)
    assert decide(account, NOW, SETTINGS).action is Action.PURGE


def test_nm_2_non_mis_account_with_role_learner_is_disabled_for_policy():
    from agent.core.model import Role

    decision = decide(non_mis(role=Role.LEARNER), NOW, SETTINGS)
    assert (decision.action, decision.rule, decision.reason) == (Action.DISABLE, "NM-2", Reason.POLICY)


def test_nm_2_non_mis_account_with_a_learners_identity_is_disabled():
    decision = decide(non_mis(), NOW, SETTINGS, Context(learner_identity=True))
    assert (decision.action, decision.rule) == (Action.DISABLE, "NM-2")


@pytest.mark.parametrize(
    ("expiry", "action"),
    [
        (TODAY + timedelta(days=1), Action.NONE),
        (TODAY, Action.NONE),
        (TODAY - timedelta(days=1), Action.DISABLE),
    ],
)
def test_nm_3_expiry_date_is_the_last_usable_day(expiry, action):
    account = non_mis(expiry_date=expiry, last_sign_in=noon(TODAY - timedelta(days=1)))
    decision = decide(account, NOW, SETTINGS)
    assert decision.action is action
    if action is Action.DISABLE:
        assert (decision.rule, decision.reason) == ("NM-3", Reason.EXPIRED)
    else:
        assert (decision.next.date, decision.next.rule) == (expiry + timedelta(days=1), "NM-3")


@pytest.mark.parametrize(("age", "action"), [(89, Action.NONE), (90, Action.DISABLE), (91, Action.DISABLE)])
def test_nm_4_never_used_account_is_disabled_90_days_after_creation(age, action):
    account = non_mis(created_at=noon(TODAY - timedelta(days=age)))
    decision = decide(account, NOW, SETTINGS)
    assert decision.action is action
    if action is Action.DISABLE:
        assert (decision.rule, decision.reason) == ("NM-4", Reason.INACTIVE)


def test_nm_4_counts_from_the_latest_of_sign_in_reactivation_and_creation():
    account = non_mis(
        created_at=noon(date(2025, 1, 1)),
        last_sign_in=noon(date(2026, 2, 1)),
        reactivated_at=noon(TODAY - timedelta(days=10)),
    )
    decision = decide(account, NOW, SETTINGS)
    assert decision.action is Action.NONE
    assert (decision.next.date, decision.next.rule) == (TODAY + timedelta(days=80), "NM-4")


def test_nm_4_uses_the_london_calendar_date_across_bst():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): the sign-in counts for 1 July.
    signed_in = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    account = non_mis(created_at=noon(date(2026, 1, 1)), last_sign_in=signed_in)
    assert decide(account, noon(date(2026, 9, 28)), SETTINGS).action is Action.NONE  # 89 days after 1 July
    assert decide(account, noon(date(2026, 9, 29)), SETTINGS).action is Action.DISABLE


def test_nm_3_takes_precedence_over_nm_4():
    account = non_mis(expiry_date=TODAY - timedelta(days=2), created_at=noon(TODAY - timedelta(days=300)))
    assert decide(account, NOW, SETTINGS).rule == "NM-3"


@pytest.mark.parametrize(
    ("today", "action"),
    [(date(2026, 11, 27), Action.NONE), (date(2026, 11, 28), Action.PURGE), (date(2027, 1, 5), Action.PURGE)],
)
def test_nm_7_purge_twelve_months_after_the_disable(today, action):
    account = non_mis(enabled=False, disabled_reason=Reason.EXPIRED, disabled_at=noon(date(2025, 11, 28)))
    decision = decide(account, noon(today), SETTINGS)
    assert decision.action is action
    if action is Action.PURGE:
        assert decision.rule == "NM-7"


def test_nm_7_not_purged_when_reactivated_since_the_disable():
    account = non_mis(
        enabled=False,
        disabled_reason=None,
        disabled_at=noon(date(2024, 1, 1)),
        reactivated_at=noon(date(2024, 3, 1)),
    )
    assert decide(account, NOW, SETTINGS).action is Action.NONE


def test_nm_7_disabled_outside_the_agent_without_a_time_has_no_purge_date():
    account = non_mis(enabled=False, disabled_reason=None, disabled_at=None)
    decision = decide(account, NOW, SETTINGS)
    assert (decision.action, decision.rule, decision.next) == (Action.NONE, "C-9", None)


@pytest.mark.parametrize("reason", [Reason.EXPIRED, Reason.INACTIVE, Reason.POLICY, Reason.ADMIN, None])
def test_c_9_a_sweep_never_enables_a_disabled_non_mis_account(reason):
    account = non_mis(
        enabled=False,
        disabled_reason=reason,
        disabled_at=noon(TODAY - timedelta(days=3)),
        expiry_date=TODAY + timedelta(days=100),
    )
    assert decide(account, NOW, SETTINGS).action is not Action.ENABLE


@pytest.mark.parametrize("reason", [Reason.ADMIN, None])
def test_c_9_learner_disabled_by_someone_else_is_not_enabled_when_current(reason):
    account = learner(enabled=False, disabled_reason=reason)
    assert decide(account, NOW, SETTINGS).action is Action.NONE


@pytest.mark.parametrize("protected", ["n1", "UID=N1,OU=PEOPLE,DC=EXAMPLE,DC=ORG"])
def test_c_2_protected_accounts_are_never_changed(protected):
    settings = PolicySettings(protected=frozenset({protected.lower()}))
    account = non_mis(expiry_date=TODAY - timedelta(days=400))
    decision = decide(account, NOW, settings)
    assert (decision.action, decision.rule) == (Action.NONE, "C-2")


def test_c_7_unreadable_lifecycle_data_is_never_acted_on():
    account = learner(leaving_date=None, problems=(FieldProblem("hwbLeavingDate", "31/07/2026", "bad"),))
    decision = decide(replace(account, enabled=True), NOW, SETTINGS)
    assert (decision.action, decision.rule) == (Action.NONE, "C-7")
    assert "hwbLeavingDate='31/07/2026'" in decision.detail


def test_mis_5_an_account_disabled_only_now_gets_the_grace_period_before_its_purge():
    # A leaving date entered two years late: disabled today, purged no sooner than 30 days on.
    account = learner(leaving_date=date(2024, 9, 1))
    first = decide(account, NOW, SETTINGS)
    assert (first.action, first.next.date) == (Action.DISABLE, TODAY + timedelta(days=30))
    disabled = replace(account, enabled=False, disabled_reason=Reason.LEFT, disabled_at=NOW)
    assert decide(disabled, noon(TODAY + timedelta(days=29)), SETTINGS).action is Action.NONE
    assert decide(disabled, noon(TODAY + timedelta(days=30)), SETTINGS).action is Action.PURGE
