"""OpenLDAP specifics the agent and the deployment guide (deploy/openldap) rely on."""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import (
    LDAPInsufficientAccessRightsResult,
    LDAPNotAllowedOnNotLeafResult,
    LDAPUnavailableCriticalExtensionResult,
)

from tests.servers.base import TestServer
from tests.servers.support import agent, read, single, unique

pytestmark = pytest.mark.slapd

TREE_DELETE = "1.2.840.113556.1.4.805"


def test_a_real_time_in_pwdAccountLockedTime_is_a_lockout_not_the_permanent_one(slapd_server: TestServer):
    # The agent's "disabled" is only the special value; ppolicy also blocks binds for a real time
    # (failed-password lockout), which the agent must report as a lockout, not a lifecycle state.
    dn = slapd_server.add_user(unique("timed"), "Passw0rd!t")
    with agent(slapd_server) as connection:
        connection.modify(dn, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["20200101000000Z"])]})
        assert single(read(connection, dn, ["pwdAccountLockedTime"])["pwdAccountLockedTime"]) is not None
    assert not slapd_server.can_bind(dn, "Passw0rd!t")


def test_the_agent_cannot_read_passwords_or_write_other_attributes(slapd_server: TestServer):
    dn = slapd_server.add_user(unique("acl"), "Passw0rd!acl", attributes={"hwbSponsor": "s1"})
    with agent(slapd_server) as connection:
        assert not read(connection, dn, ["userPassword"]).get("userPassword")
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.modify(dn, {"userPassword": [(ldap3.MODIFY_REPLACE, ["stolen"])]})
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.modify(dn, {"telephoneNumber": [(ldap3.MODIFY_REPLACE, ["123"])]})
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.add(f"cn=intruder,ou=services,{slapd_server.suffix}", ["device"], {"cn": "intruder"})
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.delete(slapd_server.base_dn)
        # ... but the lifecycle attributes and the lease it may write.
        connection.modify(dn, {"hwbDisabledReason": [(ldap3.MODIFY_REPLACE, ["admin"])],
                               "hwbDisabledAt": [(ldap3.MODIFY_REPLACE, ["20260101120000Z"])]})
        lease = f"cn=hwb-agent-lease,ou=services,{slapd_server.suffix}"
        connection.modify(lease, {"hwbLeaseHolder": [(ldap3.MODIFY_REPLACE, ["node-a"])],
                                  "hwbLeaseExpiry": [(ldap3.MODIFY_REPLACE, ["20260101120500Z"])]})


def test_the_agent_creates_accounts_with_lifecycle_attributes(slapd_server: TestServer):
    uid = unique("made")
    dn = slapd_server.user_dn(uid)
    with agent(slapd_server) as connection:
        connection.add(dn, ["inetOrgPerson", "hwbAccount"], {
            "uid": uid, "cn": "Made Here", "sn": "Here", "givenName": "Made", "mail": f"{uid}@example.org",
            "hwbCategory": "non-mis", "hwbNonMisType": "governor", "hwbSponsor": "admin1",
            "hwbExpiryDate": "20270131000000Z", "hwbDuration": "6m",
        })
        assert single(read(connection, dn, ["hwbCategory"])["hwbCategory"]) == "non-mis"


def test_non_leaf_delete_is_refused_and_there_is_no_subtree_delete_control(slapd_server: TestServer):
    dn = slapd_server.add_user(unique("tree"), "Passw0rd!tree")
    slapd_server.add_ldif(slapd_server.child_ldif(dn, "devices") + "\n")
    with agent(slapd_server) as connection:
        with pytest.raises(LDAPNotAllowedOnNotLeafResult):
            connection.delete(dn)
        with pytest.raises(LDAPUnavailableCriticalExtensionResult):
            connection.delete(dn, controls=[(TREE_DELETE, True, None)])


def test_pwdLastSuccess_is_not_writable_over_ldap_so_age_works_offline(slapd_server: TestServer):
    dn = slapd_server.add_user(unique("old"), "Passw0rd!old")
    assert slapd_server.can_bind(dn, "Passw0rd!old")
    with slapd_server.connect() as connection, pytest.raises(ldap3.core.exceptions.LDAPException):
        connection.modify(dn, {"pwdLastSuccess": [(ldap3.MODIFY_REPLACE, ["20200101000000Z"])]})

    slapd_server.age({dn: {"pwdLastSuccess": "20200101000000Z", "createTimestamp": "20190101000000Z"}})
    with agent(slapd_server) as connection:
        attributes = read(connection, dn, ["pwdLastSuccess", "createTimestamp"])
        assert single(attributes["pwdLastSuccess"]).startswith("2020")
        assert single(attributes["createTimestamp"]).startswith("2019")
        connection.search(slapd_server.base_dn, "(&(uid=old*)(pwdLastSuccess<=20210101000000Z))",
                          ldap3.SUBTREE, attributes=[])
        assert [entry["dn"] for entry in connection.response if entry["type"] == "searchResEntry"] == [dn]
    # The next real bind overwrites the aged value.
    assert slapd_server.can_bind(dn, "Passw0rd!old")
    with agent(slapd_server) as connection:
        assert not str(single(read(connection, dn, ["pwdLastSuccess"])["pwdLastSuccess"])).startswith("2020")


def test_operation_counts_see_each_write_and_not_reads(slapd_server: TestServer):
    dn = slapd_server.add_user(unique("count"), "Passw0rd!c", attributes={"hwbSchool": "6810000"})
    before = slapd_server.operation_counts()
    writes = slapd_server.write_count()
    with agent(slapd_server) as connection:
        read(connection, dn, ["cn"])
        connection.modify(dn, {"hwbSchool": [(ldap3.MODIFY_REPLACE, ["6812345"])]})
    after = slapd_server.operation_counts()
    assert after["modify"] - before["modify"] == 1
    assert after["search"] - before["search"] == 1
    assert slapd_server.write_count() == writes + 1


def test_ldapi_with_sasl_external_sees_the_deployed_configuration(slapd_server: TestServer):
    # What check-config can verify on a server it reaches over ldapi:// as root.
    server = ldap3.Server(slapd_server.ldapi_url, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, authentication=ldap3.SASL, sasl_mechanism=ldap3.EXTERNAL,
                                  sasl_credentials="", raise_exceptions=True)
    with connection:
        connection.search("cn=config", f"(olcSuffix={slapd_server.suffix})",
                          attributes=["olcLastBind", "olcDbIndex"])
        database = connection.response[0]
        assert database["attributes"]["olcLastBind"] == ["TRUE"]
        assert any(index.startswith("hwbExpiryDate") for index in database["attributes"]["olcDbIndex"])
        connection.search(database["dn"], "(objectClass=olcPPolicyConfig)", attributes=["olcPPolicyDefault"])
        assert connection.response[0]["attributes"]["olcPPolicyDefault"] == [
            f"cn=default,ou=policies,{slapd_server.suffix}"
        ]
        connection.search("cn=schema,cn=config", "(cn=*hwb)", ldap3.LEVEL, attributes=["cn"])
        assert len(connection.response) == 1
