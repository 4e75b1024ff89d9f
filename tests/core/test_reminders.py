"""Issue 14: reminder planning at the thresholds' boundary days, grouped per sponsor."""

from datetime import date

from agent.core.model import Account, Category, Reason
from agent.core.reminders import EXPIRY, PURGE, plan_digests, reminder_key

TODAY = date(2026, 12, 2)


def non_mis(uid: str, expiry: date, sponsor: str = "admin1", sent: frozenset[str] = frozenset()) -> Account:
    return Account(dn=f"uid={uid},ou=people,dc=x", uid=uid, category=Category.NON_MIS, enabled=True,
                   expiry_date=expiry, sponsor=sponsor, reminders_sent=sent)


def days(n: int) -> date:
    return date.fromordinal(TODAY.toordinal() + n)


def test_thresholds_at_their_boundary_days() -> None:
    accounts = [non_mis(f"u{n}", days(n)) for n in (-1, 0, 14, 15, 56, 57)]
    [digest] = plan_digests(accounts, TODAY, [56, 14], {}, 28)
    got = {(r.uid, r.threshold, r.days_left) for r in digest.reminders}
    assert got == {("u0", 14, 0), ("u14", 14, 14), ("u15", 56, 15), ("u56", 56, 56)}


def test_grouped_per_sponsor_and_recorded_keys_not_due_again() -> None:
    sent = frozenset({reminder_key(14, EXPIRY, days(3))})
    accounts = [non_mis("a", days(3), "Admin1"), non_mis("b", days(40), "admin1"),
                non_mis("c", days(3), "admin2", sent)]
    digests = plan_digests(accounts, TODAY, [56, 14], {}, 28)
    assert [(d.sponsor, [r.uid for r in d.reminders]) for d in digests] == [("admin1", ["a", "b"])]


def test_an_extension_changes_the_key() -> None:
    sent = frozenset({reminder_key(14, EXPIRY, days(3))})
    [digest] = plan_digests([non_mis("a", days(10), sent=sent)], TODAY, [56, 14], {}, 28)
    assert digest.reminders[0].key == f"14:expiry:{days(10).isoformat()}"


def test_purge_within_the_notice_only_for_disabled_accounts_with_a_sponsor() -> None:
    disabled = [Account(dn=f"uid=p{n},dc=x", uid=f"p{n}", category=Category.MIS, enabled=False,
                        disabled_reason=Reason.LEFT, sponsor="head") for n in (28, 29)]
    orphan = Account(dn="uid=o,dc=x", uid="o", category=Category.MIS, enabled=False)
    purge = {"uid=p28,dc=x": days(28), "uid=p29,dc=x": days(29), "uid=o,dc=x": days(1)}
    [digest] = plan_digests([*disabled, orphan], TODAY, [56, 14], purge, 28)
    assert [(r.uid, r.kind, r.on, r.threshold) for r in digest.reminders] == [("p28", PURGE, days(28), 28)]


def test_stale_keys_are_those_of_another_date_and_claims_read_back():
    from agent.core.changes import applied
    from agent.core.reminders import Reminder, claim_data, parse_key, stale_keys

    reminder = Reminder("a", "uid=a,o=x", EXPIRY, days(14), 14, 14)
    sent = {reminder_key(56, EXPIRY, days(14)), reminder_key(14, EXPIRY, days(3)),
            reminder_key(28, PURGE, days(14)), "written by someone else"}
    old = reminder_key(14, EXPIRY, days(3))
    assert stale_keys(sent, reminder) == {old, reminder_key(28, PURGE, days(14))}
    assert parse_key("14:expiry:2026-01-31") == (14, EXPIRY, date(2026, 1, 31)) and parse_key("x:y") is None
    data = claim_data([reminder.key], [reminder_key(14, EXPIRY, days(3))])
    assert applied(non_mis("a", days(14), sent=frozenset({reminder.key})), data)
    assert not applied(non_mis("a", days(14), sent=frozenset({reminder.key, old})), data)
    assert not applied(None, data)
