"""A YAML mapping read key by key, every problem recorded with its dotted path.

Every section parser of the configuration reads through a `Reader`, so a
problem reads ``at 'directory.page_size': expected a whole number from 1 to
10000, got 'lots'`` wherever it was found, and all problems are reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Reader:
    """Reads one YAML mapping, recording every problem with its dotted path."""

    def __init__(self, data: Any, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail(None, f"expected a mapping, got {show(data)}")
            data = {}
        self.data: dict[str, Any] = data

    def where(self, key: str | None) -> str:
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, message: str) -> None:
        self.problems.append(f"at '{self.where(key)}': {message}")

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def section(self, key: str) -> Reader:
        return Reader(self.raw(key), self.where(key), self.problems)

    def string(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(key, f"expected text, got {show(value)}")
            return default
        text = str(value).strip()
        if required and not text:
            self.fail(key, "must not be empty")
        return text

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"expected a whole number from {low} to {high}, got {show(value)}")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.fail(key, f"expected a number from {low} to {high}, got {show(value)}")
            return default
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {show(value)}")
            return default
        return value

    def choice(self, key: str, options: list[str], default: str | None) -> str | None:
        value = self.string(key, default)
        if value is not None and value not in options:
            self.fail(key, f"expected one of {', '.join(options)}, got {show(value)}")
            return default
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, f"expected a list of text values, got {show(value)}")
            return ()
        return tuple(item.strip() for item in value)

    def path_value(self, key: str) -> Path | None:
        text = self.string(key)
        return Path(text).expanduser() if text else None

    def finish(self) -> None:
        for key in sorted(set(self.data) - self.seen, key=str):
            self.fail(key, "unknown key (a typo?)")


def show(value: Any) -> str:
    """A value for an error message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."



def relative(path: Path, base: Path) -> Path:
    """`path` as given when absolute, else relative to the configuration file's folder."""
    return path if path.is_absolute() else base / path
