"""389 Directory Server specifics the agent must handle."""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import LDAPConstraintViolationResult, LDAPNotAllowedOnNotLeafResult

from tests.servers.base import TestServer
from tests.servers.support import agent, as_datetime, read, single, unique

pytestmark = pytest.mark.ds389


def test_a_locked_account_is_refused_with_53_not_49(ds389_server: TestServer):
    dn = ds389_server.add_user(unique("lock"), "Passw0rd!l")
    with agent(ds389_server) as connection:
        connection.modify(dn, {"nsAccountLock": [(ldap3.MODIFY_REPLACE, ["TRUE"])]})
    result = ds389_server.bind_result(dn, "Passw0rd!l")
    assert result["result"] == 53  # unwillingToPerform: "Account inactivated"


def test_lastLoginTime_is_written_on_bind_and_may_be_aged_by_directory_manager(ds389_server: TestServer):
    dn = ds389_server.add_user(unique("login"), "Passw0rd!i")
    assert ds389_server.can_bind(dn, "Passw0rd!i")
    ds389_server.age({dn: {"lastLoginTime": "20200101000000Z"}})
    with agent(ds389_server) as connection:
        assert single(read(connection, dn, ["lastLoginTime"])["lastLoginTime"]) == "20200101000000Z"
        connection.search(ds389_server.base_dn, "(&(uid=login*)(lastLoginTime<=20210101000000Z))",
                          ldap3.SUBTREE, attributes=[])
        assert len(connection.entries) == 1
    assert ds389_server.can_bind(dn, "Passw0rd!i")
    with agent(ds389_server) as connection:
        assert as_datetime(read(connection, dn, ["lastLoginTime"])["lastLoginTime"]).year > 2020


def test_non_ascii_uids_are_refused_by_the_7bit_check_plugin(ds389_server: TestServer):
    # 389-DS enables "7-bit check" on uid, mail and userPassword by default: a Welsh learner's
    # uid such as "siân.jones" is refused (19) unless the identity team disables or narrows it.
    with pytest.raises(LDAPConstraintViolationResult):
        ds389_server.add_user(unique("siân"), "Passw0rd!s")


def test_non_leaf_delete_is_refused(ds389_server: TestServer):
    dn = ds389_server.add_user(unique("tree"), "Passw0rd!t")
    ds389_server.add_ldif(ds389_server.child_ldif(dn, "devices") + "\n")
    with agent(ds389_server) as connection:
        with pytest.raises(LDAPNotAllowedOnNotLeafResult):
            connection.delete(dn)
        ds389_server.purge(connection, dn)


def test_the_agent_cannot_read_passwords(ds389_server: TestServer):
    dn = ds389_server.add_user(unique("pw"), "Passw0rd!p")
    with agent(ds389_server) as connection:
        assert not read(connection, dn, ["userPassword"]).get("userPassword")


def test_operation_counts_see_each_write(ds389_server: TestServer):
    dn = ds389_server.add_user(unique("count"), "Passw0rd!c", attributes={"hwbSchool": "6810000"})
    before = ds389_server.operation_counts()
    with agent(ds389_server) as connection:
        read(connection, dn, ["cn"])
        connection.modify(dn, {"hwbSchool": [(ldap3.MODIFY_REPLACE, ["6812345"])]})
    after = ds389_server.operation_counts()
    assert after["modify"] - before["modify"] == 1
    assert after["search"] - before["search"] == 1
