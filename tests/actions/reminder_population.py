"""Accounts and sponsors for the reminder tests (issue 14), on the embedded mock directory: each
sponsor's case (mail, locked, no mail, two entries, unknown) and accounts at the boundary days."""

from __future__ import annotations

from datetime import date, timedelta

from agent.actions.reminders import MailRefused, OutgoingDigest
from agent.core.model import Reason
from tests.builders import load_config, non_mis, noon
from tests.directory.populate import write_state

TODAY = date(2026, 11, 16)
NOW = noon(TODAY)
BASE = "ou=people,dc=test,dc=example"
ADMINS = "ou=admins,dc=test,dc=example"
NOTIFY = {"host": "127.0.0.1", "tls": "none", "from": "Hwb <hwb@test.example>"}


class FakeSender:
    """Records what it is given; fails as told (the SMTP one is tested in tests/notify)."""

    def __init__(self, fail: Exception | None = None, refuse: set[str] | None = None):
        self.sent: list[OutgoingDigest] = []
        self.fail = fail
        self.refuse = refuse or set()

    def send(self, digest: OutgoingDigest) -> None:
        if self.fail is not None:
            raise self.fail
        if digest.recipient in self.refuse:
            raise MailRefused(f"550 {digest.recipient}: no such mailbox")
        self.sent.append(digest)


def person(uid: str, *, mail: str | None = None, locked: bool = False, ou: str = ADMINS):
    attributes: dict[str, list[str]] = {"objectClass": ["inetOrgPerson"], "uid": [uid],
                                        "cn": [f"Admin {uid}"], "sn": ["Admin"]}
    if mail:
        attributes["mail"] = [mail]
    if locked:
        attributes["pwdAccountLockedTime"] = ["000001010000Z"]
    return f"uid={uid},{ou}", attributes


def account(uid: str, sponsor: str, days_left: int, **fields):
    return non_mis(dn=f"uid={uid},{BASE}", uid=uid, sponsor=sponsor,
                   expiry_date=TODAY + timedelta(days=days_left), **fields)


def disabled(uid: str, sponsor: str, purge_on: date):
    # NM-7: purged 12 months after the agent disabled it.
    disabled_on = purge_on.replace(year=purge_on.year - 1)
    return non_mis(dn=f"uid={uid},{BASE}", uid=uid, sponsor=sponsor, enabled=False,
                   expiry_date=disabled_on - timedelta(days=1), disabled_reason=Reason.EXPIRED,
                   disabled_at=noon(disabled_on))


ACCOUNTS = [
    account("n56", "a.one", 56), account("n55", "a.one", 55), account("n57", "a.one", 57),
    account("n14", "a.two", 14), account("n13", "a.two", 13), account("n15", "a.two", 15),
    disabled("p28", "a.one", TODAY + timedelta(days=28)),
    disabled("p29", "a.one", TODAY + timedelta(days=29)),
    account("locked", "a.three", 10), account("nomail", "a.four", 10), account("ghost", "nobody", 10),
    account("twice", "a.five", 10),
]
PEOPLE = [person("a.one", mail="a.one@test.example"), person("a.two", mail="a.two@test.example"),
          person("a.three", mail="a.three@test.example", locked=True), person("a.four"),
          person("a.five", mail="x@test.example"), person("a.five", mail="y@test.example", ou=BASE)]


def setup(tmp_path, notifications=None, accounts=ACCOUNTS, **overrides):
    config = load_config(tmp_path, {"notifications": {**NOTIFY, **(notifications or {})}, **overrides})
    root = ("dc=test,dc=example", {"objectClass": ["dcObject", "organization"], "dc": ["test"], "o": ["t"]})
    admins = (ADMINS, {"objectClass": ["organizationalUnit"], "ou": ["admins"]})
    write_state(config, accounts, [root, admins, *PEOPLE])
    return config


