"""The uid of a new MIS account, from the person's name (config `mis.uid`).

Schemes:

- ``initial-surname``: first letter of the given name + surname (``Siân Jones`` -> ``sjones``);
- ``given.surname``: given name, a dot, surname (``siân jones`` -> ``sian.jones``).

Names are folded to lower-case ASCII letters and digits: accents are dropped
(``â`` -> ``a``), apostrophes, hyphens and spaces removed (``O'Brien`` -> ``obrien``,
``Lloyd-Hughes`` -> ``lloydhughes``), because uids end up in sign-in names and mail
local parts where only the plain alphabet is safe everywhere. The result is cut
to `max_length`. When that uid is taken (compared without regard to case), the
digits 2, 3, ... are appended, cutting the name further so the whole still fits.
A name with no usable letter at all (for instance written only in a non-Latin
script) falls back to ``user``.

Kept separate from the planner so the administrator commands (non-MIS
creation) can use the same scheme.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container

from agent.mis.settings import UidScheme, UidSettings

FALLBACK = "user"


def fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Siân O'Brien-Ŵyn' -> 'sianobrienwyn'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(
        character for character in decomposed.lower() if character.isascii() and character.isalnum()
    )


def base_uid(given_name: str, surname: str, settings: UidSettings) -> str:
    """The uid a scheme gives before collisions are considered."""
    given, family = fold(given_name), fold(surname)
    if settings.scheme == UidScheme.GIVEN_DOT_SURNAME:
        base = ".".join(part for part in (given, family) if part)
    else:
        base = given[:1] + family
    return (base or FALLBACK)[: settings.max_length]


def generate_uid(given_name: str, surname: str, taken: Container[str], settings: UidSettings) -> str:
    """A uid for a new account that is not in `taken` (lower-case uids already used)."""
    base = base_uid(given_name, surname, settings)
    if base.lower() not in taken:
        return base
    counter = 2
    while True:
        suffix = str(counter)
        candidate = base[: settings.max_length - len(suffix)].rstrip(".") + suffix
        if candidate.lower() not in taken:
            return candidate
        counter += 1
