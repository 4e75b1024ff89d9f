"""What differs between directory flavours, behind one interface (DESIGN.md, "Flavours").

Each flavour says how it stores "this account may not sign in", what a new
account and its container look like, how a subtree is purged and how times
are written. Pure: values in, values out; the gateway turns them into LDAP.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from agent.settings.attributes import Flavour

# (attribute, operation, values): operation is "replace", "delete" or "add".
Operation = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class StateWrite:
    """The attribute operations that set the enabled state.

    A delete + add pair on the same attribute makes the write conditional on
    the value read (a lost race fails instead of overwriting).
    """

    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class NewEntry:
    """An entry to add: its object classes and attributes (values as the server takes them)."""

    object_classes: tuple[str, ...]
    attributes: Mapping[str, list[object]]


class DirectoryFlavour(abc.ABC):
    """One directory product's conventions. Instances are stateless; compare by `kind`."""

    kind: ClassVar[Flavour]
    # The attribute that holds the enabled state.
    attribute: ClassVar[str]
    # Object classes and naming attribute of a new account.
    account_classes: ClassVar[tuple[str, ...]] = ("inetOrgPerson", "hwbAccount")
    rdn_attribute: ClassVar[str] = "uid"
    # The longest uid the flavour accepts (None: the configuration decides).
    uid_max_length: ClassVar[int | None] = None
    # GeneralizedTime written as YYYYMMDDHHMMSS.0Z (Active Directory) rather than ...Z.
    time_fraction: ClassVar[bool] = False
    # Whether the hwb* attributes live in an auxiliary class that entries must name (OpenLDAP,
    # 389-DS) rather than one the schema attaches to the user class (the AD schema extension).
    auxiliary_class_needed: ClassVar[bool] = True
    # Whether the last sign-in attribute replicates with a lag, so that NM-4 must confirm it with
    # every domain controller before disabling (AD's lastLogonTimestamp: up to 14 days).
    sign_in_lags: ClassVar[bool] = False
    # Whether a subtree is deleted with one request (the tree-delete control) or leaves first.
    tree_delete: ClassVar[bool] = False
    # Whether a modify DN can carry the assertion control (RFC 4528), so that a transfer between
    # authorities moves the entry only if it is still as read (issue 15). Where not, the entry is
    # re-read just before the move and the modify after it stays conditional on the state read.
    conditional_moves: ClassVar[bool] = True

    @abc.abstractmethod
    def is_enabled(self, token: str | None) -> bool:
        """`token` is the state attribute's value (None when absent); ValueError when unreadable."""

    @abc.abstractmethod
    def write(self, enabled: bool, token: str | None) -> StateWrite:
        """The operations that make the account enabled (or disabled), given the value read."""

    @abc.abstractmethod
    def filter(self, enabled: bool, bitwise_supported: bool = True) -> str | None:
        """An LDAP filter selecting enabled (or disabled) accounts; None when the server cannot."""

    def enabling_attributes(self, real_server: bool = True) -> dict[str, list[object]]:
        """What makes a new entry an *enabled* account of this flavour, in its add (C-4)."""
        return {}

    def container(self, rdn_attribute: str, value: str) -> NewEntry:
        """A container entry (an organizational unit) named `rdn_attribute=value`."""
        return NewEntry(("organizationalUnit",), {rdn_attribute: [value]})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DirectoryFlavour) and other.kind is self.kind

    def __hash__(self) -> int:
        return hash(self.kind)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
