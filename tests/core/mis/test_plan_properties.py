"""Properties of the planner on random populations: idempotence (C-5), one account per person,
nothing outside the feed's schools touched, every action carrying its rule id."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.mis.feed import FileMode, RowStatus
from agent.core.mis.plan import plan_provisioning
from agent.core.mis.settings import MisSettings
from agent.core.model import Category, Reason, Role
from tests.actions.mis.support import (
    SCHOOL_A,
    SCHOOL_B,
    SCHOOL_C,
    TODAY,
    account,
    apply_plan,
    enrolment,
    feed,
    person,
)

SETTINGS = MisSettings()
serials = st.integers(min_value=1, max_value=12)
days = st.integers(min_value=-60, max_value=60).map(lambda offset: TODAY + timedelta(days=offset))


@st.composite
def population(draw):
    roles = {serial: draw(st.sampled_from([Role.LEARNER, Role.STAFF])) for serial in range(1, 13)}
    accounts = []
    for serial in sorted(draw(st.sets(serials))):
        leaving = draw(st.none() | days)
        left = leaving is not None and leaving <= TODAY and draw(st.booleans())
        accounts.append(account(
            serial, role=roles[serial], school=draw(st.sampled_from([SCHOOL_A, SCHOOL_B, SCHOOL_C])),
            family=draw(st.sampled_from(["Jones", "Evans"])), leaving=leaving,
            enabled=not left, reason=Reason.LEFT if left else None, uid=f"acct{serial}",
        ))
    users = draw(st.sampled_from([FileMode.BULK, FileMode.DELTA]))
    enrollments = draw(st.sampled_from([FileMode.BULK, FileMode.DELTA]))
    persons = []
    for serial in sorted(draw(st.sets(serials))):
        school = draw(st.sampled_from([SCHOOL_A, SCHOOL_B]))
        ends = draw(st.lists(st.none() | days, max_size=2))
        persons.append(person(
            serial, role=roles[serial], school=school, family=draw(st.sampled_from(["Jones", "Evans"])),
            mail=draw(st.none() | st.just(f"p{serial}@hwb.example")),
            status=(draw(st.sampled_from([RowStatus.ACTIVE, RowStatus.TO_BE_DELETED]))
                    if users is FileMode.DELTA else None),
            modified_on=TODAY,
            enrolments=tuple(enrolment(school, end=end, row=index + 2) for index, end in enumerate(ends)),
        ))
    the_feed = feed(*persons, users=users, enrollments=enrollments,
                    feed_date=TODAY - timedelta(days=draw(st.integers(0, 3))))
    return the_feed, accounts


@settings(max_examples=300, deadline=None)
@given(population())
def test_applying_a_plan_then_re_planning_is_empty(case) -> None:
    the_feed, accounts = case
    plan = plan_provisioning(the_feed, accounts, TODAY, SETTINGS, confirm=True)
    after = apply_plan(accounts, plan)
    assert plan_provisioning(the_feed, after, TODAY, SETTINGS, confirm=True).is_empty


@settings(max_examples=300, deadline=None)
@given(population())
def test_one_account_per_person_and_nothing_outside_the_feeds_schools(case) -> None:
    the_feed, accounts = case
    plan = plan_provisioning(the_feed, accounts, TODAY, SETTINGS, confirm=True)
    after = apply_plan(accounts, plan)
    keys = [(a.role, a.mis_id) for a in after if a.category is Category.MIS]
    assert len(keys) == len(set(keys))
    in_feed = {(p.role, p.mis_id) for p in the_feed.persons}
    untouched = {a.dn for a in accounts if a.school == SCHOOL_C and (a.role, a.mis_id) not in in_feed}
    assert not untouched & {action.dn for action in plan.actions}
    assert all(action.rule in {"MIS-1", "MIS-2", "MIS-3"} for action in plan.actions)


@settings(max_examples=200, deadline=None)
@given(population())
def test_without_confirmation_held_and_applied_actions_partition_the_confirmed_plan(case) -> None:
    the_feed, accounts = case
    confirmed = plan_provisioning(the_feed, accounts, TODAY, SETTINGS, confirm=True)
    guarded = plan_provisioning(the_feed, accounts, TODAY, SETTINGS)
    assert sorted(map(repr, guarded.actions + guarded.held)) == sorted(map(repr, confirmed.actions))
    held_schools = guarded.held_schools
    if None not in held_schools:
        assert not any(held_schools & set(action.schools) for action in guarded.actions)
