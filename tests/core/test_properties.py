"""Invariants of the policy over random populations around every boundary (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.criteria import matches
from agent.core.dates import add_months, local_date
from agent.core.model import Action, Category, Reason
from agent.core.policy import Context, PolicySettings, candidate_criteria, decide, flagged_or_acted
from tests.builders import LONDON, SETTINGS, noon
from tests.core.strategies import TODAY, accounts

NOW = noon(TODAY)


def applied(account, decision, now):
    """The snapshot after the sweep applied `decision` (None when purged)."""
    if decision.action is Action.PURGE:
        return None
    if decision.action is Action.DISABLE:
        return replace(account, enabled=False, disabled_reason=decision.reason, disabled_at=now)
    if decision.action is Action.ENABLE:
        return replace(account, enabled=True, disabled_reason=None, disabled_at=None)
    return account


@given(accounts(), st.booleans())
@settings(max_examples=400)
def test_the_agent_never_enables_a_non_mis_account(account, learner_identity):
    # C-9 / NM-5: only an administrator's reactivation enables a non-MIS account,
    # so an expired one is never enabled by a sweep.
    decision = decide(account, NOW, SETTINGS, Context(learner_identity))
    if account.category is Category.NON_MIS:
        assert decision.action is not Action.ENABLE


@given(accounts())
@settings(max_examples=400)
def test_the_agent_never_purges_before_the_retention_period(account):
    decision = decide(account, NOW, SETTINGS)
    if decision.action is Action.PURGE:
        assert not account.enabled
        if account.category is Category.MIS:  # MIS-5
            assert add_months(account.leaving_date, 12) <= TODAY
        else:  # NM-7
            assert add_months(local_date(account.disabled_at, LONDON), 12) <= TODAY


@given(accounts())
def test_protected_accounts_are_never_changed(account):
    settings_ = PolicySettings(protected=frozenset({account.uid}))
    assert decide(account, NOW, settings_).action is Action.NONE  # C-2


@given(accounts())
def test_only_leavers_made_current_again_are_enabled(account):
    decision = decide(account, NOW, SETTINGS)
    if decision.action is Action.ENABLE:  # MIS-3, C-9
        assert account.category is Category.MIS and account.disabled_reason is Reason.LEFT
        assert account.leaving_date is None or account.leaving_date > TODAY


@given(accounts(), st.booleans())
@settings(max_examples=400)
def test_a_sweep_after_a_sweep_plans_nothing(account, learner_identity):
    # C-5: once a decision is applied, deciding again at the same time changes nothing.
    context = Context(learner_identity)
    first = decide(account, NOW, SETTINGS, context)
    after = applied(account, first, NOW)
    if after is not None:
        assert not decide(after, NOW, SETTINGS, context).changes


@given(accounts(), st.sampled_from([0, 1, 30, 89, 90, 365]))
@settings(max_examples=600)
def test_candidate_criteria_cover_every_account_that_is_due(account, days_later):
    # DESIGN "Performance shape": the filtered read never misses an account the full read would act on.
    now = NOW + timedelta(days=days_later)
    if decide(account, now, SETTINGS).action is Action.PURGE or flagged_or_acted(
        decide(account, now, SETTINGS)
    ):
        assert matches(candidate_criteria(now, SETTINGS), account)
