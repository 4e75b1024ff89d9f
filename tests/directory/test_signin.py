"""agent.directory.signin (issue 13): an empty password never binds (LDAP would take it for an
anonymous bind), and a sign-in bind never goes in clear text off loopback."""

from __future__ import annotations

import pytest

from agent.core.errors import DirectoryUnavailable
from agent.directory.gateway import Directory
from agent.directory.signin import password_is_valid
from agent.settings.attributes import Flavour
from agent.settings.directory import DirectorySettings


def _directory(url: str, **settings) -> Directory:
    return Directory(DirectorySettings(url=url, base_dn="ou=people,dc=example,dc=org",
                                       flavour=Flavour.OPENLDAP, **settings), mapper=None, connection=None)


def test_an_empty_password_is_never_sent():
    assert password_is_valid(_directory("ldaps://ldap.example.org"), "uid=a,dc=example,dc=org", "") is False


def test_plain_ldap_off_loopback_is_refused_even_when_the_agent_may_use_it():
    directory = _directory("ldap://ldap.example.org", allow_plaintext=True)
    with pytest.raises(DirectoryUnavailable, match="clear text"):
        password_is_valid(directory, "uid=a,dc=example,dc=org", "secret")


def test_an_unreachable_server_is_unavailable_not_a_wrong_password():
    directory = _directory("ldaps://127.0.0.1:1", timeout_seconds=2)
    with pytest.raises(DirectoryUnavailable, match="cannot reach"):
        password_is_valid(directory, "uid=a,dc=example,dc=org", "secret")
