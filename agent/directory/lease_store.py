"""The failover lease in the directory: `LeaseStore` for agent/lease.py over ldap3.

One entry per local authority (`service.lease.dn`), object class `hwbLease`,
with two SINGLE-VALUE attributes that are absent until someone takes the lease:

    dn: cn=hwb-agent-lease,ou=services,dc=example,dc=org
    objectClass: hwbLease
    cn: hwb-agent-lease
    hwbLeaseHolder: host-a                (absent: never taken)
    hwbLeaseExpiry: 20261128100100Z       (GeneralizedTime, UTC)

`swap()` is ONE modify: for each attribute, delete the old value and add the
new one (only add when it was absent). The server applies a modify whole or not
at all (RFC 4511 4.6); deleting a value that is no longer there fails with
noSuchAttribute, and adding a second value to a SINGLE-VALUE attribute fails
with constraintViolation. So of two hosts that read the same old values, only
the first swap succeeds; the other gets False and stays standby.

ldap3's mock server applies a failing modify partly (it is not atomic), so the
race is tested against a real slapd (tests/service/test_lease_slapd.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, Connection
from ldap3.core import exceptions as ldap_errors

from agent.core.errors import DirectoryUnavailable
from agent.core.lease import LeaseState
from agent.directory.codecs import format_generalized_time, parse_generalized_time

HOLDER_ATTRIBUTE = "hwbLeaseHolder"
EXPIRY_ATTRIBUTE = "hwbLeaseExpiry"

# A swap that found other values than it named: the race was lost, the entry is unchanged.
_LOST_RACE = (
    ldap_errors.LDAPNoSuchAttributeResult,
    ldap_errors.LDAPAttributeOrValueExistsResult,
    ldap_errors.LDAPConstraintViolationResult,
)
# Faults that retrying later can cure.
_UNAVAILABLE = (
    ldap_errors.LDAPCommunicationError,
    ldap_errors.LDAPResponseTimeoutError,
    ldap_errors.LDAPServerPoolExhaustedError,
    ldap_errors.LDAPUnavailableResult,
    ldap_errors.LDAPBusyResult,
)


def format_expiry(moment: datetime, fraction: bool = False) -> str:
    """GeneralizedTime in UTC; `fraction` (Active Directory) gives the ".0Z" form Samba requires."""
    return format_generalized_time(moment.astimezone(UTC), fraction)


def parse_expiry(text: str) -> datetime | None:
    """Either form ("...Z" or AD's "....0Z"); a value read back from AD has the fraction, and an
    expiry that did not parse would make a live lease look free."""
    try:
        return parse_generalized_time(text)
    except ValueError:
        return None  # unreadable: decide_lease treats the lease as free, swap names the raw value


class LdapLeaseStore:
    """Reads and swaps the lease entry at `dn` over a bound connection from `connect()`.

    The entry is created on first read when the bind account may add it; deployments that
    grant the agent write access to the entry only (deploy/openldap/agent-acl.ldif) create
    it beforehand.
    """

    def __init__(self, connect: Callable[[], Connection], dn: str, time_fraction: bool = False):
        self.connect = connect
        self.dn = dn
        self.time_fraction = time_fraction  # Active Directory: write GeneralizedTime as ....0Z
        # The stored texts behind the last values read: a swap deletes exactly what is stored.
        self._stored: tuple[LeaseState, str | None, str | None] | None = None

    def read(self) -> LeaseState:
        try:
            connection = self.connect()
            try:
                connection.search(self.dn, "(objectClass=hwbLease)", BASE,
                                  attributes=[HOLDER_ATTRIBUTE, EXPIRY_ATTRIBUTE])
                entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
                found = bool(entries)
            except ldap_errors.LDAPNoSuchObjectResult:
                found = False
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error
        if not found:
            self.create_entry()
            state = LeaseState(None, None)
            self._stored = (state, None, None)
            return state
        # Raw values: with the server's schema loaded, ldap3 would turn the expiry into a datetime,
        # and the swap must name the stored text byte for byte.
        raw = {name.lower(): values for name, values in entries[0]["raw_attributes"].items()}
        holder_text = _first_text(raw.get(HOLDER_ATTRIBUTE.lower()))
        expiry_text = _first_text(raw.get(EXPIRY_ATTRIBUTE.lower()))
        state = LeaseState(holder_text or None, parse_expiry(expiry_text) if expiry_text else None)
        self._stored = (state, holder_text, expiry_text)
        return state

    def swap(
        self,
        old_holder: str | None,
        old_expiry: datetime | None,
        new_holder: str,
        new_expiry: datetime,
    ) -> bool:
        old_state = LeaseState(old_holder, old_expiry)
        if self._stored is not None and self._stored[0] == old_state:
            _, old_holder_text, old_expiry_text = self._stored
        else:
            old_holder_text = old_holder
            old_expiry_text = format_expiry(old_expiry, self.time_fraction) if old_expiry else None
        changes = {
            HOLDER_ATTRIBUTE: _replace_value(old_holder_text, new_holder),
            EXPIRY_ATTRIBUTE: _replace_value(old_expiry_text, format_expiry(new_expiry, self.time_fraction)),
        }
        try:
            self.connect().modify(self.dn, changes)
        except _LOST_RACE:
            return False
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error
        finally:
            self._stored = None
        return True

    def create_entry(self) -> None:
        """Add the lease entry without holder; an entry another host just added is fine."""
        rdn_value = self.dn.split(",", 1)[0].split("=", 1)[1]
        try:
            self.connect().add(self.dn, ["top", "hwbLease"], {"cn": rdn_value})
        except ldap_errors.LDAPEntryAlreadyExistsResult:
            pass
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error


def _replace_value(old: str | None, new: str) -> list[tuple[str, list[str]]]:
    if old is None:
        return [(MODIFY_ADD, [new])]  # absent: a rival's add first makes ours a constraintViolation
    return [(MODIFY_DELETE, [old]), (MODIFY_ADD, [new])]


def _first_text(values: list[bytes] | None) -> str | None:
    return values[0].decode("utf-8") if values else None
