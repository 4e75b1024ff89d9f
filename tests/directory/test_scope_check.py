"""C-3's cheap path (a textual suffix check) agrees with the full DN parse on awkward DNs."""

from __future__ import annotations

import pytest

from agent.core.dn import is_below
from agent.directory.gateway import _textually_below

BASE = "ou=people,dc=example,dc=org"


def _parsed_below(dn: str) -> bool:
    return is_below(dn, BASE)


@pytest.mark.parametrize("dn", [
    "uid=a,ou=people,dc=example,dc=org",
    "UID=A,OU=People,DC=Example,DC=org",
    "uid=a\\,ou=people,dc=example,dc=org",          # escaped comma: the RDN is "a,ou=people"
    "uid=a\\\\,ou=people,dc=example,dc=org",        # escaped backslash, then a real comma
    "uid=a\\\\\\,ou=people,dc=example,dc=org",      # escaped backslash, then an escaped comma
    "uid=a\\2C,ou=people,dc=example,dc=org",
    "uid=a+cn=b,ou=people,dc=example,dc=org",
    "uid=x,ou=staff,ou=people,dc=example,dc=org",
])
def test_the_cheap_scope_check_never_admits_what_the_full_parse_refuses(dn):
    if _textually_below(dn, "," + BASE):
        assert _parsed_below(dn)


def test_the_cheap_scope_check_refuses_the_base_itself_and_look_alikes():
    for dn in (BASE, "," + BASE, "uid=a,ou=people,dc=example,dc=org,dc=evil",
               "uid=a,xou=people,dc=example,dc=org"):
        assert not _textually_below(dn, "," + BASE) or _parsed_below(dn)
    assert _textually_below("uid=a,ou=people,dc=example,dc=org", "," + BASE)
    assert not _textually_below("uid=a\\,ou=people,dc=example,dc=org", "," + BASE)
