"""Distinguished names compared the way a directory server compares them (RFC 4514), no ldap3.

Servers return DNs escaped their own way (`\\,` or `\\2C`; `\\C3\\A2` or `â`), in
their own case and with their own spacing, so a DN read back from a server is
rarely the same string as the one written. Compare `dn_key(a) == dn_key(b)`.
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdefABCDEF")


class DnError(ValueError):
    """The text is not a DN."""


def _unescape(value: str) -> str:
    """An attribute value without RFC 4514 escapes; hex pairs may spell UTF-8."""
    out = bytearray()
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            pair = value[index + 1:index + 3]
            if len(pair) == 2 and all(item in _HEX for item in pair):
                out.append(int(pair, 16))
                index += 3
                continue
            if index + 1 >= len(value):
                raise DnError("a DN value ends with a lone backslash")
            out += value[index + 1].encode()
            index += 2
            continue
        out += char.encode()
        index += 1
    try:
        return out.decode()
    except UnicodeDecodeError:
        raise DnError("escaped bytes are not UTF-8") from None


def _split(text: str, separators: str) -> list[str]:
    """Split at separators that are not escaped by a backslash."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def dn_key(dn: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """A comparable form of `dn`: per RDN, the sorted (type, value) pairs, types and values in lower
    case, values unescaped and trimmed. Raises DnError for text that is not a DN."""
    if not dn.strip():
        return ()
    rdns = []
    for rdn in _split(dn, ",;"):
        pairs = []
        for assertion in _split(rdn, "+"):
            kind, equals, value = assertion.partition("=")
            if not equals or not kind.strip():
                raise DnError(f"not a DN: {dn!r}")
            pairs.append((kind.strip().lower(), _unescape(value.strip()).strip().lower()))
        rdns.append(tuple(sorted(pairs)))
    return tuple(rdns)


def same_dn(first: str, second: str) -> bool:
    try:
        return dn_key(first) == dn_key(second)
    except DnError:
        return first.lower() == second.lower()


def is_below(dn: str, base: str) -> bool:
    """Whether `dn` lies strictly below `base`."""
    target, top = dn_key(dn), dn_key(base)
    return len(target) > len(top) and target[-len(top):] == top


def parent_dn(dn: str) -> str | None:
    """The DN one level up (as written, escapes kept), or None for a single RDN."""
    parts = _split(dn, ",")
    if len(parts) < 2:
        return None
    return ",".join(part.strip() for part in parts[1:])
