"""What the agent relies on from each real directory, proven with plain ldap3.

One parametrised test per behaviour, run against slapd, Samba AD DC and
389-DS; the per-flavour differences sit in the `FLAVOURS` table, so each
difference is visible in one place.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from tests.servers.base import TestServer, dn_key
from tests.servers.support import agent, as_datetime, read, single, unique

SERVERS = [
    pytest.param("slapd_server", marks=pytest.mark.slapd, id="openldap"),
    pytest.param("samba_server", marks=pytest.mark.samba, id="active-directory"),
    pytest.param("ds389_server", marks=pytest.mark.ds389, id="389ds"),
]

def _ad_disable(connection: ldap3.Connection, dn: str) -> None:
    connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["userAccountControl"])
    flags = int(connection.entries[0].userAccountControl.value)
    connection.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(flags | 2)])]})


def _ad_enable(connection: ldap3.Connection, dn: str) -> None:
    connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["userAccountControl"])
    flags = int(connection.entries[0].userAccountControl.value)
    connection.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(flags & ~2)])]})


@dataclass(frozen=True)
class Flavour:
    """How one directory flavour does what the agent needs (DESIGN.md, "Flavours")."""

    disable: Callable[[ldap3.Connection, str], None]
    enable: Callable[[ldap3.Connection, str], None]
    last_sign_in: str  # attribute the server writes on a successful bind
    uid_attribute: str  # the account's login name
    special_uids: bool  # whether the login name may hold * ( ) \ , + (AD's sAMAccountName may not)
    non_ascii_uids: bool = True  # 389-DS's 7-bit check plugin refuses non-ASCII uid, mail, userPassword


LOCK = "000001010000Z"

FLAVOURS = {
    "openldap": Flavour(
        # ppolicy's permanent lock; honoured only because the default policy has pwdLockout: TRUE.
        disable=lambda c, dn: c.modify(dn, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, [LOCK])]}),
        enable=lambda c, dn: c.modify(dn, {"pwdAccountLockedTime": [(ldap3.MODIFY_DELETE, [])]}),
        last_sign_in="pwdLastSuccess", uid_attribute="uid", special_uids=True,
    ),
    "active-directory": Flavour(
        disable=_ad_disable, enable=_ad_enable,
        last_sign_in="lastLogonTimestamp", uid_attribute="sAMAccountName", special_uids=False,
    ),
    "389ds": Flavour(
        disable=lambda c, dn: c.modify(dn, {"nsAccountLock": [(ldap3.MODIFY_REPLACE, ["TRUE"])]}),
        enable=lambda c, dn: c.modify(dn, {"nsAccountLock": [(ldap3.MODIFY_DELETE, [])]}),
        last_sign_in="lastLoginTime", uid_attribute="uid", special_uids=True, non_ascii_uids=False,
    ),
}


@pytest.fixture(params=SERVERS)
def server(request) -> TestServer:
    return request.getfixturevalue(request.param)


def test_disable_blocks_the_bind_and_enable_restores_it(server: TestServer):
    flavour = FLAVOURS[server.flavour]
    dn = server.add_user(unique("lock"), "Passw0rd!lock")
    assert server.can_bind(dn, "Passw0rd!lock")

    with agent(server) as connection:
        flavour.disable(connection, dn)
    assert not server.can_bind(dn, "Passw0rd!lock")
    # invalidCredentials (slapd, AD) or unwillingToPerform (389-DS)
    assert server.bind_result(dn, "Passw0rd!lock")["result"] in (49, 53)

    with agent(server) as connection:
        flavour.enable(connection, dn)
    assert server.can_bind(dn, "Passw0rd!lock")


def test_server_writes_the_last_sign_in_on_a_real_bind(server: TestServer):
    flavour = FLAVOURS[server.flavour]
    dn = server.add_user(unique("seen"), "Passw0rd!seen")
    with agent(server) as connection:
        before = read(connection, dn, [flavour.last_sign_in]).get(flavour.last_sign_in)
    assert not before  # never signed in

    started = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    assert server.can_bind(dn, "Passw0rd!seen")

    with agent(server) as connection:
        after = read(connection, dn, [flavour.last_sign_in])[flavour.last_sign_in]
    value = as_datetime(after)
    assert started <= value <= datetime.now(UTC) + timedelta(seconds=2)


def test_paged_search_returns_more_entries_than_the_size_limit(server: TestServer):
    total = 120
    ou = f"ou={unique('paging')},{server.base_dn}"
    records = [f"dn: {ou}\nobjectClass: organizationalUnit\nou: {parse_dn(ou)[0][1]}"]
    records += [server.user_ldif(f"{unique('pg')}", ou) for _ in range(total)]
    server.add_ldif("\n\n".join(records) + "\n")

    with agent(server) as connection:
        if server.size_limit is not None:
            assert server.size_limit < total
            # Unpaged, the server's limit cuts the answer short with result 4 (sizeLimitExceeded), which
            # ldap3 does not raise even with raise_exceptions=True: the truncation the agent must never
            # mistake for "these are all the accounts".
            # The client asks for the same limit: after a restart slapd re-reads limits.ldif's olcLimits
            # line for the agent with a soft size limit other than the database's olcSizeLimit (the
            # answer then came complete), so the server's own cut-off depends on the test order.
            connection.search(ou, server.person_filter, ldap3.LEVEL, attributes=["cn"],
                              size_limit=server.size_limit)
            assert connection.result["result"] == 4
            assert len(connection.entries) == server.size_limit
        pages = connection.extend.standard.paged_search(
            ou, server.person_filter, ldap3.LEVEL, attributes=["cn"], paged_size=25, generator=True,
        )
        found = {dn_key(entry["dn"]) for entry in pages if entry["type"] == "searchResEntry"}
    assert len(found) == total


def test_subtree_purge_removes_the_account_and_everything_below_it(server: TestServer):
    dn = server.add_user(unique("purge"), "Passw0rd!purge")
    devices = server.child_ldif(dn, "devices")
    tablet = server.child_ldif(devices.split("\n", 1)[0].removeprefix("dn: "), "tablet")
    server.add_ldif(f"{devices}\n\n{tablet}\n")
    with agent(server) as connection:
        server.purge(connection, dn)
        connection.search(server.base_dn, f"(distinguishedName={escape_filter_chars(dn)})"
                          if server.flavour == "active-directory" else "(objectClass=*)",
                          ldap3.SUBTREE, attributes=[])
        remaining = [dn_key(entry["dn"]) for entry in connection.response
                     if entry["type"] == "searchResEntry"]
    suffix = dn_key(dn)
    assert not [name for name in remaining if name[-len(suffix):] == suffix]


def test_generalized_time_ranges_on_hwb_dates_are_filtered_by_the_server(server: TestServer):
    school = unique("school")
    dates = {label: server.time_value(value) for label, value in
             {"due": "20260110000000Z", "today": "20260131000000Z", "later": "20260201000000Z"}.items()}
    cutoff, after = server.time_value("20260131000000Z"), server.time_value("20260201000000Z")
    dns = {}
    for label, date in dates.items():
        dns[label] = server.add_user(unique(label), "Passw0rd!date",
                                     attributes={"hwbSchool": school, "hwbExpiryDate": date})
    with agent(server) as connection:
        connection.search(server.base_dn, f"(&(hwbSchool={school})(hwbExpiryDate<={cutoff}))",
                          ldap3.SUBTREE, attributes=["hwbExpiryDate"])
        found = {dn_key(entry["dn"]) for entry in connection.response if entry["type"] == "searchResEntry"}
        connection.search(server.base_dn, f"(&(hwbSchool={school})(hwbExpiryDate>={after}))",
                          ldap3.SUBTREE, attributes=["hwbExpiryDate"])
        later = {dn_key(entry["dn"]) for entry in connection.response if entry["type"] == "searchResEntry"}
    assert found == {dn_key(dns["due"]), dn_key(dns["today"])}
    assert later == {dn_key(dns["later"])}


AWKWARD = ["a*b", "pa(r)en", "back\\slash", "com,ma", "pl+us", "Siân Öğretmen Łukasz"]


@pytest.mark.parametrize("awkward", AWKWARD)
def test_special_characters_round_trip_and_escaped_filters_do_not_widen(server: TestServer, awkward: str):
    flavour = FLAVOURS[server.flavour]
    name = unique("sp-") + awkward
    # AD's login name (sAMAccountName) may not hold these characters; its entry name (CN) may.
    login = name if flavour.special_uids and (flavour.non_ascii_uids or awkward.isascii()) else unique("sp")
    sponsor = f"sponsor {awkward}"
    dn = server.add_user(login, "Passw0rd!spec", given_name=awkward, surname=awkward + "x", cn=name,
                         attributes={"hwbSponsor": sponsor})
    # A decoy that an unescaped '*' or '(' would also match.
    server.add_user(unique("decoy"), "Passw0rd!spec", attributes={"hwbSponsor": "sponsor anything"})

    with agent(server) as connection:
        attributes = read(connection, dn, [flavour.uid_attribute, "givenName", "hwbSponsor"])
        assert single(attributes[flavour.uid_attribute]) == login
        assert single(attributes["givenName"]) == awkward
        assert single(attributes["hwbSponsor"]) == sponsor

        connection.search(server.base_dn, f"(hwbSponsor={escape_filter_chars(sponsor)})", ldap3.SUBTREE,
                          attributes=[])
        found = [dn_key(entry["dn"]) for entry in connection.response if entry["type"] == "searchResEntry"]
        assert found == [dn_key(dn)]

        connection.search(server.base_dn, f"({flavour.uid_attribute}={escape_filter_chars(login)})",
                          ldap3.SUBTREE, attributes=[])
        found = [dn_key(entry["dn"]) for entry in connection.response if entry["type"] == "searchResEntry"]
        assert found == [dn_key(dn)]
    assert server.can_bind(dn, "Passw0rd!spec")



def test_reads_are_not_writes_and_each_change_is_one_write(server: TestServer):
    dn = server.add_user(unique("idem"), "Passw0rd!idem", attributes={"hwbSchool": "6810001"})
    with agent(server):
        pass  # the agent's own first bind may write its last sign-in (AD: lastLogonTimestamp)
    before = server.write_count()
    with agent(server) as connection:
        read(connection, dn, ["cn", "hwbSchool"])
        pages = connection.extend.standard.paged_search(
            server.base_dn, server.person_filter, ldap3.SUBTREE, attributes=["hwbSchool"], paged_size=100,
            generator=True,
        )
        assert sum(1 for _ in pages) > 0
    assert server.write_count() == before
    with agent(server) as connection:
        connection.modify(dn, {"hwbSchool": [(ldap3.MODIFY_REPLACE, ["6810002"])]})
    assert server.write_count() == before + 1


def test_a_stopped_server_refuses_connections_and_keeps_its_data_after_a_restart(server: TestServer):
    dn = server.add_user(unique("outage"), "Passw0rd!out")
    host, port = server._host_port()
    server.stop()
    try:
        # A plain socket: ldap3 would leave the refused socket to the garbage collector.
        with pytest.raises(OSError), socket.create_connection((host, port), timeout=2):
            pass
    finally:
        server.start()
    assert server.can_bind(dn, "Passw0rd!out")
