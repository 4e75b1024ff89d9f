"""The org registry's entry in the directory (`mis.org_registry_dn`; core/mis/org_registry.py).

    dn: cn=hwb-agent-orgs,ou=services,dc=example,dc=org
    objectClass: hwbOrgRegistry
    cn: hwb-agent-orgs
    hwbOrganisation: {"id":"org-6812001","name":"Ysgol Y Ddraig","number":"6812001","type":"school"}
    hwbOrganisation: ...

One entry per authority, one value per organisation, read whole and replaced whole in one modify:
imports write it under the authority's lease (one writer at a time, issue 11), so no two writers
race for it. A value that cannot be read is reported and skipped, never fatal (C-7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.core.errors import DirectoryWriteError
from agent.core.mis.org_registry import KnownOrg, decode, encode
from agent.directory.gateway import Directory

OBJECT_CLASS = "hwbOrgRegistry"
ATTRIBUTE = "hwbOrganisation"


@dataclass(frozen=True)
class RegistryRead:
    orgs: dict[str, KnownOrg]  # by sourcedId
    problems: tuple[str, ...]  # values that could not be read, each named
    exists: bool


def read_registry(directory: Directory, dn: str) -> RegistryRead:
    raw = directory.read_own_entry(dn, [ATTRIBUTE])
    if raw is None:
        return RegistryRead({}, (), exists=False)
    values = next((items for name, items in raw.items() if name.lower() == ATTRIBUTE.lower()), [])
    orgs: dict[str, KnownOrg] = {}
    problems: list[str] = []
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        try:
            org = decode(text)
        except ValueError as error:
            problems.append(f"{dn} {ATTRIBUTE} value {text[:80]!r}: {error}; skipped (C-7)")
            continue
        orgs[org.source_id] = org
    return RegistryRead(orgs, tuple(problems), exists=True)


def write_registry(directory: Directory, dn: str, orgs: Mapping[str, KnownOrg], *, exists: bool) -> None:
    """Store `orgs` as the registry's whole content (creating the entry when it does not exist)."""
    values = sorted(encode(org) for org in orgs.values())
    if not exists:
        rdn_attribute, _, rest = dn.partition("=")
        rdn_value = rest.split(",", 1)[0]
        attributes: dict[str, list[object]] = {rdn_attribute.strip(): [rdn_value]}
        if values:
            attributes[ATTRIBUTE] = list(values)
        try:
            directory.add_own_entry(dn, ["top", OBJECT_CLASS], attributes)
            return
        except DirectoryWriteError as error:
            if not error.already_exists:
                raise
    directory.replace_own_values(dn, ATTRIBUTE, values)
