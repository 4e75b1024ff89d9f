"""What `check-config` verifies on a live directory: base DN, schema, sign-in tracking.

Each finding is a sentence an operator can act on.
"""

from __future__ import annotations

import ldap3
from ldap3.core import exceptions as ldap_errors

from agent.directory.gateway import Directory
from agent.settings.attributes import LIFECYCLE_FIELDS


def _schema_attribute_names(directory: Directory) -> set[str] | None:
    """Lower-case attribute type names the server publishes, or None if it does not say."""
    connection = directory.connection
    try:
        connection.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["subschemaSubentry"])
        entry = connection.response[0] if connection.response else None
        # The agent's connection decodes entries to raw values only (gateway: lean_entries).
        raw = (entry or {}).get("raw_attributes") or {}
        subschema = ((entry or {}).get("attributes") or {}).get("subschemaSubentry") or [
            value.decode() if isinstance(value, bytes) else str(value)
            for value in raw.get("subschemaSubentry") or []
        ] or ["cn=Subschema"]
        subschema_dn = subschema[0] if isinstance(subschema, list) else subschema
        connection.search(subschema_dn, "(objectClass=*)", search_scope=ldap3.BASE,
                          attributes=["attributeTypes"])
    except ldap_errors.LDAPException:
        return None
    if not connection.response:
        return None
    names: set[str] = set()
    for definition in connection.response[0].get("raw_attributes", {}).get("attributeTypes", []):
        text = definition.decode("utf-8", "replace") if isinstance(definition, bytes) else str(definition)
        if "NAME" not in text:
            continue
        after = text.split("NAME", 1)[1].strip()
        if after.startswith("("):
            names.update(part.strip("'").lower() for part in after[1:].split(")", 1)[0].split())
        else:
            names.add(after.split()[0].strip("'").lower())
    return names or None


def missing_capabilities(directory: Directory) -> list[str]:
    gaps: list[str] = []
    try:
        next(iter(directory.search("(objectClass=*)", [], base=directory.base_dn)), None)
    except Exception as error:  # noqa: BLE001 - reported to the operator as a finding
        gaps.append(f"cannot read the base DN {directory.base_dn!r}: {error}")
        return gaps
    if directory.settings.is_mock:
        return gaps
    names = _schema_attribute_names(directory)
    if names is None:
        gaps.append("the server's schema could not be read: attribute checks skipped")
        return gaps
    mapper = directory.mapper
    for field in LIFECYCLE_FIELDS:
        attribute = mapper.attribute(field)
        if attribute.lower() not in names:
            gaps.append(f"attribute {attribute!r} (field {field}) is not in the server schema:"
                        " load deploy/openldap/hwb-schema.ldif or map the field in `attributes:`")
    for field in ("last_sign_in", "created_at"):
        attribute = mapper.attribute(field)
        if attribute.lower() not in names:
            gaps.append(f"attribute {attribute!r} ({field}) is not in the server schema"
                        " (OpenLDAP: load the ppolicy module and set olcLastBind: TRUE)")
    if mapper.flavour.attribute.lower() not in names:
        gaps.append(f"state attribute {mapper.flavour.attribute!r} is not in the server schema")
    return gaps
