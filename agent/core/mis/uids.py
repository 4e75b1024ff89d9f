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

from agent.core.mis.settings import UidScheme, UidSettings

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


def generate_uid(
    given_name: str, surname: str, taken: Container[str], settings: UidSettings, first_counter: int = 2
) -> str:
    """A uid for a new account that is not in `taken` (lower-case uids already used)."""
    base = base_uid(given_name, surname, settings)
    if base.lower() not in taken:
        return base
    counter = max(first_counter, 2)
    while True:
        candidate = _numbered(base, counter, settings)
        if candidate.lower() not in taken:
            return candidate
        counter += 1


def _numbered(base: str, counter: int, settings: UidSettings) -> str:
    suffix = str(counter)
    return base[: settings.max_length - len(suffix)].rstrip(".") + suffix


class UidAllocator:
    """Hands out uids for many new accounts in one run.

    Remembers, per base uid, the counter it reached: thousands of learners
    called Jones would otherwise make every new uid re-test ajones2, ajones3, ...
    from the start (quadratic in a first import of a local authority).
    """

    def __init__(self, taken: set[str], settings: UidSettings):
        self._taken = taken  # lower case; grows as uids are handed out
        self._settings = settings
        self._next_counter: dict[str, int] = {}

    def allocate(self, given_name: str, surname: str) -> str:
        base = base_uid(given_name, surname, self._settings)
        uid = generate_uid(given_name, surname, self._taken, self._settings,
                           self._next_counter.get(base, 2))
        if uid != base:
            # A base ending in digits may make this skip numbers, never repeat one: every
            # candidate is still checked against the taken uids.
            self._next_counter[base] = int(uid[len(uid.rstrip("0123456789")):]) + 1
        self._taken.add(uid.lower())
        return uid
