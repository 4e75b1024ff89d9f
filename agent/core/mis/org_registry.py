"""What earlier packages said about organisations: the org registry (issue 11, item 5).

OneRoster 1.1 lets a delta package omit files that did not change, orgs.csv included, and a delta
orgs.csv lists only the organisations that changed. Its users.csv and enrollments.csv still name
organisations by sourcedId, so the agent keeps every organisation it has been told about, in the
directory where every instance of the authority reads it (one entry, `mis.org_registry_dn`, one
value per organisation). Pure: values in, values out; agent/directory/org_registry.py stores it.

The registry only *resolves* sourcedIds. It never widens what a package speaks for: the schools a
bulk users.csv covers (MIS-2, leavers by absence) are those of the package's own orgs.csv.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCHOOL = "school"


@dataclass(frozen=True)
class KnownOrg:
    source_id: str
    kind: str  # the OneRoster org type, lower case: school, district, local, national, ...
    number: str | None  # the school number (None for an org that is not a school)
    name: str = ""

    @property
    def is_school(self) -> bool:
        return self.kind == SCHOOL


def encode(org: KnownOrg) -> str:
    """One registry value: compact JSON with sorted keys (equal orgs give equal values)."""
    data = {"id": org.source_id, "type": org.kind, "name": org.name}
    if org.number is not None:
        data["number"] = org.number
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> KnownOrg:
    """A registry value back; ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    source_id, kind, name, number = data.get("id"), data.get("type"), data.get("name", ""), data.get("number")
    if not isinstance(source_id, str) or not source_id or not isinstance(kind, str) or not kind:
        raise ValueError("needs a non-empty text id and type")
    if not isinstance(name, str) or (number is not None and not isinstance(number, str)):
        raise ValueError("name and number must be text")
    if kind.lower() == SCHOOL and not number:
        raise ValueError("a school needs its number")
    return KnownOrg(source_id, kind.lower(), number, name)


def merged(known: Mapping[str, KnownOrg], listed: Iterable[KnownOrg], deleted: Iterable[str]
           ) -> dict[str, KnownOrg]:
    """The registry after a package: what it listed replaces what was known under the same
    sourcedId, what a delta marked tobedeleted is forgotten, the rest is kept (a package may speak
    for some of the authority's schools only)."""
    result = dict(known)
    for source_id in deleted:
        result.pop(source_id, None)
    for org in listed:
        result[org.source_id] = org
    return result
