"""NM-9 bulk extension: the CSV file an administrator edits from `review --csv`."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from agent.core.errors import UsageError
from agent.core.model import Duration


@dataclass(frozen=True)
class ExtensionLine:
    line: int
    uid: str
    duration: Duration


def read_extension_file(path: Path, default: Duration | None = None) -> list[ExtensionLine]:
    """NM-9 bulk extension: a CSV with a header naming `uid` and `duration` (other columns ignored).

    The CSV of `review --csv` fits once its `duration` column says what each
    account needs; rows with an empty duration take `default`. Lines starting
    with '#' are comments. Every fault is reported together (UsageError, exit 2).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"cannot read {str(path)!r}: {error.strerror}") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "uid" not in header:
        raise UsageError(f"{path}: the first line must name the columns, with at least uid and duration")
    reader.fieldnames = header
    entries: list[ExtensionLine] = []
    problems: list[str] = []
    for number, row in enumerate(reader, start=2):
        uid = _unquoted(row.get("uid") or "").strip()
        text_duration = _unquoted(row.get("duration") or "").strip().lower()
        if not uid:
            problems.append(f"{path}, row {number}: no uid")
            continue
        if not text_duration and default is None:
            problems.append(f"{path}, row {number} ({uid}): no duration (give one or use --duration)")
            continue
        try:
            duration = Duration(text_duration) if text_duration else default
        except ValueError:
            problems.append(f"{path}, row {number} ({uid}): duration {text_duration!r} is not one of"
                            " 1m, 3m, 6m, eoy")
            continue
        assert duration is not None
        entries.append(ExtensionLine(number, uid, duration))
    if problems:
        raise UsageError("nothing extended:\n  " + "\n  ".join(problems))
    return entries


# `review --csv` prefixes a cell that a spreadsheet would take for a formula with a single quote
# (OWASP; agent.cli.views.csv_safe); such a cell read back is the value without it.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _unquoted(cell: str) -> str:
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_TRIGGERS):
        return cell[1:]
    return cell
