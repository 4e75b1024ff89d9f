"""Active Directory (Samba AD DC) specifics the agent must handle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInvalidAttributeSyntaxResult, LDAPNotAllowedOnNotLeafResult

from tests.servers.base import TestServer, dn_key
from tests.servers.support import agent, as_datetime, read, single, unique

pytestmark = pytest.mark.samba


def filetime(moment: datetime) -> str:
    return str(int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000))


def test_generalized_time_needs_the_fraction_on_samba(samba_server: TestServer):
    # Samba stores GeneralizedTime only as YYYYMMDDHHMMSS.0Z: the plain form is refused on write
    # and, in a filter, silently matches nothing. The agent must write and filter in this form on AD.
    dn = samba_server.add_user(unique("frac"), "Passw0rd!f",
                               attributes={"hwbExpiryDate": "20260110000000.0Z"})
    with agent(samba_server) as connection:
        with pytest.raises(LDAPInvalidAttributeSyntaxResult):
            connection.modify(dn, {"hwbLeavingDate": [(ldap3.MODIFY_REPLACE, ["20260110000000Z"])]})
        assert single(read(connection, dn, ["hwbExpiryDate"])["hwbExpiryDate"]) == "20260110000000.0Z"
        connection.search(dn, "(hwbExpiryDate<=20260131000000Z)", ldap3.BASE, attributes=[])
        assert connection.entries == []
        connection.search(dn, "(hwbExpiryDate<=20260131000000.0Z)", ldap3.BASE, attributes=[])
        assert len(connection.entries) == 1


def test_disabled_user_bind_fails_with_data_533(samba_server: TestServer):
    dn = samba_server.add_user(unique("dis"), "Passw0rd!d")
    with agent(samba_server) as connection:
        connection.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, ["514"])]})
    result = samba_server.bind_result(dn, "Passw0rd!d")
    assert result["result"] == 49
    assert "data 533" in result["message"]  # ACCOUNT_DISABLED, not a wrong password (data 52e)


def test_simple_bind_writes_lastLogonTimestamp_and_kerberos_writes_per_dc_lastLogon(samba_server):
    login = unique("logon")
    dn = samba_server.add_user(login, "Passw0rd!l")
    started = datetime.now(UTC) - timedelta(seconds=2)
    with agent(samba_server) as connection:
        attributes = read(connection, dn, ["lastLogon", "lastLogonTimestamp"])
        assert as_datetime(attributes["lastLogon"]) is None and not attributes.get("lastLogonTimestamp")

    assert samba_server.can_bind(dn, "Passw0rd!l")
    with agent(samba_server) as connection:
        attributes = read(connection, dn, ["lastLogon", "lastLogonTimestamp"])
    assert as_datetime(attributes["lastLogonTimestamp"]) >= started
    # Samba differs from Windows here: an LDAP simple bind leaves lastLogon alone.
    assert as_datetime(attributes["lastLogon"]) is None

    usn = samba_server.write_count()
    samba_server.kerberos_sign_in(login, "Passw0rd!l")
    with agent(samba_server) as connection:
        attributes = read(connection, dn, ["lastLogon", "lastLogonTimestamp"])
    assert as_datetime(attributes["lastLogon"]) >= started
    assert samba_server.write_count() == usn  # lastLogon is not replicated: no USN


def test_an_aged_lastLogonTimestamp_is_readable_and_the_next_bind_renews_it(samba_server: TestServer):
    dn = samba_server.add_user(unique("aged"), "Passw0rd!a")
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    samba_server.age({dn: {"lastLogonTimestamp": filetime(long_ago), "lastLogon": filetime(long_ago),
                           "whenCreated": "20240101000000.0Z"}})
    with agent(samba_server) as connection:
        attributes = read(connection, dn, ["lastLogonTimestamp", "lastLogon", "whenCreated"])
        assert as_datetime(attributes["lastLogonTimestamp"]) == long_ago
        assert as_datetime(attributes["lastLogon"]) == long_ago
        assert single(attributes["whenCreated"]).startswith("2024")
        # Integer8 compares numerically on the server: the agent's "not signed in since" filter.
        inactive = f"(&(sAMAccountName=aged*)(lastLogonTimestamp<={filetime(long_ago)}))"
        connection.search(samba_server.base_dn, inactive, ldap3.SUBTREE, attributes=[])
        assert len(connection.entries) == 1
    assert samba_server.can_bind(dn, "Passw0rd!a")
    with agent(samba_server) as connection:
        assert as_datetime(read(connection, dn, ["lastLogonTimestamp"])["lastLogonTimestamp"]) > long_ago


def test_whenCreated_is_system_only_over_ldap(samba_server: TestServer):
    dn = samba_server.add_user(unique("wc"), "Passw0rd!w")
    with samba_server.connect() as connection, pytest.raises(ldap3.core.exceptions.LDAPException):
        connection.modify(dn, {"whenCreated": [(ldap3.MODIFY_REPLACE, ["20200101000000.0Z"])]})


def test_plain_delete_of_a_user_with_children_is_refused(samba_server: TestServer):
    dn = samba_server.add_user(unique("kids"), "Passw0rd!k")
    samba_server.add_ldif(samba_server.child_ldif(dn, "devices") + "\n")
    with agent(samba_server) as connection:
        with pytest.raises(LDAPNotAllowedOnNotLeafResult):
            connection.delete(dn)
        samba_server.purge(connection, dn)  # tree delete


def test_lastLogon_is_kept_per_dc_and_only_the_dc_used_knows(samba_server: TestServer, samba_second_dc):
    # What the agent's NM-4 confirmation reads: the latest lastLogon over every DC in the config.
    assert samba_second_dc.url != samba_server.url
    login = unique("twodc")
    first = samba_server.add_user(login, "Passw0rd!2")
    second = samba_second_dc.add_user(login, "Passw0rd!2")
    assert dn_key(first) == dn_key(second)
    samba_second_dc.kerberos_sign_in(login, "Passw0rd!2")
    with agent(samba_server) as connection:
        assert as_datetime(read(connection, first, ["lastLogon"])["lastLogon"]) is None
    with agent(samba_second_dc) as connection:
        assert as_datetime(read(connection, second, ["lastLogon"])["lastLogon"]) is not None
