"""Unique Pupil Numbers (UPN): the learner's MIS identifier, validated by its check letter.

A UPN has 13 characters: a check letter, then 12 characters (LA number, school
establishment number, year of issue, serial). A *temporary* UPN, given while a
school waits for the permanent one, ends in a letter instead of a digit.

The check letter, as published by the Department for Education's UPN guide and
implemented identically by python-stdnum (`stdnum/gb/upn.py`, Arthur de Jong)
and by nelsonfernandesserrao/UPNandULNchecker (`main.py`, from the DfE guide):

- characters 2 to 13 are weighted 2, 3, ..., 13 (the weight is the position);
- a digit counts as its value; a letter (only in position 13, temporary UPNs)
  counts as its index in the check alphabet below;
- the weighted sum modulo 23 indexes the check alphabet ``A..Z`` without the
  easily misread I, O and S (23 letters), and that letter must be character 1.

Example from python-stdnum's doctest: B801200005001 (sum 93, 93 mod 23 = 1, "B").

We do not check the LA number against a list: python-stdnum's list is England's,
while Welsh local authorities (660-682) issue UPNs too, and a stale list would
reject real pupils.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"  # A-Z without I, O, S: 23 letters
DIGITS = "0123456789"  # str.isdigit() also accepts superscripts and other scripts' digits
UPN_LENGTH = 13


class UpnProblem(enum.StrEnum):
    LENGTH = "length"
    FORMAT = "format"
    CHECK_LETTER = "check-letter"


@dataclass(frozen=True)
class UpnCheck:
    """The outcome of validating one UPN.

    `upn` is the normalised value (upper case, spaces removed); `problem` is
    None when valid; `temporary` is True for a valid UPN ending in a letter.
    """

    upn: str
    problem: UpnProblem | None
    detail: str
    temporary: bool = False

    @property
    def valid(self) -> bool:
        return self.problem is None


def normalise(text: str) -> str:
    """Upper case without spaces: how MIS exports and people write UPNs differ."""
    return "".join(text.split()).upper()


def check_letter(last_twelve: str) -> str:
    """The check letter for characters 2-13 of a UPN (weights 2..13, sum mod 23)."""
    if len(last_twelve) != UPN_LENGTH - 1:
        raise ValueError(f"expected 12 characters, got {len(last_twelve)}")
    total = sum(
        weight * _character_value(character)
        for weight, character in enumerate(last_twelve, start=2)
    )
    return CHECK_ALPHABET[total % 23]


def _character_value(character: str) -> int:
    if character in DIGITS:
        return int(character)
    # Only position 13 may be a letter (temporary UPN); it counts as its check-alphabet index.
    return CHECK_ALPHABET.index(character)


def validate_upn(text: str) -> UpnCheck:
    """Validate a UPN; never raises. Temporary UPNs are valid and marked `temporary`."""
    upn = normalise(text)
    if len(upn) != UPN_LENGTH:
        return UpnCheck(upn, UpnProblem.LENGTH, f"a UPN has 13 characters, {upn!r} has {len(upn)}")
    first, middle, last = upn[0], upn[1:12], upn[12]
    if first not in CHECK_ALPHABET:
        return UpnCheck(
            upn, UpnProblem.FORMAT, f"{upn!r}: character 1 must be a check letter (A-Z without I, O, S)"
        )
    if not all(character in DIGITS for character in middle):
        return UpnCheck(upn, UpnProblem.FORMAT, f"{upn!r}: characters 2-12 must be digits")
    temporary = last not in DIGITS
    if temporary and last not in CHECK_ALPHABET:
        return UpnCheck(
            upn,
            UpnProblem.FORMAT,
            f"{upn!r}: character 13 must be a digit or a letter other than I, O, S",
        )
    expected = check_letter(upn[1:])
    if first != expected:
        return UpnCheck(
            upn,
            UpnProblem.CHECK_LETTER,
            f"{upn!r}: wrong check letter {first!r}, expected {expected!r}",
            temporary,
        )
    detail = "valid temporary UPN (ends in a letter)" if temporary else "valid UPN"
    return UpnCheck(upn, None, detail, temporary)


def make_upn(last_twelve: str) -> str:
    """A UPN with the right check letter (for demo data and tests)."""
    return check_letter(last_twelve.upper()) + last_twelve.upper()
