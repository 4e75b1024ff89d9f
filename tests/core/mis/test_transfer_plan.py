"""Planning transfers between authorities (issue 15), on plain values.

A learner in this authority's feed with no account here but one in another authority's subtree of
the national directory is transferred in (MIS-3), never created twice; staff found there are
flagged for the service desk (MIS-4); a transfer counts like a create in the guard (C-8).
Properties over random populations of two authorities: no UPN ever ends with two accounts, and
re-planning after applying is a no-op (C-5).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.dates import add_months
from agent.core.dn import is_below
from agent.core.mis.feed import FileMode
from agent.core.mis.plan import ActionKind, ProvisioningPlan, plan_provisioning
from agent.core.mis.settings import GuardSettings, MisSettings
from agent.core.model import Account, Category, Reason, Role
from tests.actions.mis.support import TODAY, account, enrolment, feed, person

NATIONAL = "ou=people,dc=example,dc=org"
HERE = f"ou=682,{NATIONAL}"  # the receiving authority's base DN
THERE = f"ou=681,{NATIONAL}"  # the sending authority's
SCHOOL_682, OTHER_682 = "6822001", "6822002"
SCHOOL_681 = "6812001"
SETTINGS = MisSettings()


def elsewhere(serial: int, **changes) -> Account:
    """An account of authority 681 (the other subtree) for person `serial`."""
    found = account(serial, **{"school": SCHOOL_681, **changes})
    return replace(found, dn=f"uid={found.uid},ou=mis,{THERE}", local_authority="681")


def here(serial: int, **changes) -> Account:
    found = account(serial, **{"school": SCHOOL_682, **changes})
    return replace(found, dn=f"uid={found.uid},ou=mis,{HERE}", local_authority="682")


def feed_682(*persons, **options):
    return feed(*persons, schools=(SCHOOL_682, OTHER_682), **options)


def plan(the_feed, local, national, **options) -> ProvisioningPlan:
    return plan_provisioning(the_feed, local, TODAY, options.pop("mis", SETTINGS), confirm=options.pop(
        "confirm", True), national=national, authority="682", **options)


LEFT_AT = datetime(2026, 7, 20, 12, tzinfo=UTC)


def left_learner(serial: int, left: date = date(2026, 7, 20), **changes) -> Account:
    """A learner who left 681 and whose account 681's sweep disabled (MIS-2)."""
    return elsewhere(serial, leaving=left, enabled=False, reason=Reason.LEFT, **changes)


def test_mis_3_a_learner_who_left_another_authority_is_transferred_not_created() -> None:
    sent = replace(left_learner(1), disabled_at=LEFT_AT)
    result = plan(feed_682(person(1, school=SCHOOL_682)), [], [sent])

    [action] = result.actions
    assert action.kind is ActionKind.TRANSFER and action.rule == "MIS-3"
    assert action.dn == sent.dn and action.uid == sent.uid and action.container == "ou=mis"
    assert action.enable and not action.saved_from_deletion
    assert {c.field: (c.before, c.after) for c in action.changes} == {
        "school": (SCHOOL_681, SCHOOL_682),
        "leaving_date": (date(2026, 7, 20), None),
        "local_authority": ("681", "682"),
    }
    assert "re-enabled" in action.detail and action.schools == (SCHOOL_682,)
    assert not any(a.kind is ActionKind.CREATE for a in result.actions)


def test_without_a_national_directory_the_same_learner_is_created_as_before() -> None:
    result = plan_provisioning(feed_682(person(1, school=SCHOOL_682)), [], TODAY, SETTINGS, confirm=True)
    assert [a.kind for a in result.actions] == [ActionKind.CREATE]


def test_mis_5_an_account_11_months_29_days_after_leaving_is_transferred_and_saved_from_deletion() -> None:
    left = add_months(TODAY, -12) + timedelta(days=1)  # 11 months and 29-30 days ago: purge is tomorrow
    sent = replace(left_learner(1, left=left), disabled_at=datetime(left.year, left.month, left.day, 12,
                                                                     tzinfo=UTC))
    [action] = plan(feed_682(person(1, school=SCHOOL_682)), [], [sent]).actions
    assert action.kind is ActionKind.TRANSFER and action.enable and action.saved_from_deletion
    assert "saved from deletion" in action.detail and left.isoformat() in action.detail


