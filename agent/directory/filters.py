"""Criteria (agent.core.criteria) -> RFC 4515 LDAP filter strings for one configuration.

Every value is escaped, so a uid or sponsor such as ``*)(uid=*`` matches only
itself and can never widen a search.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from agent.core import criteria as c
from agent.directory import codecs
from agent.directory.mapping import EntryMapper
from agent.settings.attributes import Encoding

_SPECIAL = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\x00": r"\00"}


def escape(value: str) -> str:
    """RFC 4515 escaping of an assertion value."""
    return "".join(_SPECIAL.get(char, char) for char in value)


class FilterRenderer:
    def __init__(self, mapper: EntryMapper, bitwise_supported: bool = True, negated_ranges: bool = True):
        self.mapper = mapper
        self.bitwise_supported = bitwise_supported
        # ldap3's mock server gets "not >=" wrong for absent attributes: it gets the plain form.
        self.negated_ranges = negated_ranges

    def render(self, criterion: c.Criterion) -> str | None:
        """The filter, or None when the criterion cannot narrow the search (matches all)."""
        match criterion:
            case c.Present(field):
                return f"({self._name(field)}=*)"
            case c.Equals(field, value):
                return f"({self._name(field)}={escape(value)})"
            case c.AtMost(field, value):
                return f"({self._name(field)}<={escape(self._bound(field, value))})"
            case c.IsEnabled(enabled):
                return self.mapper.flavour.filter(enabled, self.bitwise_supported)
            case c.Not(operand):
                inner = self.render(operand)
                # not(anything) cannot be narrowed safely: keep the superset.
                return None if inner is None else f"(!{inner})"
            case c.And(operands):
                parts = [part for part in map(self.render, operands) if part is not None]
                if not parts:
                    return None
                return parts[0] if len(parts) == 1 else f"(&{''.join(parts)})"
            case c.Or((c.Not(c.Present(absent)), c.AtMost(field, datetime() as value))) if (
                absent == field and self.negated_ranges
            ):
                # "absent or at most `value`" as "not at least `value` + 1 s": true for an absent
                # attribute, and for a single value at most `value` (a superset, never less, for
                # sub-second values). Same accounts, but slapd answers it from the other terms'
                # indexes, while a range over an attribute most entries carry (last sign-in,
                # creation) makes slapd 2.5 walk its index: 12.8 s against 16 ms at 100k accounts.
                after = self._bound(field, value + timedelta(seconds=1))
                return f"(!({self._name(field)}>={escape(after)}))"
            case c.Or(operands):
                rendered = [self.render(operand) for operand in operands]
                parts = [part for part in rendered if part is not None]
                if len(parts) < len(rendered):
                    return None
                return parts[0] if len(parts) == 1 else f"(|{''.join(parts)})"
        raise TypeError(f"not a criterion: {criterion!r}")

    def _name(self, field: str) -> str:
        return self.mapper.attribute(field)

    def _bound(self, field: str, value: date | datetime) -> str:
        spec = self.mapper.attributes[field]
        if spec.encoding is Encoding.DATE and not isinstance(value, datetime):
            # Another tool may have stored a date with a time of day: bound by the day's end.
            # (Samba AD matches nothing unless the value has the ".0Z" fraction.)
            return value.strftime("%Y%m%d") + ("235959.0Z" if self.mapper.time_fraction else "235959Z")
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time.max)
        if spec.encoding is Encoding.STRING:
            return codecs.format_generalized_time(value)  # text compared as text: one plain form
        return self.mapper.encode(field, value)
