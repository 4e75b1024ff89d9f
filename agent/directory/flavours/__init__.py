"""The directory flavours (OpenLDAP, Active Directory, 389-DS), one module each, one interface."""

from __future__ import annotations

from agent.directory.flavours.active_directory import ActiveDirectory
from agent.directory.flavours.base import DirectoryFlavour, NewEntry, Operation, StateWrite
from agent.directory.flavours.ds389 import Ds389
from agent.directory.flavours.openldap import PPOLICY_PERMANENT_LOCK, OpenLdap
from agent.settings.attributes import Flavour

_FLAVOURS: dict[Flavour, DirectoryFlavour] = {
    Flavour.OPENLDAP: OpenLdap(),
    Flavour.ACTIVE_DIRECTORY: ActiveDirectory(),
    Flavour.DS389: Ds389(),
}


def flavour_for(kind: Flavour) -> DirectoryFlavour:
    """The conventions of the configured `directory.flavour`."""
    return _FLAVOURS[kind]


__all__ = [
    "PPOLICY_PERMANENT_LOCK",
    "DirectoryFlavour",
    "NewEntry",
    "Operation",
    "StateWrite",
    "flavour_for",
]