def test_mis_4_staff_found_in_another_authority_are_flagged_with_the_dn_never_moved_or_created() -> None:
    sent = elsewhere(7, role=Role.STAFF, leaving=date(2026, 7, 20), enabled=False, reason=Reason.LEFT)
    result = plan(feed_682(person(7, role=Role.STAFF, school=SCHOOL_682)), [], [sent])

    assert result.actions == () and result.is_empty
    [flag] = result.flags
    assert flag.rule == "MIS-4" and flag.dn == sent.dn and sent.dn in flag.detail
    assert flag.mis_id == sent.mis_id


def test_an_account_disabled_by_an_administrator_elsewhere_moves_in_but_stays_disabled_c_9() -> None:
    sent = elsewhere(1, enabled=False, reason=Reason.ADMIN)
    [action] = plan(feed_682(person(1, school=SCHOOL_682)), [], [sent]).actions
    assert action.kind is ActionKind.TRANSFER and not action.enable and "C-9" in action.detail


def test_two_accounts_elsewhere_for_one_upn_is_a_problem_and_nothing_is_moved_or_created() -> None:
    first = elsewhere(1)
    second = replace(first, dn=f"uid=other,ou=mis,ou=683,{NATIONAL}", uid="other")
    result = plan(feed_682(person(1, school=SCHOOL_682)), [], [first, second])
    assert result.actions == ()
    assert any("2 accounts in other authorities" in p.detail for p in result.problems)


def test_a_uid_taken_here_stops_the_transfer_and_no_second_account_is_created() -> None:
    sent = elsewhere(1, uid="ajones")
    local = replace(here(2, uid="ajones"))  # another person, same uid
    result = plan(feed_682(person(1, school=SCHOOL_682), person(2, school=SCHOOL_682)), [local], [sent])
    assert result.actions == ()
    assert any("taken here" in p.detail and p.dn == sent.dn for p in result.problems)


def test_a_leaver_of_this_feed_found_elsewhere_is_not_taken_in() -> None:
    leaving = person(1, school=SCHOOL_682, enrolments=(enrolment(SCHOOL_682, end=TODAY - timedelta(days=3)),))
    assert plan(feed_682(leaving), [], [left_learner(1)]).actions == ()


def test_the_local_account_wins_and_the_duplicate_elsewhere_is_reported_not_touched() -> None:
    mine, theirs = here(1), elsewhere(1)
    result = plan(feed_682(person(1, school=SCHOOL_682)), [mine], [theirs])
    assert all(action.dn != theirs.dn for action in result.actions)
    assert any(theirs.dn in p.detail for p in result.problems)


def test_a_local_account_handed_back_by_the_national_search_is_not_a_transfer() -> None:
    mine = here(1)
    assert plan(feed_682(person(1, school=SCHOOL_682)), [mine], [mine]).is_empty


def test_c_8_transfers_count_like_creates_in_the_guard() -> None:
    mis = replace(SETTINGS, guard=GuardSettings(max_creates=2))
    persons = [person(serial, school=SCHOOL_682) for serial in (1, 2, 3)]
    national = [left_learner(1), left_learner(2)]
    held = plan(feed_682(*persons), [], national, mis=mis, confirm=False)
    assert held.actions == () and {a.kind for a in held.held} == {ActionKind.TRANSFER, ActionKind.CREATE}
    assert any("transfer" in trip.reason for trip in held.trips)
    confirmed = plan(feed_682(*persons), [], national, mis=mis, confirm=True)
    assert sorted(a.kind.value for a in confirmed.actions) == ["create", "transfer", "transfer"]


def test_a_transferred_uid_is_not_given_to_a_new_account_of_the_same_plan() -> None:
    sent = elsewhere(1, uid="ajones")  # person 2 (Aled Jones too) would be uid ajones
    result = plan(feed_682(person(2, school=SCHOOL_682), person(1, school=SCHOOL_682)), [], [sent])
    uids = [action.uid for action in result.actions]
    assert sorted(a.kind.value for a in result.actions) == ["create", "transfer"]
    assert len(set(uids)) == 2 and "ajones" in uids


# --- properties -------------------------------------------------------------------------------

