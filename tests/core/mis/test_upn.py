"""UPN check letters (learners' MIS identifiers): the DfE mod-23 scheme, temporary UPNs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.mis.upn import CHECK_ALPHABET, UpnProblem, check_letter, make_upn, validate_upn


@pytest.mark.parametrize(
    ("upn", "why"),
    [
        # python-stdnum's doctest for stdnum.gb.upn: weighted sum 93, 93 mod 23 = 1 -> "B".
        ("B801200005001", "published example"),
        # By hand: 6*2+8*3+1*4+2*5+1*8+1*9+9*10+1*13 = 170, 170 mod 23 = 9 -> "K".
        ("K681200119001", "Cardiff sample learner"),
    ],
)
def test_known_valid_upns_are_accepted_as_permanent(upn: str, why: str) -> None:
    check = validate_upn(upn)
    assert check.valid, why
    assert not check.temporary


def test_temporary_upn_ending_in_a_letter_is_valid_and_marked_temporary() -> None:
    # By hand: 6*2+8*3+1*4+4*5+5*7+2*9+6*10 = 173, plus T (index 16) * 13 = 208 -> 381;
    # 381 mod 23 = 13 -> "P".
    check = validate_upn("P68140502600T")
    assert check.valid
    assert check.temporary
    assert "temporary" in check.detail


def test_wrong_check_letter_is_rejected_naming_the_expected_letter() -> None:
    check = validate_upn("A801200005001")
    assert check.problem is UpnProblem.CHECK_LETTER
    assert "expected 'B'" in check.detail


@pytest.mark.parametrize("upn", ["B80120000500", "B8012000050011", "", "B801 2000 0500"])
def test_wrong_length_is_rejected(upn: str) -> None:
    assert validate_upn(upn).problem is UpnProblem.LENGTH


@pytest.mark.parametrize(
    "upn",
    [
        "I801200005001",  # I is not a check letter
        "1801200005001",  # character 1 must be a letter
        "B80120000A001",  # characters 2-12 must be digits
        "B80120000500O",  # O is not allowed in position 13 either
        "B80120000500²",  # a superscript digit is not a digit here
    ],
)
def test_misplaced_or_forbidden_characters_are_format_errors(upn: str) -> None:
    assert validate_upn(upn).problem is UpnProblem.FORMAT


def test_lower_case_and_spaces_are_normalised() -> None:
    check = validate_upn(" b801 2000 05001 ")
    assert check.valid
    assert check.upn == "B801200005001"


def test_check_alphabet_has_23_letters_without_i_o_s() -> None:
    assert len(CHECK_ALPHABET) == 23
    assert not set("IOS") & set(CHECK_ALPHABET)


digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(digits)
def test_every_made_upn_validates(last_twelve: str) -> None:
    assert validate_upn(make_upn(last_twelve)).valid


@given(digits, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_detected(last_twelve: str, position: int, shift: int) -> None:
    # Weights 2..13 and digit differences 1..9 are all non-zero modulo the prime 23.
    upn = make_upn(last_twelve)
    changed_digit = str((int(upn[position]) + shift) % 10)
    corrupted = upn[:position] + changed_digit + upn[position + 1 :]
    assert validate_upn(corrupted).problem is UpnProblem.CHECK_LETTER


def test_check_letter_needs_twelve_characters() -> None:
    with pytest.raises(ValueError):
        check_letter("123")
