"""Attribute values <-> Python values, per encoding (DESIGN.md, "Directory data model").

Decoding is strict: a value that does not parse raises `ValueError` with a
message that says what was expected, and the mapping layer turns it into a C-7
problem naming the attribute and the value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from agent.settings.attributes import Encoding

_GENERALIZED = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?P<hour>\d{2})(?:(?P<minute>\d{2})(?P<second>\d{2})?)?"
    r"(?:[.,](?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}(?:\d{2})?)$"
)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
# AD writes 0 and 0x7FFFFFFFFFFFFFFF for "never".
_FILETIME_NEVER = {0, 0x7FFFFFFFFFFFFFFF}


def parse_generalized_time(text: str) -> datetime:
    """RFC 4517 GeneralizedTime -> aware UTC datetime."""
    if len(text) == 15 and text[14] == "Z" and text[:14].isdigit():
        # YYYYMMDDHHMMSSZ, what slapd and the agent write: parsed without the regex (a full
        # read decodes two or three per account).
        try:
            return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                            int(text[10:12]), int(text[12:14]), tzinfo=UTC)
        except ValueError:
            pass  # out of range: the regex path below words the error
    found = _GENERALIZED.match(text.strip())
    if not found:
        raise ValueError("expected GeneralizedTime such as 20260131000000Z")
    parts = found.groupdict()
    fraction = parts["fraction"]
    moment = datetime(
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"]),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int(round(float(f"0.{fraction}") * 1_000_000)) if fraction else 0,
        tzinfo=UTC,
    )
    zone = parts["zone"]
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
        moment -= sign * offset
    return moment


def format_generalized_time(moment: datetime, fraction: bool = False) -> str:
    """Aware datetime -> YYYYMMDDHHMMSSZ in UTC (whole seconds).

    `fraction` gives YYYYMMDDHHMMSS.0Z, the only form Samba AD accepts in values
    and matches in filters (a filter value without it silently matches nothing);
    Windows AD accepts it too.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    utc = moment.astimezone(UTC)
    return (f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
            + (".0Z" if fraction else "Z"))


def format_date(day: date, fraction: bool = False) -> str:
    # Not strftime: "%Y" gives "999" for the year 999 on glibc, where GeneralizedTime needs "0999".
    return f"{day.year:04d}{day.month:02d}{day.day:02d}" + ("000000.0Z" if fraction else "000000Z")


def parse_date(text: str) -> date:
    """A date stored as GeneralizedTime; only its calendar date counts."""
    stripped = text.strip()
    found = _GENERALIZED.match(stripped)
    if not found:
        raise ValueError("expected a date as GeneralizedTime YYYYMMDD000000Z")
    return date(int(found["year"]), int(found["month"]), int(found["day"]))


def parse_filetime(text: str) -> datetime | None:
    ticks = int(text.strip())
    if ticks in _FILETIME_NEVER:
        return None
    if ticks < 0:
        raise ValueError("negative FILETIME")
    return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)


def format_filetime(moment: datetime) -> str:
    delta = moment.astimezone(UTC) - _FILETIME_EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10)


def decode(encoding: Encoding, text: str) -> object:
    """Attribute text -> str, date or aware datetime (None for AD's "never")."""
    try:
        if encoding is Encoding.STRING:
            return text
        if encoding is Encoding.DATE:
            return parse_date(text)
        if encoding is Encoding.TIME:
            return parse_generalized_time(text)
        if encoding is Encoding.FILETIME:
            return parse_filetime(text)
    except (ValueError, OverflowError) as error:
        raise ValueError(str(error)) from None
    raise ValueError(f"unknown encoding {encoding}")


def encode(encoding: Encoding, value: object, fraction: bool = False) -> str:
    """Python value -> attribute text for writes and filters (`fraction`: GeneralizedTime with
    ".0Z", for Active Directory)."""
    if encoding is Encoding.STRING:
        return str(value)
    if encoding is Encoding.DATE:
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise TypeError(f"date expected, got {value!r}")
        return format_date(value, fraction)
    if not isinstance(value, datetime):
        raise TypeError(f"datetime expected, got {value!r}")
    if encoding is Encoding.TIME:
        return format_generalized_time(value, fraction)
    return format_filetime(value)
