"""hwbReminderSent on every flavour (issue 14): several values, and adding one already there is refused
with attributeOrValueExists (20) — the once-only claim of agent.actions.reminders relies on it."""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult

from tests.servers.base import TestServer
from tests.servers.support import agent, read, unique

FIXTURES = [pytest.param("slapd_server", marks=pytest.mark.slapd),
            pytest.param("ds389_server", marks=pytest.mark.ds389),
            pytest.param("samba_server", marks=pytest.mark.samba)]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_reminder_keys_are_several_values_and_a_second_add_of_one_is_refused(fixture: str,
                                                                              request: pytest.FixtureRequest):
    server: TestServer = request.getfixturevalue(fixture)
    dn = server.add_user(unique("rem"), "Passw0rd!r9", attributes={"hwbSponsor": "admin1"})
    first, second = "56:expiry:2027-01-31", "14:expiry:2027-01-31"
    with agent(server) as connection:
        connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [first])]})
        connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [second])]})
        with pytest.raises(LDAPAttributeOrValueExistsResult):
            connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [first])]})
        values = read(connection, dn, ["hwbReminderSent"])["hwbReminderSent"]
        assert sorted(values) == sorted([first, second])
        connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_DELETE, [first])]})
        assert read(connection, dn, ["hwbReminderSent"])["hwbReminderSent"] == [second]