def fake_apply(wales: list[Account], result: ProvisioningPlan) -> list[Account]:
    """Wales after the plan: a hand-written fake of the shell (creates added here, transfers moved
    in with their fields, re-enabled when the plan says so; modifies applied)."""
    by_dn = {account.dn: account for account in wales}
    for action in result.actions:
        fields = action.fields
        if action.kind is ActionKind.CREATE:
            dn = f"uid={action.uid},{action.container},{HERE}"
            assert dn not in by_dn
            by_dn[dn] = Account(dn=dn, uid=action.uid, category=Category.MIS, enabled=True,
                                role=Role(fields["role"]), mis_id=fields["mis_id"], school=fields["school"],
                                given_name=fields["given_name"], surname=fields["surname"],
                                display_name=fields["display_name"], mail=fields.get("mail"),
                                leaving_date=fields.get("leaving_date"), local_authority="682")
        elif action.kind is ActionKind.TRANSFER:
            assert action.dn is not None and not is_below(action.dn, HERE)
            moved = by_dn.pop(action.dn)
            dn = f"uid={moved.uid},{action.container},{HERE}"
            assert dn not in by_dn
            moved = replace(moved, dn=dn, **fields)
            if action.enable:
                moved = replace(moved, enabled=True, disabled_reason=None, disabled_at=None)
            by_dn[dn] = moved
        else:
            assert action.dn is not None and is_below(action.dn, HERE)
            by_dn[action.dn] = replace(by_dn[action.dn], **fields)
    return list(by_dn.values())


def split(wales: list[Account]) -> tuple[list[Account], list[Account]]:
    local = [a for a in wales if is_below(a.dn, HERE)]
    return local, [a for a in wales if not is_below(a.dn, HERE)]


serials = st.integers(min_value=1, max_value=10)
offsets = st.integers(min_value=-400, max_value=40).map(lambda offset: TODAY + timedelta(days=offset))


@st.composite
def wales(draw):
    """Accounts of 682 (here) and 681/683 (elsewhere), at most one per person, and 682's feed."""
    accounts = []
    roles = {serial: draw(st.sampled_from([Role.LEARNER, Role.STAFF])) for serial in range(1, 11)}
    for serial in range(1, 11):
        where = draw(st.sampled_from(["none", "here", "681", "683"]))
        if where == "none":
            continue
        leaving = draw(st.none() | offsets)
        state = draw(st.sampled_from(["enabled", "left", "admin"]))
        if leaving is None and state == "left":
            state = "enabled"
        enabled = state == "enabled"
        reason = {"left": Reason.LEFT, "admin": Reason.ADMIN}.get(state)
        disabled_at = (datetime(leaving.year, leaving.month, leaving.day, 12, tzinfo=UTC)
                       if state == "left" and leaving else None)
        uid = f"acct{serial}"
        if where == "here":
            found = here(serial, role=roles[serial], leaving=leaving, enabled=enabled, reason=reason,
                         uid=uid, school=draw(st.sampled_from([SCHOOL_682, OTHER_682])))
            # Sometimes a transfer whose move was done but whose modify was not: it still names 681.
            found = replace(found, local_authority=draw(st.sampled_from(["682", "682", "681"])))
        else:
            found = replace(elsewhere(serial, role=roles[serial], leaving=leaving, enabled=enabled,
                                      reason=reason, uid=uid),
                            dn=f"uid={uid},ou=mis,ou={where},{NATIONAL}", local_authority=where)
        accounts.append(replace(found, disabled_at=disabled_at if not enabled else None))
    users = draw(st.sampled_from([FileMode.BULK, FileMode.DELTA]))
    persons = []
    for serial in sorted(draw(st.sets(serials))):
        school = draw(st.sampled_from([SCHOOL_682, OTHER_682]))
        ends = draw(st.lists(st.none() | offsets, max_size=2))
        persons.append(person(serial, role=roles[serial], school=school,
                              family=draw(st.sampled_from(["Jones", "Evans"])),
                              enrolments=tuple(enrolment(school, end=end, row=index + 2)
                                               for index, end in enumerate(ends)),
                              modified_on=TODAY))
    return feed_682(*persons, users=users), accounts


def keys(accounts: list[Account]) -> list[tuple[Role | None, str | None]]:
    return [(a.role, a.mis_id) for a in accounts if a.category is Category.MIS]


@settings(max_examples=300, deadline=None)
@given(wales())
def test_no_upn_ever_ends_with_two_accounts_in_wales(case) -> None:
    the_feed, accounts = case
    local, national = split(accounts)
    after = fake_apply(accounts, plan(the_feed, local, national))
    assert len(keys(after)) == len(set(keys(after)))
    # Staff are never moved; every learner of the feed with an account elsewhere is here now,
    # unless this feed makes them a leaver.
    moved = {a.dn for a in after} ^ {a.dn for a in accounts}
    assert not any(a.role is Role.STAFF for a in accounts if a.dn in moved)


@settings(max_examples=300, deadline=None)
@given(wales())
def test_re_planning_after_applying_a_plan_with_transfers_is_a_no_op(case) -> None:
    the_feed, accounts = case
    local, national = split(accounts)
    after = fake_apply(accounts, plan(the_feed, local, national))
    local_after, national_after = split(after)
    assert plan(the_feed, local_after, national_after).is_empty
