"""The national directory (issue 15): every authority's accounts in one shared directory, one
subtree per authority, as Hwb has it.

An instance reads the national subtree (`directory.national_base_dn`) to find a mover's account by
MIS identifier, and writes there only to move that account in under its own base DN: `move_in` is
refused (C-3) unless the target is under base_dn and the source under national_base_dn, outside
base_dn. The move is one modify DN with a new superior, so the entry keeps its children (its
content). Where the flavour allows it (`conditional_moves`), the move carries the assertion control
(RFC 4528): it happens only if the entry still has the MIS identifier and enabled state read, so a
sending instance that changed it meanwhile (a sweep's disable) makes it fail as a lost race instead
of being overtaken. Elsewhere the caller re-reads the entry just before the move.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.dn import safe_rdn

from agent.core import criteria as c
from agent.core.dn import DnError, is_below, same_dn
from agent.core.errors import DirectoryWriteError, ScopeError
from agent.core.model import Account
from agent.directory.assertion import ASSERTION_FAILED, Assertion
from agent.directory.gateway import Directory

# MIS identifiers looked up this many to a filter.
BATCH = 100


@dataclass
class NationalDirectory:
    """The national subtree seen from one authority's connection (`directory`)."""

    directory: Directory
    base_dn: str

    def find(self, mis_ids: Iterable[str]) -> Iterator[Account]:
        """MIS accounts under the national base DN but outside this authority's base DN that carry
        one of `mis_ids` (the server compares case-insensitively, as hwbMisId's EQUALITY says).
        Raises DirectoryUnavailable, naming the national base DN when it does not exist."""
        directory = self.directory
        wanted = sorted({mis_id.strip() for mis_id in mis_ids if mis_id and mis_id.strip()})
        attributes = directory.mapper.read_attributes()
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start:start + BATCH]
            criterion = c.any_of(*(c.Equals("mis_id", mis_id) for mis_id in batch))
            search_filter = directory.account_filter(criterion)
            for dn, raw in directory.search(search_filter, attributes, base=self.base_dn):
                if self._is_local(dn):
                    continue  # this authority's own: planned as always
                yield directory.mapper.to_account(dn, raw)

    def readable(self) -> str | None:
        """Why the national base DN cannot be read (None when it can): for check-config. A base
        search of the entry itself, so that a missing one is told from an empty one."""
        connection = self.directory.connection
        try:
            connection.search(self.base_dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[])
        except ldap_errors.LDAPNoSuchObjectResult:
            return (f"directory.national_base_dn {self.base_dn!r} does not exist on this server (or the"
                    " agent may not read it): no transfers between authorities are possible; with a"
                    " directory per authority, leave national_base_dn unset (deploy/directories.md)")
        except ldap_errors.LDAPException as error:
            return f"cannot read directory.national_base_dn {self.base_dn!r}: {error}"
        if not connection.response:
            return (f"directory.national_base_dn {self.base_dn!r} is not visible to the agent's bind DN:"
                    " it needs read access there to find movers' accounts (deploy/directories.md)")
        return None

    def read(self, dn: str) -> Account | None:
        """The account at `dn` under the national base DN now (None when it is gone)."""
        self._check_national(dn)
        return self.directory.read_anywhere(dn)

    def target_dn(self, account: Account, parent: str) -> str:
        """Where `move_in` puts `account` under `parent`: its own RDN, the new superior."""
        return f"{'+'.join(safe_rdn(account.dn))},{parent}"

    def move_in(self, account: Account, parent: str) -> str:
        """Move `account` (as read) under `parent` in this authority's base DN, keeping its children;
        returns its new DN. ScopeError (C-3) unless the source is in another authority's subtree and
        the target under base_dn; DirectoryWriteError when refused (`lost_race` when the entry was
        changed since it was read: result 122 of the assertion)."""
        directory = self.directory
        self._check_national(account.dn)
        if self._is_local(account.dn):
            raise ScopeError(f"{account.dn!r} is already under the base DN {directory.base_dn!r}:"
                             " not a transfer from another authority")
        controls = None
        if directory.flavour.conditional_moves and not directory.settings.is_mock:
            controls = [self._as_read(account).control()]
        try:
            return directory.move(account.dn, parent, controls)
        except DirectoryWriteError as error:
            if error.result_code == ASSERTION_FAILED:
                raise DirectoryWriteError(
                    f"{account.uid}: changed by its authority since it was read (lost race): not moved;"
                    f" the next import reads it again ({error})", error.result_code) from None
            raise

    def _as_read(self, account: Account) -> Assertion:
        """The assertion of a conditional move: the MIS identifier and the enabled state as read."""
        mapper = self.directory.mapper
        state = mapper.flavour.attribute
        mis_id = (mapper.attribute("mis_id"), account.mis_id or "")
        if account.state_token is None:
            return Assertion(equal=(mis_id,), absent=(state,))
        return Assertion(equal=(mis_id, (state, account.state_token)))

    def _is_local(self, dn: str) -> bool:
        base = self.directory.base_dn
        try:
            return same_dn(dn, base) or is_below(dn, base)
        except DnError:
            return False

    def _check_national(self, dn: str) -> None:
        try:
            inside = is_below(dn, self.base_dn)
        except DnError:
            raise ScopeError(f"not a valid DN: {dn!r}") from None
        if not inside:
            raise ScopeError(f"{dn!r} is outside the national base DN {self.base_dn!r}: not read or moved")


def national_directory(directory: Directory) -> NationalDirectory | None:
    """The national view of `directory`'s configuration (None when national_base_dn is unset)."""
    base = directory.settings.national_base_dn
    return NationalDirectory(directory, base) if base else None


__all__ = ["NationalDirectory", "national_directory"]
