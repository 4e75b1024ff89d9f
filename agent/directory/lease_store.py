"""The failover lease in the directory: `LeaseStore` for agent/lease.py over ldap3.

One entry per local authority, by default `cn=hwb-agent-lease,<base_dn>`:

    objectClass: hwbLease
    cn: hwb-agent-lease
    hwbLeaseHolder: -                     (NO_HOLDER until someone takes it)
    hwbLeaseExpiry: 19700101000000Z       (NEVER until someone takes it)

`swap()` is ONE modify: delete the old value and add the new one, for both
attributes. The server applies a modify whole or not at all (RFC 4511 4.6), and
deleting a value that is not there fails with noSuchAttribute, so of two hosts
that read the same old values only the first swap succeeds; the second gets
False and stays standby. The entry always carries a value (the placeholders
above), so every swap is a delete + add and nothing relies on SINGLE-VALUE.

ldap3's mock server applies a failing modify partly (it is not atomic): lease
races must be tested against a real server (tests against slapd).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, Connection
from ldap3.core import exceptions as ldap_errors

from agent.errors import DirectoryUnavailable
from agent.lease import LeaseState

NO_HOLDER = "-"
NEVER = "19700101000000Z"
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


def format_expiry(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def parse_expiry(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None  # unreadable: decide_lease treats the lease as free, swap names the raw value


class LdapLeaseStore:
    """Reads and swaps the lease entry at `dn` over a bound connection from `connect()`."""

    def __init__(self, connect: Callable[[], Connection], dn: str):
        self.connect = connect
        self.dn = dn
        self._raw_expiry: dict[datetime | None, str] = {}

    def read(self) -> LeaseState:
        try:
            connection = self.connect()
            try:
                connection.search(self.dn, "(objectClass=hwbLease)", BASE,
                                  attributes=[HOLDER_ATTRIBUTE, EXPIRY_ATTRIBUTE])
            except ldap_errors.LDAPNoSuchObjectResult:
                self.create_entry()
                return LeaseState(None, None)
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error
        if not connection.entries:
            self.create_entry()
            return LeaseState(None, None)
        attributes = connection.entries[0].entry_attributes_as_dict
        holder = _single(attributes.get(HOLDER_ATTRIBUTE))
        expiry_text = _single(attributes.get(EXPIRY_ATTRIBUTE))
        if holder in (None, NO_HOLDER):
            holder = None
        expiry = parse_expiry(expiry_text) if expiry_text not in (None, NEVER) else None
        # Remember the stored text: the swap must delete exactly the value that is there.
        self._raw_expiry = {expiry: expiry_text or NEVER}
        return LeaseState(holder, expiry)

    def swap(
        self,
        old_holder: str | None,
        old_expiry: datetime | None,
        new_holder: str,
        new_expiry: datetime,
    ) -> bool:
        old_expiry_text = self._raw_expiry.get(old_expiry) or (
            format_expiry(old_expiry) if old_expiry else NEVER
        )
        changes = {
            HOLDER_ATTRIBUTE: [(MODIFY_DELETE, [old_holder or NO_HOLDER]), (MODIFY_ADD, [new_holder])],
            EXPIRY_ATTRIBUTE: [(MODIFY_DELETE, [old_expiry_text]),
                               (MODIFY_ADD, [format_expiry(new_expiry)])],
        }
        try:
            self.connect().modify(self.dn, changes)
        except _LOST_RACE:
            return False
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error
        return True

    def create_entry(self) -> None:
        """Add the lease entry with its placeholders; an entry another host just added is fine."""
        rdn_value = self.dn.split(",", 1)[0].split("=", 1)[1]
        try:
            self.connect().add(
                self.dn,
                ["top", "hwbLease"],
                {"cn": rdn_value, HOLDER_ATTRIBUTE: NO_HOLDER, EXPIRY_ATTRIBUTE: NEVER},
            )
        except ldap_errors.LDAPEntryAlreadyExistsResult:
            pass
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"lease {self.dn}: {error}") from error


def _single(values: object) -> str | None:
    if isinstance(values, list | tuple):
        return str(values[0]) if values else None
    return None if values is None else str(values)
