"""Access to a OneRoster 1.1 package: its files from a folder or a .zip, as CSV tables.

`Package` holds manifest.csv, orgs.csv, users.csv and enrollments.csv (by
lower-case base name, wherever they sit in a zip) and their modification times;
other files are ignored. `read_table` turns one file into rows keyed by column,
with a `RowError` for each row whose field count does not match the header;
`read_manifest` reads and checks manifest.csv (the `bulk`/`delta`/`absent` mode
of each file). A package that cannot be understood as a whole raises
`FeedError` naming the file (issue 5). Used by `agent.actions.mis.feed_reader`.

Row numbers are those a spreadsheet shows: the header is row 1, the first
record row 2 (counting records, so a quoted field with a line break does not
shift later numbers).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.core.errors import FeedError
from agent.core.mis.feed import (
    ENROLLMENTS,
    FEED_FILES,
    MANIFEST,
    MAX_FIELD_CHARACTERS,
    ORGS,
    USERS,
    FileMode,
    RowError,
    RowErrorKind,
)

# --- Reading the package ----------------------------------------------------------------


class Package:
    """The four files of a folder or a zip, by lower-case base name."""

    def __init__(self, location: Path, zone: ZoneInfo):
        self.location = location
        self.zone = zone
        self._contents: dict[str, bytes] = {}
        self._mtimes: dict[str, datetime] = {}
        if location.is_dir():
            for path in location.iterdir():
                name = path.name.lower()
                if name in FEED_FILES and path.is_file():
                    self._contents[name] = path.read_bytes()
                    self._mtimes[name] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        elif location.is_file() and zipfile.is_zipfile(location):
            self._read_zip(location)
        elif location.exists():
            raise FeedError(location.name, "not a folder or a .zip file")
        else:
            raise FeedError(location.name, "no such folder or file")

    def _read_zip(self, location: Path) -> None:
        try:
            with zipfile.ZipFile(location) as archive:
                for info in archive.infolist():
                    name = info.filename.rsplit("/", 1)[-1].lower()
                    if name not in FEED_FILES or info.is_dir():
                        continue
                    if name in self._contents:
                        raise FeedError(location.name, f"the archive holds {name} twice")
                    self._contents[name] = archive.read(info)
                    # Zip times are local wall-clock times without a zone; the date is what counts.
                    self._mtimes[name] = datetime(*info.date_time, tzinfo=self.zone)
        except (zipfile.BadZipFile, OSError) as error:
            raise FeedError(location.name, f"cannot read the archive: {error}") from None

    def has(self, name: str) -> bool:
        return name in self._contents

    def text(self, name: str) -> str:
        if name not in self._contents:
            raise FeedError(name, f"missing from the package {self.location.name}")
        try:
            return self._contents[name].decode("utf-8-sig")  # Excel writes a byte-order mark
        except UnicodeDecodeError as error:
            raise FeedError(name, f"not UTF-8 text (byte {error.start})") from None

    def mtime(self, name: str) -> datetime | None:
        return self._mtimes.get(name)


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]


@dataclass
class Table:
    file: str
    header: tuple[str, ...]
    rows: list[Row]
    errors: list[RowError]
    # Rows rejected for their field count, with the fields they do have: enough, often, to
    # know whose row it was, so that a cut-off row never makes its person a leaver.
    partial_rows: list[Row] = field(default_factory=list)


# C0 and C1 control characters but tab: NUL, a line break inside a quoted name, escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """The csv module's field limit raised for one read, so that an oversized field is seen as a
    field (and rejects its row) instead of an error that loses the parser's place. The limit is
    process-wide; reads are not concurrent."""
    old = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def read_table(package: Package, name: str, required: tuple[str, ...]) -> Table:
    text = package.text(name)
    with _field_limit(max(len(text) + 1, MAX_FIELD_CHARACTERS)):
        return _read_table(text, name, required)


def _read_table(text: str, name: str, required: tuple[str, ...]) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = tuple(column.strip() for column in next(reader))
    except StopIteration:
        raise FeedError(name, "empty file: no header row") from None
    except csv.Error as error:
        raise FeedError(name, f"unreadable header: {error}") from None
    missing = [column for column in required if column not in header]
    if missing:
        raise FeedError(name, f"the header lacks the column(s) {', '.join(missing)}")
    rows: list[Row] = []
    errors: list[RowError] = []
    partial_rows: list[Row] = []
    number = 1
    try:
        for record in reader:
            number += 1
            if not record or all(not value.strip() for value in record):
                continue
            if len(record) < len(header):
                absent = ", ".join(header[len(record):])
                errors.append(RowError(name, number, RowErrorKind.MISSING_COLUMN,
                                       f"row has {len(record)} fields, the header {len(header)}:"
                                       f" missing {absent}"))
                present = zip(header[: len(record)], record, strict=True)
                partial_rows.append(Row(number, {key: value.strip() for key, value in present}))
                continue
            if len(record) > len(header):
                errors.append(RowError(name, number, RowErrorKind.MISSING_COLUMN,
                                       f"row has {len(record)} fields, the header only {len(header)}:"
                                       " a separator or quote is misplaced"))
                continue
            fault = _field_fault(header, record)
            if fault is not None:
                kind, reason, column = fault
                errors.append(RowError(name, number, kind, reason))
                # Rejected, but whose row it was still counts: never a leaver for a bad byte.
                partial_rows.append(Row(number, {key: value.strip() for key, value
                                                 in zip(header, record, strict=True) if key != column}))
                continue
            rows.append(Row(number, {key: value.strip() for key, value in zip(header, record, strict=True)}))
    except csv.Error as error:
        raise FeedError(name, f"row {number + 1}: unreadable CSV ({error})") from None
    return Table(name, header, rows, errors, partial_rows)


def _field_fault(header: tuple[str, ...], record: list[str]) -> tuple[RowErrorKind, str, str] | None:
    """Why a row's fields cannot be used (kind, reason, column), or None."""
    for column, value in zip(header, record, strict=True):
        if len(value) > MAX_FIELD_CHARACTERS:
            return (RowErrorKind.OVERSIZED_FIELD, f"column {column} holds {len(value)} characters;"
                    f" at most {MAX_FIELD_CHARACTERS} are read", column)
        found = _CONTROL.search(value)
        if found is not None:
            return (RowErrorKind.CONTROL_CHARACTER, f"column {column} holds the control character"
                    f" U+{ord(found.group()):04X} at position {found.start() + 1}", column)
    return None


