"""Accounts and decisions as rows for people and scripts (DESIGN.md, JSON outputs).

The JSON keys are fixed by the design; CSV columns are the same keys.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from agent.core.model import Account, Category
from agent.core.policy import Decision
from agent.core.records import as_json_rows

ROW_KEYS = (
    "uid", "dn", "name", "mail", "category", "role", "type", "enabled", "school", "sponsor",
    "leaving_date", "expiry_date", "last_sign_in", "disabled_at", "disabled_reason",
)
# CSV exports end with the C-7 problems of the entry (JSON, empty when there are none).
CSV_ROW_KEYS = (*ROW_KEYS, "problems")


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_row(account: Account) -> dict[str, Any]:
    """The fixed JSON shape of an account in `list`, `show` and `expiring`."""
    row: dict[str, Any] = {
        "uid": account.uid,
        "dn": account.dn,
        "name": account.name,
        "mail": account.mail,
        "category": account.category.value if account.category else None,
        "enabled": account.enabled,
        "school": account.school,
        "sponsor": account.sponsor,
        "leaving_date": iso(account.leaving_date),
        "expiry_date": iso(account.expiry_date),
        "last_sign_in": iso(account.last_sign_in),
        "disabled_at": iso(account.disabled_at),
        "disabled_reason": account.disabled_reason.value if account.disabled_reason else None,
    }
    if account.problems:  # C-7: the entry is listed, with the attribute and value at fault
        row["problems"] = problem_rows(account)
    if account.category is Category.NON_MIS:
        row["type"] = account.non_mis_type.value if account.non_mis_type else None
        if account.role is not None:
            row["role"] = account.role.value
    else:
        row["role"] = account.role.value if account.role else None
    return row


def show_row(account: Account, decision: Decision) -> dict[str, Any]:
    row = account_row(account)
    row["why"] = {"rule": decision.rule, "detail": decision.detail, "action_due": decision.action.value}
    row["next"] = (
        {"date": decision.next.date.isoformat(), "action": decision.next.action.value,
         "rule": decision.next.rule}
        if decision.next else None
    )
    if account.reactivated_at:
        row["reactivated_at"] = iso(account.reactivated_at)
        row["reactivated_by"] = account.reactivated_by
        row["reactivation_ticket"] = account.reactivation_ticket
    if account.transferred_from or account.transferred_at:  # issue 15: moved in from another authority
        row["transferred_from"] = account.transferred_from
        row["transferred_at"] = iso(account.transferred_at)
    return row


def problem_rows(account: Account) -> list[dict[str, str]]:
    return [{"attribute": p.attribute, "value": p.value, "detail": p.detail} for p in account.problems]


def problem_lines(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The C-7 rows of a listing, for people: each entry with the attribute and value at fault."""
    lines = []
    for row in rows:
        for problem in row.get("problems") or ():
            lines.append(f"C-7 {row['uid']} ({row['dn']}): {problem['attribute']}={problem['value']!r}:"
                         f" {problem['detail']}; left unchanged")
    return lines


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def write_json(value: Any, stream: Any) -> None:
    """`to_json(value)` and a newline, written piece by piece: `json.dumps` with an indent first
    gathers every piece in a list (for a forecast of 20k changes, a million strings)."""
    json.dump(value, stream, indent=2, ensure_ascii=False, default=str)
    stream.write("\n")


# One flat row as `to_json` indents it inside a list, but through json's C encoder (the
# pure-Python one that `indent` selects costs more than reading the entry did).
_ROW_SEPARATORS = (",\n    ", ": ")


def write_json_rows(rows: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> None:
    """Write `rows` as `to_json(list(rows))` plus a newline would, one row at a time."""
    first = True
    for row in rows:
        if any(isinstance(value, dict | list) for value in row.values()):
            text = "\n".join("  " + line for line in to_json(row).splitlines())
        elif row:
            text = "  {\n    " + json.dumps(row, ensure_ascii=False, default=str,
                                              separators=_ROW_SEPARATORS)[1:-1] + "\n  }"
        else:
            text = "  {}"
        write(("[\n" if first else ",\n") + text)
        first = False
    write("[]\n" if first else "\n]\n")


def sorted_rows(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], str]
                ) -> Iterator[dict[str, Any]]:
    """`rows` sorted by `key`, holding only the keys in memory: the rows wait in a temporary file
    (a listing of 100k accounts would otherwise hold 100k dicts; DESIGN.md: memory stays flat).
    Everything is read before this returns; rows come back as JSON round-trips them."""
    spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the generator below
    keys: list[str] = []
    offsets = array("q")
    try:
        for row in rows:
            offsets.append(spill.tell())
            spill.write(json.dumps(row, ensure_ascii=False, default=str).encode() + b"\n")
            keys.append(key(row))
    except BaseException:
        spill.close()  # a failed read (a truncated search, an outage) must not leak the file
        raise
    order = sorted(range(len(keys)), key=keys.__getitem__)
    del keys

    def replay() -> Iterator[dict[str, Any]]:
        with spill:
            for index in order:
                spill.seek(offsets[index])
                yield json.loads(spill.readline())

    return replay()


def to_csv(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> str:
    """Rows as CSV, every cell made safe to open in a spreadsheet (`csv_safe`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys), extrasaction="ignore", lineterminator="\n")
    # With "\n" as line end the csv module leaves a lone "\r" unquoted, which ends the row for
    # readers: a row holding one is written with every cell quoted.
    quoting = csv.DictWriter(buffer, fieldnames=list(keys), extrasaction="ignore", lineterminator="\n",
                             quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        cells = {key: csv_safe(_cell(row.get(key))) for key in keys}
        if any(isinstance(cell, str) and "\r" in cell for cell in cells.values()):
            quoting.writerow(cells)
        else:
            writer.writerow(cells)
    return buffer.getvalue()


# OWASP "CSV injection": a cell beginning with one of these is read as a formula by spreadsheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell that a spreadsheet would take for a formula, prefixed with a single quote (OWASP).

    Names, mails and problem values come from the directory and MIS feeds: `=HYPERLINK(...)` in a
    display name must stay text. `agent.actions.extension_file` strips the quote when it reads a
    review CSV back. Numbers are left as they are (a negative `days_left` is no formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def table(rows: Sequence[Any], keys: Sequence[str]) -> str:
    """A plain aligned text table for terminals; rows are mappings or frozen rows (`as_json`)."""
    cells = [[str(_cell(row.get(key))) for key in keys] for row in as_json_rows(rows)]
    widths = [max([len(key)] + [len(line[index]) for line in cells]) for index, key in enumerate(keys)]
    lines = ["  ".join(key.upper().ljust(width) for key, width in zip(keys, widths, strict=True))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
              for line in cells]
    return "\n".join(line.rstrip() for line in lines)
