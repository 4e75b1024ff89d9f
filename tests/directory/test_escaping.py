"""Values with LDAP special characters match only themselves (STYLE.md: escape every value)."""

from __future__ import annotations

import pytest

from agent.actions.session import open_directory
from agent.core import criteria as c
from agent.directory.filters import escape
from tests.builders import load_config, non_mis
from tests.directory.populate import write_state

NASTY = ["a*", "b)(uid=*", "c\\d", "e,f", "g+h", "Siân Ørsted", "*"]


def test_escape_follows_rfc_4515():
    assert escape("*)(uid=*\\") == r"\2a\29\28uid=\2a\5c"
    assert escape("Siân") == "Siân"


@pytest.mark.parametrize("value", NASTY)
def test_a_sponsor_with_special_characters_finds_only_its_own_accounts(tmp_path, value):
    config = load_config(tmp_path)
    population = [
        non_mis(dn=f"uid=n{index},ou=people,dc=test,dc=example", uid=f"n{index}", sponsor=sponsor)
        for index, sponsor in enumerate(NASTY)
    ]
    write_state(config, population)
    with open_directory(config) as directory:
        found = list(directory.accounts(c.Equals("sponsor", value)))
    assert [account.sponsor for account in found] == [value]
