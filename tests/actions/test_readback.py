"""Settling a lost-reply write by reading it back (issue 11, C-6): "not applied" only after a grace
period from the server's first answer, because a frozen server that resumes still carries out a
write buffered on the abandoned connection (tests/e2e/test_faults.py found it)."""

from __future__ import annotations

from typing import Any

from agent.actions.readback import ReadBack


class _Entries:
    """A directory whose reads return the given values in turn (the last one repeats)."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)
        self.reads = 0

    def read(self, dn: str) -> Any:
        self.reads += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _disabled(entry: Any) -> bool:
    return entry == "disabled"


def test_an_applied_change_is_confirmed_at_once_without_waiting() -> None:
    entries, clock = _Entries("disabled"), _Clock()
    read_back = ReadBack(entries, 2.0, clock, clock.sleep)  # type: ignore[arg-type]
    assert read_back("uid=a", _disabled) == ("disabled", True)
    assert entries.reads == 1 and clock.slept == []


def test_a_buffered_write_that_lands_after_the_first_answer_is_confirmed_not_refused() -> None:
    entries, clock = _Entries("enabled", "enabled", "disabled"), _Clock()
    read_back = ReadBack(entries, 2.0, clock, clock.sleep)  # type: ignore[arg-type]
    assert read_back("uid=a", _disabled) == ("disabled", True)
    assert entries.reads == 3 and sum(clock.slept) < 2.0


def test_not_applied_only_after_the_whole_grace_period_from_the_first_answer() -> None:
    entries, clock = _Entries("enabled"), _Clock()
    read_back = ReadBack(entries, 2.0, clock, clock.sleep)  # type: ignore[arg-type]
    assert read_back("uid=a", _disabled) == ("enabled", False)
    assert abs(sum(clock.slept) - 2.0) < 1e-9
    assert entries.reads == len(clock.slept) + 1  # one read after each wait: the verdict is fresh


def test_an_absent_entry_reads_as_none_and_a_purge_is_applied_when_it_is_gone() -> None:
    entries, clock = _Entries(None), _Clock()
    read_back = ReadBack(entries, 2.0, clock, clock.sleep)  # type: ignore[arg-type]
    assert read_back("uid=a", lambda entry: entry is None) == (None, True)


def test_the_grace_is_paid_once_per_settlement_pass_not_once_per_change() -> None:
    entries, clock = _Entries("enabled"), _Clock()
    read_back = ReadBack(entries, 2.0, clock, clock.sleep)  # type: ignore[arg-type]
    assert [read_back(f"uid={n}", _disabled)[1] for n in range(5)] == [False] * 5
    assert abs(sum(clock.slept) - 2.0) < 1e-9
