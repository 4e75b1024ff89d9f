"""Sponsors and administrators found by uid under the people base (agent/directory/people.py)."""

from __future__ import annotations

import pytest

from agent.actions.session import open_directory
from agent.directory.people import AmbiguousPerson, People
from tests.builders import load_config, non_mis
from tests.directory.populate import write_state

ADMINS = "ou=admins,dc=test,dc=example"


def _admin(uid: str, *, mail: str | None = None, locked: bool = False, ou: str = ADMINS):
    attributes: dict[str, list[str]] = {"objectClass": ["inetOrgPerson"], "uid": [uid],
                                        "cn": [f"Admin {uid}"], "sn": ["Admin"]}
    if mail:
        attributes["mail"] = [mail]
    if locked:
        attributes["pwdAccountLockedTime"] = ["000001010000Z"]
    return f"uid={uid},{ou}", attributes


def _directory(tmp_path, extra):
    config = load_config(tmp_path)
    root = ("dc=test,dc=example", {"objectClass": ["dcObject", "organization"], "dc": ["test"], "o": ["t"]})
    admins = (ADMINS, {"objectClass": ["organizationalUnit"], "ou": ["admins"]})
    write_state(config, [non_mis(dn="uid=n1,ou=people,dc=test,dc=example", uid="n1", sponsor="a.one")],
                [root, admins, *extra])
    return open_directory(config)


def test_the_default_people_base_is_the_parent_of_the_base_dn(tmp_path):
    config = load_config(tmp_path)
    assert config.directory.people_base == "dc=test,dc=example"
    chosen = load_config(tmp_path, {"directory": {"people_base_dn": ADMINS}})
    assert chosen.directory.people_base == ADMINS


def test_a_sponsor_is_found_with_mail_state_and_groups(tmp_path):
    group = ("cn=la-admins,ou=admins,dc=test,dc=example",
             {"objectClass": ["groupOfNames"], "cn": ["la-admins"],
              "member": ["uid=a.one,ou=admins,dc=test,dc=example"]})
    with _directory(tmp_path, [_admin("a.one", mail="a.one@example.org"), _admin("a.two", locked=True),
                               group]) as directory:
        people = People(directory)
        one = people.find("a.one", with_groups=True)
        two = people.find("a.two")
        assert people.find("nobody") is None
    assert one is not None and (one.mail, one.enabled, one.name) == ("a.one@example.org", True, "Admin a.one")
    assert one.in_group("CN=la-admins, ou=admins,dc=test,dc=example")
    assert two is not None and (two.mail, two.enabled) == (None, False)  # no mail; locked: disabled


def test_many_sponsors_are_resolved_in_few_searches_and_duplicates_are_reported(tmp_path):
    extra = [_admin(f"s{index}", mail=f"s{index}@example.org") for index in range(120)]
    extra.append(_admin("s7", ou="ou=people,dc=test,dc=example"))  # the same uid twice
    with _directory(tmp_path, extra) as directory:
        people = People(directory)
        before = directory.counts.searches
        found = people.find_many([f"S{index}" for index in range(120)] + ["missing"])
        searches = directory.counts.searches - before
        with pytest.raises(AmbiguousPerson, match="2 entries"):
            people.find("s7")
    assert searches == 3  # 121 uids in chunks of 50
    assert len(found) == 120 and "missing" not in found
    assert [person.mail for person in found["s3"]] == ["s3@example.org"]
    assert len(found["s7"]) == 2
