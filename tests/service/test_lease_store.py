"""The LDAP lease store: the modify it sends, its answers to results, and a round trip on ldap3's mock.

The race itself needs a server that applies a modify atomically (ldap3's mock does not):
the in-memory store in test_lease.py models it, a slapd test must confirm it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ldap3 import MOCK_SYNC, MODIFY_ADD, MODIFY_DELETE, Connection, Server
from ldap3.core import exceptions as ldap_errors

from agent.actions.lease import LeaseKeeper
from agent.core.errors import DirectoryUnavailable
from agent.core.lease import LeaseState
from agent.directory.lease_store import LdapLeaseStore, format_expiry

DN = "cn=hwb-agent-lease,ou=people,dc=example,dc=org"
EXPIRY = datetime(2026, 11, 28, 10, 1, 0, tzinfo=UTC)


class RecordingConnection:
    """Records modifies; raises what the test scripts (a hand-written fake, not a mock library)."""

    def __init__(self, raises: Exception | None = None):
        self.raises = raises
        self.modifies: list[tuple[str, dict]] = []

    def modify(self, dn, changes):
        self.modifies.append((dn, changes))
        if self.raises is not None:
            raise self.raises
        return True


def test_a_swap_is_one_modify_deleting_the_old_values_and_adding_the_new():
    connection = RecordingConnection()
    store = LdapLeaseStore(lambda: connection, DN)
    assert store.swap("host-a", EXPIRY, "host-b", datetime(2026, 11, 28, 10, 2, tzinfo=UTC))
    assert connection.modifies == [(DN, {
        "hwbLeaseHolder": [(MODIFY_DELETE, ["host-a"]), (MODIFY_ADD, ["host-b"])],
        "hwbLeaseExpiry": [(MODIFY_DELETE, ["20261128100100Z"]), (MODIFY_ADD, ["20261128100200Z"])],
    })]


def test_taking_a_never_held_lease_only_adds_so_a_rivals_earlier_add_makes_it_fail():
    connection = RecordingConnection()
    LdapLeaseStore(lambda: connection, DN).swap(None, None, "host-a", EXPIRY)
    assert connection.modifies[0][1] == {
        "hwbLeaseHolder": [(MODIFY_ADD, ["host-a"])],
        "hwbLeaseExpiry": [(MODIFY_ADD, ["20261128100100Z"])],
    }


@pytest.mark.parametrize("result", [
    ldap_errors.LDAPNoSuchAttributeResult, ldap_errors.LDAPAttributeOrValueExistsResult,
    ldap_errors.LDAPConstraintViolationResult,
])
def test_a_lost_race_is_false_not_an_error(result):
    store = LdapLeaseStore(lambda: RecordingConnection(raises=result("lost")), DN)
    assert store.swap("host-a", EXPIRY, "host-b", EXPIRY) is False


@pytest.mark.parametrize("error", [
    ldap_errors.LDAPSocketOpenError("refused"), ldap_errors.LDAPSessionTerminatedByServerError("bye"),
    ldap_errors.LDAPUnavailableResult("down"), ldap_errors.LDAPResponseTimeoutError("slow"),
])
def test_a_directory_fault_is_directory_unavailable(error):
    store = LdapLeaseStore(lambda: RecordingConnection(raises=error), DN)
    with pytest.raises(DirectoryUnavailable, match="lease cn=hwb-agent-lease"):
        store.swap("host-a", EXPIRY, "host-b", EXPIRY)


def test_other_refusals_are_not_hidden():
    refused = ldap_errors.LDAPInsufficientAccessRightsResult("no write access to the lease")
    store = LdapLeaseStore(lambda: RecordingConnection(raises=refused), DN)
    with pytest.raises(ldap_errors.LDAPInsufficientAccessRightsResult):
        store.swap("host-a", EXPIRY, "host-b", EXPIRY)


@pytest.fixture
def mock_connection():
    connection = Connection(Server("mock"), client_strategy=MOCK_SYNC, raise_exceptions=True)
    connection.bind()
    connection.strategy.add_entry("ou=people,dc=example,dc=org", {"objectClass": ["organizationalUnit"]})
    yield connection
    connection.unbind()


def test_on_the_mock_directory_the_entry_is_created_taken_and_renewed(mock_connection):
    store = LdapLeaseStore(lambda: mock_connection, DN)
    assert store.read() == LeaseState(None, None)  # created, without a holder
    now = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
    clock = [now]
    keeper = LeaseKeeper(store, "host-a", EXPIRY - now, clock=lambda: clock[0])
    assert keeper.refresh()
    assert store.read() == LeaseState("host-a", EXPIRY)
    clock[0] = now.replace(second=40)
    assert keeper.refresh()  # renewal: delete host-a + add host-a in one modify
    assert store.read() == LeaseState("host-a", datetime(2026, 11, 28, 10, 1, 40, tzinfo=UTC))
    assert format_expiry(store.read().expiry) == "20261128100140Z"
