"""Directory entries <-> `Account` snapshots, through the configured attribute map.

Reading never raises on bad data: every attribute that does not parse becomes
a `FieldProblem` naming the attribute and the value (C-7), and the policy
leaves such an account alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from agent.core.dates import out_of_range
from agent.core.model import (
    Account,
    ActivationRequest,
    Category,
    Duration,
    FieldProblem,
    NonMisType,
    Reason,
    Role,
)
from agent.directory import codecs
from agent.directory.flavours import DirectoryFlavour
from agent.settings.attributes import (
    IDENTITY_FIELDS,
    LIFECYCLE_FIELDS,
    MULTI_VALUED_FIELDS,
    AttributeSpec,
    Encoding,
)

_ENUMS: dict[str, type] = {
    "category": Category,
    "role": Role,
    "non_mis_type": NonMisType,
    "duration": Duration,
    "disabled_reason": Reason,
}
# Fields read straight into `Account` attributes of the same name.
_DIRECT = (
    "category", "role", "non_mis_type", "mis_id", "school", "local_authority", "given_name",
    "surname", "display_name", "mail", "sponsor", "leaving_date", "expiry_date", "duration",
    "disabled_at", "disabled_reason", "reactivated_at", "reactivated_by", "reactivation_ticket",
    "last_sign_in", "created_at", "activation_refusal",
)
_REQUEST = ("activation_requested_at", "activation_requested_by", "activation_duration")
# Identity fields (uid, names, mail): never judged by the rules, so never a C-7 problem.
_IDENTITY = frozenset(IDENTITY_FIELDS)


@dataclass(frozen=True)
class EntryMapper:
    """Reads and writes accounts for one configuration (attribute map + flavour)."""

    attributes: Mapping[str, AttributeSpec]
    flavour: DirectoryFlavour
    # Active Directory (Samba certainly) wants GeneralizedTime as YYYYMMDDHHMMSS.0Z in values and
    # filters; the embedded mock compares text, so it keeps the one plain form.
    time_fraction: bool = False
    # The auxiliary class that holds the hwb* attributes where entries must name it (OpenLDAP,
    # 389-DS); None where the schema attaches it to the user class (the AD schema extension).
    auxiliary_class: str | None = None

    def attribute(self, field: str) -> str:
        return self.attributes[field].name

    def encode(self, field: str, value: object) -> str:
        """A logical field's value as attribute text for this flavour (writes and filters)."""
        return codecs.encode(self.attributes[field].encoding, value, self.time_fraction)

    def auxiliary_operations(self, account: Account, operations: Iterable[tuple[str, str, tuple[str, ...]]]
                             ) -> list[tuple[str, str, tuple[str, ...]]]:
        """C-4 on OpenLDAP and 389-DS: an entry without the auxiliary class (an account created by
        another tool, whose category lives in an attribute of its own) gets the class in the same
        modify that writes its first hwb* attribute; otherwise the server refuses the write (65)."""
        if self.auxiliary_class is None or not account.object_classes:
            return []
        if self.auxiliary_class.lower() in account.object_classes:
            return []
        if any(values and attribute.lower() in _AUXILIARY_ATTRIBUTES for attribute, _, values in operations):
            return [("objectClass", "add", (self.auxiliary_class,))]
        return []

    def read_attributes(self, fields: Iterable[str] | None = None) -> list[str]:
        """Attribute names to ask the server for (all mapped fields by default)."""
        chosen = self.attributes if fields is None else fields
        names = {self.attributes[field].name for field in chosen if field in self.attributes}
        names.add(self.attributes["uid"].name)
        names.add(self.attributes["category"].name)
        names.add(self.flavour.attribute)
        if self.auxiliary_class is not None:
            names.add("objectClass")
        return sorted(names, key=str.lower)

    @functools.cached_property
    def _readers(self) -> tuple[tuple[str, str, str, Encoding, type | None], ...]:
        """(field, attribute, attribute lowercased, encoding, enum) per mapped field, in map order:
        worked out once, not for each of 100k entries."""
        return tuple((field, spec.name, spec.name.lower(), spec.encoding, _ENUMS.get(field))
                     for field, spec in self.attributes.items())

    def to_account(self, dn: str, raw: Mapping[str, Any]) -> Account:
        """One search result entry -> snapshot. `raw` maps attribute names to lists of values."""
        # Values are decoded only for the attributes read into fields (a listing reads ~15 a
        # entry: this runs once per account, so it is kept lean).
        found = {name.lower(): items for name, items in raw.items()}
        values: dict[str, list[str]] = {}
        problems: list[FieldProblem] = []
        parsed: dict[str, Any] = {}
        seen: set[str] = set()  # fields the entry carries a value for, readable or not
        for field, name, key, encoding, kind in self._readers:
            items = found.get(key)
            if items is None:
                continue
            texts = values.get(key)
            if texts is None:
                texts = values[key] = _texts(items)
            if not texts:
                continue
            seen.add(field)
            if field in MULTI_VALUED_FIELDS:
                # Several values by design (hwbReminderSent: one per reminder sent, issue 14).
                parsed[field] = frozenset(text.strip() for text in texts if text.strip())
                continue
            if len(texts) == 1:
                text = texts[0]
            elif field in _IDENTITY:
                # Identity attributes are multi-valued in the core schema (two `cn`s are legitimate)
                # and no rule judges them: one value stands for the entry, the lifecycle goes on.
                text = _identity_value(field, texts, dn)
            else:
                problems.append(FieldProblem(name, " | ".join(texts), "single value expected"))
                continue
            try:
                value = text if encoding is Encoding.STRING else codecs.decode(encoding, text)
                if kind is not None:
                    value = _enum(kind, text)
            except ValueError as error:
                problems.append(FieldProblem(name, text, str(error)))
                continue
            if isinstance(value, date) and field not in _IDENTITY:
                # Parsed, but outside what the policy's date arithmetic can use (year 0001, 9999).
                why = out_of_range(value)
                if why is not None:
                    problems.append(FieldProblem(name, text, why))
                    continue
            parsed[field] = value

        state_key = self.flavour.attribute.lower()
        if state_key not in values and found.get(state_key) is not None:
            values[state_key] = _texts(found[state_key])
        state_values = values.get(state_key)
        token = state_values[0] if state_values else None
        try:
            enabled = self.flavour.is_enabled(token)
        except ValueError:
            problems.append(FieldProblem(self.flavour.attribute, str(token), "not a state value"))
            enabled = True

        unreadable = {problem.attribute.lower() for problem in problems}
        problems.extend(_consistency(parsed, self.attributes, unreadable))
        uid = parsed.get("uid") or _first_rdn_value(dn)
        request = None
        # A request whose attributes do not parse is still a request: it is reported, not lost (C-7).
        if seen & {"activation_requested_at", "activation_requested_by"}:
            duration_text = parsed.get("activation_duration")
            duration = None
            if duration_text:
                try:
                    duration = Duration(duration_text)
                except ValueError:
                    problems.append(
                        FieldProblem(
                            self.attribute("activation_duration"),
                            duration_text,
                            "expected one of 1m, 3m, 6m, eoy",
                        )
                    )
            request = ActivationRequest(
                requested_at=parsed.get("activation_requested_at"),
                requested_by=parsed.get("activation_requested_by") or "unknown",
                duration=duration,
            )
        # Only read when the mapper asked for objectClass (auxiliary class check, issue 4).
        classes = frozenset(item.lower() for item in _texts(found.get("objectclass") or []))
        direct: dict[str, Any] = {field: parsed.get(field) for field in _DIRECT}
        return Account(
            dn=dn,
            uid=uid,
            enabled=enabled,
            state_token=token,
            object_classes=classes,
            activation_request=request,
            reminders_sent=parsed.get("reminders_sent") or frozenset(),
            problems=tuple(problems),
            **direct,
        )

    def lifecycle_operations(
        self, fields: Mapping[str, object | None]
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        """Logical field -> new value (None deletes) as replace operations."""
        operations: list[tuple[str, str, tuple[str, ...]]] = []
        for field, value in fields.items():
            spec = self.attributes[field]
            encoded: tuple[str, ...] = (
                () if value is None else (codecs.encode(spec.encoding, value, self.time_fraction),))
            operations.append((spec.name, "replace", encoded))
        return operations

    def entry_attributes(self, fields: Mapping[str, object | None]) -> dict[str, list[str]]:
        """Logical fields -> attributes of a new entry (None and empty values left out)."""
        result: dict[str, list[str]] = {}
        for field, value in fields.items():
            if value is None or value == "":
                continue
            spec = self.attributes[field]
            result[spec.name] = [codecs.encode(spec.encoding, value, self.time_fraction)]
        return result


# The attributes of the hwbAccount auxiliary class (deploy/openldap, deploy/389ds).
_AUXILIARY_ATTRIBUTES = frozenset(spec.name.lower() for spec in LIFECYCLE_FIELDS.values())


def _enum(kind: type, text: str) -> Any:
    try:
        return kind(text.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)  # type: ignore[attr-defined]
        raise ValueError(f"unknown value; expected one of {allowed}") from None


_REQUIRED = {
    Category.MIS: (("role", "an MIS account needs a role"),),
    Category.NON_MIS: (("non_mis_type", "a non-MIS account needs a type"),
                       ("expiry_date", "a non-MIS account needs an expiry date")),
}


def _consistency(parsed: Mapping[str, Any], attributes: Mapping[str, AttributeSpec],
                 unreadable: set[str]) -> list[FieldProblem]:
    """Fields a category requires but the entry lacks (C-7); unreadable ones are reported already."""
    problems = []
    category = parsed.get("category")
    for field, detail in (_REQUIRED.get(category, ()) if isinstance(category, Category) else ()):
        name = attributes[field].name
        if parsed.get(field) is None and name.lower() not in unreadable:
            problems.append(FieldProblem(name, "", detail))
    return problems


def _texts(items: Any) -> list[str]:
    if isinstance(items, bytes | str):
        items = [items]
    texts = []
    for item in items:
        if isinstance(item, bytes):
            texts.append(item.decode("utf-8", errors="replace"))
        elif isinstance(item, datetime):
            texts.append(codecs.format_generalized_time(item))
        else:
            texts.append(str(item))
    return texts


def _identity_value(field: str, texts: list[str], dn: str) -> str:
    """One value of a multi-valued identity attribute: for uid the one its DN names, else the first."""
    if field == "uid":
        named = _first_rdn_value(dn).lower()
        for text in texts:
            if text.lower() == named:
                return text
    return texts[0]


def _first_rdn_value(dn: str) -> str:
    """The value of the first RDN, honouring backslash escapes ("uid=a\\,b,ou=x" -> "a,b")."""
    value, escaped, started = [], False, False
    for char in dn:
        if escaped:
            value.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=" and not started:
            started = True
        elif char in ",+" and started:
            break
        elif started:
            value.append(char)
    return "".join(value) or dn
