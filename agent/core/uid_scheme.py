"""NM-1: the uid of a new non-MIS account, from the configured template and the person's names.

Pure: the template is checked when the configuration is read
(`template_problems`), and `uid_candidates` gives the uid the scheme makes,
then the same with 2, 3, ... appended, for the caller to try in order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from agent.core.operations import NewAccount

UID_PLACEHOLDERS = ("given", "surname", "g", "type")
_PLACEHOLDER = re.compile(r"{([^{}]*)}")
_KEEP = re.compile(r"[^a-z0-9.\-_]")


def template_problems(template: str) -> list[str]:
    """What is wrong with a uid template (empty when it is usable)."""
    names = _PLACEHOLDER.findall(template)
    unknown = sorted({name for name in names if name not in UID_PLACEHOLDERS})
    problems = [f"unknown placeholder {{{name}}}" for name in unknown]
    if not any(name in ("given", "surname", "g") for name in names):
        problems.append("needs at least one of {given}, {surname} or {g}")
    if _KEEP.search(_PLACEHOLDER.sub("", template)):
        problems.append("only a-z, 0-9, '.', '-' and '_' may stand between the placeholders")
    return problems


def uid_part(text: str) -> str:
    """Lower-case ASCII of a name: accents dropped (Siân -> sian), other characters removed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _KEEP.sub("", folded.replace(" ", ""))


def uid_candidates(template: str, request: NewAccount, max_length: int) -> Iterator[str]:
    """The uid the scheme gives, then the same with 2, 3, ... appended (collisions).

    The base is cut so that base + counter fits `max_length` (Active Directory's
    sAMAccountName holds 20 characters).
    """
    given, surname = uid_part(request.given_name), uid_part(request.surname)
    values = {"given": given, "surname": surname, "g": given[:1], "type": request.non_mis_type.value}
    base = _PLACEHOLDER.sub(lambda found: values[found[1]], template).strip(".-_")
    base = re.sub(r"([.\-_])[.\-_]+", r"\1", base)
    if not (given or surname) or not base:
        raise ValueError(f"no uid can be formed from {request.given_name!r} {request.surname!r}")
    # A cut may leave a separator at the end (AD refuses a sAMAccountName ending in a dot).
    yield base[:max_length].rstrip(".-_") or base[:max_length]
    for counter in range(2, 10_000):
        suffix = str(counter)
        yield base[:max_length - len(suffix)] + suffix
