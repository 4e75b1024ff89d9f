"""The uid scheme for new MIS accounts: folding, schemes, collisions, length."""

from __future__ import annotations

import pytest

from agent.core.mis.settings import UidSettings
from agent.core.mis.uids import UidAllocator, base_uid, fold, generate_uid

INITIAL = UidSettings("initial-surname", 20)
DOTTED = UidSettings("given.surname", 20)


@pytest.mark.parametrize(
    ("given", "surname", "expected"),
    [
        ("Siân", "Jones", "sjones"),
        ("Megan", "O'Brien", "mobrien"),
        ("Gethin", "Lloyd-Hughes", "glloydhughes"),
        ("Ŵyn", "ap Rhys", "waprhys"),
        ("李", "王", "user"),  # nothing left after folding: the documented fallback
    ],
)
def test_initial_surname_scheme_folds_names(given: str, surname: str, expected: str) -> None:
    assert base_uid(given, surname, INITIAL) == expected


def test_given_dot_surname_scheme() -> None:
    assert base_uid("Siân", "Jones", DOTTED) == "sian.jones"
    assert base_uid("", "Jones", DOTTED) == "jones"


def test_collisions_get_digits_from_2_compared_without_case() -> None:
    assert generate_uid("Aled", "Jones", {"ajones"}, INITIAL) == "ajones2"
    assert generate_uid("Aled", "Jones", {"ajones", "ajones2", "ajones3"}, INITIAL) == "ajones4"
    assert generate_uid("Aled", "Jones", set(), INITIAL) == "ajones"


def test_uids_never_exceed_the_maximum_length_even_with_digits() -> None:
    settings = UidSettings("initial-surname", 8)
    assert generate_uid("A", "Abcdefghij", set(), settings) == "aabcdefg"
    assert generate_uid("A", "Abcdefghij", {"aabcdefg"}, settings) == "aabcdef2"
    taken = {"aabcdefg"} | {f"aabcdef{n}" for n in range(2, 10)}
    assert generate_uid("A", "Abcdefghij", taken, settings) == "aabcde10"


def test_dotted_uid_cut_before_the_digits_does_not_end_in_a_dot() -> None:
    settings = UidSettings("given.surname", 6)
    assert generate_uid("Sian", "Jo", set(), settings) == "sian.j"
    assert generate_uid("Sian", "Jo", {"sian.j"}, settings) == "sian2"


def test_fold_keeps_digits() -> None:
    assert fold("Mari 2") == "mari2"


def test_allocator_hands_out_distinct_uids_and_remembers_its_counters() -> None:
    taken = {"ajones", "ajones3"}
    allocator = UidAllocator(taken, INITIAL)
    assert [allocator.allocate("Aled", "Jones") for _ in range(3)] == ["ajones2", "ajones4", "ajones5"]
    assert allocator.allocate("Siân", "Jones") == "sjones"
    assert {"ajones2", "ajones4", "ajones5", "sjones"} <= taken


def test_allocator_with_names_ending_in_digits_never_repeats_a_uid() -> None:
    allocator = UidAllocator(set(), INITIAL)
    uids = [allocator.allocate("M", "Ari2") for _ in range(5)]
    assert len(set(uids)) == 5
