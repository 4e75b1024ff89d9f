"""Who may do what in the console (agent.actions.console_scope, issue 13), on plain values."""

from __future__ import annotations

import pytest

from agent.actions.console_scope import (
    Administrator,
    ConsoleRole,
    NotInScope,
    Operation,
    may,
    require,
    sponsor_for_creation,
)
from agent.core.model import Category
from tests.builders import learner, non_mis, staff

LA = Administrator("admin.cardiff", "uid=admin.cardiff,ou=admins", "LA", None,
                   frozenset({ConsoleRole.LA_ADMIN}))
SCHOOL = Administrator("admin.ysgol", "uid=admin.ysgol,ou=admins", "School", None,
                       frozenset({ConsoleRole.SCHOOL_ADMIN}), frozenset({"6812001"}))
DESK = Administrator("servicedesk.demo", "uid=servicedesk.demo,ou=admins", "Desk", None,
                     frozenset({ConsoleRole.SERVICE_DESK}))

OWN_SCHOOL = non_mis(uid="a", school="6812001", sponsor="someone.else")
SPONSORED = non_mis(uid="b", school=None, sponsor="Admin.Ysgol")
OTHER = non_mis(uid="c", school="6814003", sponsor="admin.cardiff")
STAFF_LEAVER = staff(uid="d", school="6814003", enabled=False)


def test_a_local_authority_administrator_manages_every_non_mis_account_but_not_the_service_desk():
    for account in (OWN_SCHOOL, SPONSORED, OTHER):
        assert may(LA, Operation.VIEW, account) and may(LA, Operation.ACTIVATE, account)
        assert may(LA, Operation.EXTEND, account)
    assert may(LA, Operation.VIEW, STAFF_LEAVER)
    assert not may(LA, Operation.SERVICE_DESK, STAFF_LEAVER)  # MIS-4: the service desk only
    assert not may(LA, Operation.ACTIVATE, STAFF_LEAVER)      # not a non-MIS account


def test_a_school_administrator_sees_their_schools_and_what_they_sponsor_only():
    assert may(SCHOOL, Operation.VIEW, OWN_SCHOOL) and may(SCHOOL, Operation.ACTIVATE, OWN_SCHOOL)
    assert may(SCHOOL, Operation.VIEW, SPONSORED) and may(SCHOOL, Operation.EXTEND, SPONSORED)
    assert not may(SCHOOL, Operation.VIEW, OTHER)
    assert may(SCHOOL, Operation.VIEW, learner(school="6812001"))
    assert not may(SCHOOL, Operation.VIEW, learner(school="6812002"))
    with pytest.raises(NotInScope):
        require(SCHOOL, Operation.ACTIVATE, OTHER)
    # Sponsorship counts for non-MIS accounts only.
    assert not may(SCHOOL, Operation.VIEW, staff(school="6814003", sponsor="admin.ysgol"))


def test_the_service_desk_sees_and_reactivates_staff_only():
    assert may(DESK, Operation.VIEW, STAFF_LEAVER) and may(DESK, Operation.SERVICE_DESK, STAFF_LEAVER)
    assert not may(DESK, Operation.VIEW, OTHER) and not may(DESK, Operation.VIEW, learner())
    assert not may(DESK, Operation.CREATE)
    with pytest.raises(NotInScope):
        require(DESK, Operation.EXTEND, STAFF_LEAVER)


def test_the_sponsor_of_a_new_account_defaults_to_the_administrator_and_binds_a_school_admin():
    assert sponsor_for_creation(LA, None) == "admin.cardiff"
    assert sponsor_for_creation(LA, "head.6812003") == "head.6812003"
    assert sponsor_for_creation(SCHOOL, "") == "admin.ysgol"
    with pytest.raises(NotInScope):
        sponsor_for_creation(SCHOOL, "admin.cardiff")


def test_an_account_without_a_category_is_seen_by_managers_only():
    odd = non_mis(uid="odd", category=None, school=None, sponsor=None)
    assert odd.category is None and Category.NON_MIS is not None
    assert may(LA, Operation.VIEW, odd) and not may(SCHOOL, Operation.VIEW, odd)
    assert not may(LA, Operation.ACTIVATE, odd)
