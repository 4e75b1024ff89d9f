"""What `check-config` verifies on a live directory: base DN, schema, sign-in tracking, indexes.

Each finding is a sentence an operator can act on. Missing capabilities (`missing_capabilities`)
stop the agent from working; index warnings (`index_warnings`) only make it slow: a routine sweep
asks the server for candidates only, and without the guide's indexes (deploy/openldap/indexes.ldif)
slapd scans every entry for that search (LDAP-NOTES.md: 0.57x a full read instead of 0.03x).
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

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


# --- indexes ------------------------------------------------------------------------------------

INDEXES_LDIF = "deploy/openldap/indexes.ldif"
_GENERALIZED_TIME = re.compile(r"^\d{10,14}(\.\d+)?Z$")
_INDEX_TYPES = {"eq": "eq", "pres": "pres", "sub": "sub", "subinitial": "sub", "subany": "sub",
                "subfinal": "sub", "approx": "approx"}


def filter_index_needs(search_filter: str) -> dict[str, dict[str, str]]:
    """Attribute (as written) -> {index type: an assertion value} for every term of an LDAP filter:
    eq for `=value`, `<=` and `>=` (slapd's eq index serves ranges on an attribute with an ORDERING
    rule), pres for `=*`, sub for substrings, approx for `~=`. Negated terms count too: the guide
    indexes every attribute the candidate search names (slapd reads every entry for an unindexed one).
    """
    needs: dict[str, dict[str, str]] = {}
    for item in re.findall(r"\(([^()&|!][^()]*)\)", search_filter):  # values escape parentheses as \28 \29
        match = re.match(r"^([A-Za-z0-9][\w.;-]*)(>=|<=|~=|=)(.*)$", item, re.DOTALL)
        if not match:
            continue
        operator, value = match.group(2), match.group(3)
        kind = ("pres" if value == "*" else "sub" if "*" in value else "approx" if operator == "~="
                else "eq")
        needs.setdefault(match.group(1), {}).setdefault(kind, value)
    return needs


def _raw_text(entry: dict[str, Any], name: str) -> list[str]:
    raw = entry.get("raw_attributes") or {}
    values: list[Any] = next((vals for key, vals in raw.items() if key.lower() == name.lower()), [])
    return [value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value) for value in values]


def _normalise_dn(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


def configured_indexes(directory: Directory) -> dict[str, set[str]] | None:
    """OpenLDAP: the `olcDbIndex` of the database holding the base DN, as attribute (lower case) ->
    index types, read from cn=config; None when the bound account may not read it (the usual case)."""
    connection = directory.connection
    try:
        connection.search("cn=config", "(olcSuffix=*)", search_scope=ldap3.LEVEL,
                          attributes=["olcSuffix", "olcDbIndex"])
    except ldap_errors.LDAPException:
        return None
    base = _normalise_dn(directory.base_dn)
    holder: tuple[int, list[str]] | None = None
    for entry in connection.response or []:
        if entry.get("type") != "searchResEntry":
            continue
        for suffix in map(_normalise_dn, _raw_text(entry, "olcSuffix")):
            holds = base == suffix or base.endswith("," + suffix)
            if holds and (holder is None or len(suffix) > holder[0]):
                holder = (len(suffix), _raw_text(entry, "olcDbIndex"))
    if holder is None:
        return None
    indexes: dict[str, set[str]] = {}
    defaults: set[str] = {"eq"}
    lines = [line.split() for line in holder[1] if line.split()]
    for words in lines:
        if words[0].lower() == "default" and len(words) > 1:
            defaults = {_INDEX_TYPES.get(kind.lower(), kind.lower()) for kind in words[1].split(",")}
    for words in lines:
        if words[0].lower() == "default":
            continue
        kinds = ({_INDEX_TYPES.get(kind.lower(), kind.lower()) for kind in words[1].split(",")}
                 if len(words) > 1 else set(defaults))
        for attribute in words[0].split(","):
            indexes.setdefault(attribute.strip().lower(), set()).update(kinds)
    return indexes


def _timed(directory: Directory, search_filter: str) -> float:
    """Best of three: seconds for a DN-only subtree search of the base DN (nothing is decoded)."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        # A size limit or an undefined filter still took the time measured.
        with contextlib.suppress(ldap_errors.LDAPException):
            directory.connection.search(directory.base_dn, search_filter, search_scope=ldap3.SUBTREE,
                                        attributes=["1.1"], size_limit=1)
        best = min(best, time.perf_counter() - began)
    return best


def probed_unindexed(directory: Directory, needs: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """Without cn=config: time a search that matches nothing on each attribute against one on
    objectClass (indexed on every install). An unindexed term makes slapd read every entry, so
    it stands out on a directory of some thousands of entries; on a small one nothing does (and
    there an index hardly matters)."""
    baseline = _timed(directory, "(objectClass=hwbIndexProbeNoSuchClass)")
    threshold = 10 * baseline + 0.01
    slow: dict[str, set[str]] = {}
    for attribute, kinds in needs.items():
        for kind, value in kinds.items():
            if kind == "pres":
                probe = f"({attribute}=*)"  # matches many; size_limit=1 stops an indexed one at once
            elif _GENERALIZED_TIME.match(value):
                probe = f"({attribute}<=16010101000000Z)"
            else:
                probe = f"({attribute}=hwb-index-probe-no-such-value)"
            if kind in ("eq", "pres") and _timed(directory, probe) > threshold:
                slow.setdefault(attribute, set()).add(kind)
    return slow


def index_warnings(directory: Directory, search_filter: str) -> list[str]:
    """Warnings (never gaps) for the terms of the sweep's candidate search that no index serves.

    OpenLDAP only (the guide's indexes are OpenLDAP's): from `olcDbIndex` when the bound account
    may read cn=config, else from timed probes.
    """
    if directory.settings.is_mock or directory.settings.flavour.value != "openldap":
        return []
    needs = filter_index_needs(search_filter)
    indexes = configured_indexes(directory)
    if indexes is not None:
        source = "olcDbIndex in cn=config"
        # An attribute with any index (eq or pres) is what the guide asks for; none at all is the problem.
        missing = {attribute: set(kinds) for attribute, kinds in needs.items()
                   if not indexes.get(attribute.lower())}
    else:
        source = "timed probe searches (cn=config is not readable by this account)"
        missing = probed_unindexed(directory, needs)
    if not missing:
        return []
    listing = ", ".join(sorted(missing, key=str.lower))
    return [f"the sweep's candidate search is not served by an index on {listing} (from {source}):"
            f" each routine sweep then makes the server read every entry; add them from {INDEXES_LDIF}"]