# --- Manifest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    modes: dict[str, FileMode]
    properties: dict[str, str]


def read_manifest(package: Package) -> Manifest:
    table = read_table(package, MANIFEST, ("propertyName", "value"))
    if table.errors:
        raise FeedError(MANIFEST, str(table.errors[0]))
    properties = {row.values["propertyName"]: row.values["value"] for row in table.rows}
    version = properties.get("oneroster.version")
    if version is not None and version != "1.1":
        raise FeedError(MANIFEST, f"oneroster.version is {version!r}; this agent reads OneRoster 1.1")
    modes: dict[str, FileMode] = {}
    for name in (ORGS, USERS, ENROLLMENTS):
        key = f"file.{name.removesuffix('.csv')}"
        text = properties.get(key, FileMode.ABSENT.value).strip().lower()
        try:
            modes[name] = FileMode(text)
        except ValueError:
            raise FeedError(MANIFEST, f"{key} is {text!r}; expected bulk, delta or absent") from None
        if modes[name] is not FileMode.ABSENT and not package.has(name):
            raise FeedError(name, f"the manifest declares it {text} but the package lacks it")
    # orgs.csv may be absent from a delta: the feed reader decides (it knows the org registry).
    if modes[USERS] is FileMode.ABSENT:
        raise FeedError(USERS, "the manifest declares file.users absent; MIS provisioning needs it")
    return Manifest(modes, properties)


__all__ = ["Manifest", "Package", "Row", "Table", "read_manifest", "read_table"]
