"""The pure rules of the administrator operations (agent.core.operations), on plain snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agent.core.model import Account, Action, Category, Duration, FieldProblem, NonMisType, Reason, Role
from agent.core.operations import (
    Approved,
    NewAccount,
    Refused,
    days_left,
    decide_activation,
    decide_creation,
    decide_extension,
    decide_service_desk,
    expiring_window,
    is_expiring,
)
from agent.core.policy import PolicySettings, decide
from agent.core.uid_scheme import template_problems, uid_candidates, uid_part

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 16)
SETTINGS = PolicySettings(protected=frozenset({"hwb-breakglass"}))


def governor(**changes) -> Account:
    fields = dict(dn="uid=g,ou=non-mis,dc=x", uid="g", category=Category.NON_MIS, enabled=True,
                  non_mis_type=NonMisType.GOVERNOR, expiry_date=TODAY + timedelta(days=30),
                  sponsor="admin", created_at=NOW - timedelta(days=10))
    fields.update(changes)
    return Account(**fields)


def expired_governor(**changes) -> Account:
    return governor(enabled=False, expiry_date=TODAY - timedelta(days=1), disabled_reason=Reason.EXPIRED,
                    disabled_at=NOW - timedelta(hours=10), **changes)


def staff_leaver(**changes) -> Account:
    fields = dict(dn="uid=s,ou=staff,dc=x", uid="s", category=Category.MIS, role=Role.STAFF, enabled=False,
                  leaving_date=TODAY - timedelta(days=3), disabled_reason=Reason.LEFT,
                  disabled_at=NOW - timedelta(days=3))
    fields.update(changes)
    return Account(**fields)


# --- NM-5 activation ---------------------------------------------------------------------------


def test_nm5_expired_account_without_extension_is_refused():
    verdict = decide_activation(expired_governor(), NOW, SETTINGS)
    assert isinstance(verdict, Refused)
    assert verdict.rule == "NM-5"
    assert "only be reactivated together with an extension" in verdict.message
    assert "--duration" in verdict.message


def test_nm5_expired_account_with_extension_is_enabled_and_extended_from_today():
    verdict = decide_activation(expired_governor(), NOW, SETTINGS, Duration.THREE_MONTHS)
    assert verdict == Approved("NM-5", verdict.detail, enable=True, expiry_date=date(2027, 2, 16),
                               duration=Duration.THREE_MONTHS)
    assert "NM-6" in verdict.detail


def test_nm5_reactivation_keeps_the_expiry_date():
    account = governor(enabled=False, disabled_reason=Reason.INACTIVE, disabled_at=NOW)
    verdict = decide_activation(account, NOW, SETTINGS)
    assert isinstance(verdict, Approved)
    assert verdict.enable and verdict.expiry_date is None


def test_nm5_account_expiring_today_can_be_reactivated_without_extension():
    account = governor(enabled=False, expiry_date=TODAY, disabled_reason=Reason.INACTIVE)
    assert isinstance(decide_activation(account, NOW, SETTINGS), Approved)


def test_nm5_enabled_account_needs_nothing():
    verdict = decide_activation(governor(), NOW, SETTINGS)
    assert isinstance(verdict, Approved) and not verdict.changes


def test_nm6_activation_with_a_shortening_duration_is_refused():
    account = governor(enabled=False, expiry_date=TODAY + timedelta(days=150),
                       disabled_reason=Reason.INACTIVE)
    verdict = decide_activation(account, NOW, SETTINGS, Duration.ONE_MONTH)
    assert isinstance(verdict, Refused) and verdict.rule == "NM-6"
    assert "never shortens" in verdict.message


def test_mis3_learner_activation_is_refused_with_an_explanation():
    learner = staff_leaver(role=Role.LEARNER)
    verdict = decide_activation(learner, NOW, SETTINGS)
    assert isinstance(verdict, Refused) and verdict.rule == "MIS-3"
    assert "reactivated by the MIS" in verdict.message


def test_mis4_staff_activation_points_to_the_service_desk():
    verdict = decide_activation(staff_leaver(), NOW, SETTINGS)
    assert isinstance(verdict, Refused) and verdict.rule == "MIS-4"
    assert "service-desk-reactivate s --by ID --ticket REF" in verdict.message


def test_nm2_learner_by_role_is_not_reactivated():
    verdict = decide_activation(expired_governor(role=Role.LEARNER), NOW, SETTINGS, Duration.ONE_MONTH)
    assert isinstance(verdict, Refused) and verdict.rule == "NM-2"
    assert "role is learner" in verdict.message


def test_nm2_learner_by_identity_is_not_reactivated():
    verdict = decide_activation(expired_governor(), NOW, SETTINGS, Duration.ONE_MONTH,
                                learner_identity="the mail a@b belongs to the learner account l1")
    assert isinstance(verdict, Refused) and verdict.rule == "NM-2"
    assert "learner account l1" in verdict.message


def test_c2_protected_account_is_never_changed():
    verdict = decide_activation(expired_governor(uid="hwb-breakglass"), NOW, SETTINGS, Duration.ONE_MONTH)
    assert isinstance(verdict, Refused) and verdict.rule == "C-2"


def test_c7_unreadable_account_is_never_changed():
    account = expired_governor(problems=(FieldProblem("hwbLeavingDate", "31/07", "bad date"),))
    verdict = decide_activation(account, NOW, SETTINGS, Duration.ONE_MONTH)
    assert isinstance(verdict, Refused) and verdict.rule == "C-7"
    assert "hwbLeavingDate='31/07'" in verdict.message


# --- NM-6 extension -------------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "expected"), [
    (Duration.ONE_MONTH, date(2026, 12, 16)),
    (Duration.SIX_MONTHS, date(2027, 5, 16)),
    (Duration.END_OF_ACADEMIC_YEAR, date(2027, 8, 31)),
])
def test_nm6_extension_counts_from_today(duration, expected):
    verdict = decide_extension(governor(expiry_date=TODAY), duration, NOW, SETTINGS)
    assert isinstance(verdict, Approved)
    assert verdict.expiry_date == expected and verdict.duration is duration


def test_nm6_extension_never_shortens_silently():
    account = governor(expiry_date=date(2027, 5, 1))
    verdict = decide_extension(account, Duration.ONE_MONTH, NOW, SETTINGS)
    assert isinstance(verdict, Refused) and verdict.rule == "NM-6"
    assert "2026-12-16" in verdict.message and "2027-05-01" in verdict.message
    assert "--allow-shorten" in verdict.message
    allowed = decide_extension(account, Duration.ONE_MONTH, NOW, SETTINGS, allow_shorten=True)
    assert isinstance(allowed, Approved) and allowed.expiry_date == date(2026, 12, 16)
    assert "shortened" in allowed.detail


def test_nm6_same_expiry_changes_nothing():
    verdict = decide_extension(governor(expiry_date=date(2026, 12, 16)), Duration.ONE_MONTH, NOW, SETTINGS)
    assert isinstance(verdict, Approved) and not verdict.changes


def test_nm6_mis_accounts_have_no_expiry_to_extend():
    verdict = decide_extension(staff_leaver(), Duration.ONE_MONTH, NOW, SETTINGS)
    assert isinstance(verdict, Refused) and verdict.rule == "NM-6"
    assert "only non-MIS accounts" in verdict.message


def test_nm6_extending_a_disabled_account_says_it_stays_disabled():
    verdict = decide_extension(expired_governor(), Duration.ONE_MONTH, NOW, SETTINGS)
    assert isinstance(verdict, Approved) and not verdict.enable
    assert "stays disabled" in verdict.detail and "activate g" in verdict.detail


# --- MIS-4 service desk ------------------------------------------------------------------------------


def test_mis4_service_desk_enables_a_staff_leaver():
    verdict = decide_service_desk(staff_leaver(), NOW, SETTINGS)
    assert isinstance(verdict, Approved) and verdict.enable and verdict.rule == "MIS-4"


def test_mis2_service_desk_reactivation_is_not_undone_for_the_same_leaving_date():
    # What the reactivation writes, seen by the sweep's policy the next day and a month later.
    reactivated = staff_leaver(enabled=True, disabled_reason=None, disabled_at=None, reactivated_at=NOW,
                               reactivated_by="desk", reactivation_ticket="T-1")
    assert decide(reactivated, NOW + timedelta(days=1), SETTINGS).action is Action.NONE
    assert decide(reactivated, NOW + timedelta(days=30), SETTINGS).action is Action.NONE
    later = reactivated.__class__(**{**reactivated.__dict__, "leaving_date": TODAY + timedelta(days=20)})
    decision = decide(later, NOW + timedelta(days=20), SETTINGS)
    assert decision.action is Action.DISABLE and decision.rule == "MIS-2"


@pytest.mark.parametrize(("account", "rule"), [
    (staff_leaver(role=Role.LEARNER), "MIS-3"),
    (expired_governor(), "MIS-4"),
])
def test_mis4_service_desk_refuses_learners_and_non_mis(account, rule):
    verdict = decide_service_desk(account, NOW, SETTINGS)
    assert isinstance(verdict, Refused) and verdict.rule == rule


# --- NM-1, NM-2 creation ----------------------------------------------------------------------------


def request(**changes) -> NewAccount:
    fields = dict(non_mis_type=NonMisType.GOVERNOR, given_name="Siân", surname="Ap Rhys",
                  mail="sian@example.org", sponsor="admin", duration=Duration.THREE_MONTHS)
    fields.update(changes)
    return NewAccount(**fields)


def test_nm1_creation_expiry_is_today_plus_the_duration():
    verdict = decide_creation(request(), NOW, SETTINGS)
    assert isinstance(verdict, Approved) and verdict.expiry_date == date(2027, 2, 16)


def test_nm1_month_arithmetic_clamps_to_month_end():
    verdict = decide_creation(request(duration=Duration.ONE_MONTH),
                              datetime(2027, 1, 31, 12, tzinfo=UTC), SETTINGS)
    assert isinstance(verdict, Approved) and verdict.expiry_date == date(2027, 2, 28)


def test_nm2_creation_for_a_learner_is_refused_by_role_and_by_identity():
    by_role = decide_creation(request(role=Role.LEARNER), NOW, SETTINGS)
    assert isinstance(by_role, Refused) and by_role.rule == "NM-2" and "role learner" in by_role.message
    by_identity = decide_creation(request(), NOW, SETTINGS, "the mail x belongs to the learner account l")
    assert isinstance(by_identity, Refused) and by_identity.rule == "NM-2"


def test_uid_scheme_folds_names_and_counts_collisions():
    candidates = uid_candidates("{given}.{surname}", request(), 64)
    assert [next(candidates) for _ in range(3)] == ["sian.aprhys", "sian.aprhys2", "sian.aprhys3"]
    short = uid_candidates("{g}{surname}", request(surname="Llewellyn-Pritchard-Williams"), 20)
    first, second = next(short), next(short)
    assert first == "sllewellyn-pritchard" and len(first) == 20
    assert second == "sllewellyn-pritchar2"
    assert uid_part("O'Brien  Ó") == "obrieno"


def test_uid_template_problems_name_the_fault():
    assert template_problems("{given}.{surname}") == []
    assert template_problems("{type}-{nick}") == ["unknown placeholder {nick}",
                                                  "needs at least one of {given}, {surname} or {g}"]
    assert template_problems("{given} {surname}") == [
        "only a-z, 0-9, '.', '-' and '_' may stand between the placeholders"]


# --- NM-8 window ---------------------------------------------------------------------------------------


def test_nm8_window_runs_from_today_to_today_plus_eight_weeks():
    first, last = expiring_window(NOW, SETTINGS)
    assert (first, last) == (TODAY, TODAY + timedelta(weeks=8))
    assert is_expiring(governor(expiry_date=TODAY), first, last)
    assert is_expiring(governor(expiry_date=last), first, last)
    assert not is_expiring(governor(expiry_date=last + timedelta(days=1)), first, last)
    assert not is_expiring(governor(expiry_date=TODAY - timedelta(days=1)), first, last)
    assert not is_expiring(governor(expiry_date=TODAY, enabled=False), first, last)
    assert days_left(governor(expiry_date=last), TODAY) == 56
