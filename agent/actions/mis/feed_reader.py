"""A OneRoster 1.1 CSV package (folder or .zip) -> an immutable `Feed`.

Only manifest.csv, orgs.csv, users.csv and enrollments.csv are read; other
files of the package are ignored. The manifest says per file whether it is
`bulk` (the complete picture: rows carry no status), `delta` (changes only:
each row has `status` active/tobedeleted and `dateLastModified`) or `absent`.

Bad input never corrupts anything (issue 5): a malformed row becomes a
`RowError` (file, row number, kind, reason) and the rest is kept; a package
that cannot be understood as a whole (no or broken manifest, no users.csv or
orgs.csv, a required column missing from a header) raises `FeedError` naming
the file, before anything is planned or written.

Reading the files (folder or zip, CSV tables, the manifest) is
`agent.actions.mis.feed_package`; this module turns their rows into people,
schools and enrolments. Row numbers are those a spreadsheet shows: the header
is row 1, the first record row 2.

Nothing here decides who is current or who left: that needs `today` and the
directory, and is `agent.core.mis.plan`'s job. The feed only says what the files say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.actions.mis.feed_package import Manifest, Package, Row, read_manifest, read_table
from agent.core.errors import FeedError
from agent.core.mis.feed import (
    ENROLLMENTS,
    FEED_DATE_PROPERTY,
    FEED_FILES,
    MANIFEST,
    ORGS,
    USERS,
    Enrolment,
    Feed,
    FeedPerson,
    FileMode,
    RowError,
    RowErrorKind,
    RowStatus,
    School,
    SourceRow,
)
from agent.core.mis.org_registry import SCHOOL as SCHOOL_TYPE
from agent.core.mis.org_registry import KnownOrg, merged
from agent.core.mis.settings import MisSettings
from agent.core.mis.upn import validate_upn
from agent.core.model import Role

# The "file" of a school known from the org registry rather than from this package.
REGISTRY = "org registry"

# --- Field parsers --------------------------------------------------------------------------


class _Reject(Exception):
    def __init__(self, kind: RowErrorKind, reason: str):
        self.kind = kind
        self.reason = reason


def _required(row: Row, column: str) -> str:
    value = row.values.get(column, "")
    if not value:
        raise _Reject(RowErrorKind.MISSING_COLUMN, f"no value in column {column}")
    return value


def _parse_date(value: str, column: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Reject(RowErrorKind.BAD_DATE, f"{column} {value!r} is not a date YYYY-MM-DD") from None


def _parse_instant(value: str, column: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise _Reject(RowErrorKind.BAD_DATE,
                      f"{column} {value!r} is not an ISO 8601 date-time") from None
    # OneRoster says UTC; a value without an offset is taken as UTC rather than rejected.
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _status(row: Row, mode: FileMode) -> tuple[RowStatus | None, datetime | None]:
    """Bulk rows carry no status; delta rows must say active/tobedeleted and when."""
    status_text = row.values.get("status", "").lower()
    modified_text = row.values.get("dateLastModified", "")
    modified = _parse_instant(modified_text, "dateLastModified") if modified_text else None
    if mode is FileMode.BULK:
        if status_text and status_text != RowStatus.ACTIVE:
            raise _Reject(RowErrorKind.BAD_STATUS,
                          f"status {status_text!r} in a bulk file (bulk rows carry no status)")
        return None, modified
    try:
        status = RowStatus(status_text)
    except ValueError:
        raise _Reject(RowErrorKind.BAD_STATUS,
                      f"status {status_text!r}: a delta row must be active or tobedeleted") from None
    if modified is None:
        raise _Reject(RowErrorKind.MISSING_COLUMN, "no value in column dateLastModified (delta row)")
    return status, modified


def _note_instant(modified: datetime | None, mode: FileMode, instants: list[datetime]) -> None:
    """A delta row's dateLastModified says when the MIS last changed: the feed date's candidates."""
    if modified and mode is FileMode.DELTA:
        instants.append(modified)


def _dated_status(row: Row, mode: FileMode, instants: list[datetime]) -> RowStatus | None:
    status, modified = _status(row, mode)
    _note_instant(modified, mode, instants)
    return status


_USER_ID = re.compile(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}")


def _user_ids(text: str) -> dict[str, str]:
    """userIds `{UPN:A123...},{Fed:xyz}` -> {type: identifier} (types compared in lower case)."""
    return {kind.lower(): value for kind, value in _USER_ID.findall(text)}


def _split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- Orgs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orgs:
    schools: dict[str, School]  # by sourcedId: what rows may name (the package's, or remembered)
    others: frozenset[str]  # sourcedIds of non-school orgs (district, local, ...)
    listed: tuple[KnownOrg, ...] = ()  # the package's own orgs.csv rows (active)
    deleted: frozenset[str] = frozenset()  # sourcedIds a delta orgs.csv marked tobedeleted
    # Where an unknown sourcedId was looked for, for the row's error message.
    looked_in: str = "which orgs.csv does not list"

    @property
    def listed_schools(self) -> list[School]:
        """The schools the package itself lists: those it speaks for (coverage, MIS-2)."""
        listed = {org.source_id for org in self.listed if org.is_school}
        return [school for source_id, school in self.schools.items() if source_id in listed]


def _read_orgs(package: Package, mode: FileMode, settings: MisSettings,
               errors: list[RowError], instants: list[datetime],
               known: Mapping[str, KnownOrg] | None) -> _Orgs:
    """The package's orgs.csv; for a delta (which lists only what changed) or an absent one, with
    what earlier packages said (`known`, the org registry). A bulk orgs.csv is complete: alone."""
    remembered = dict(known or {}) if mode is not FileMode.BULK else {}
    listed: list[KnownOrg] = []
    deleted: set[str] = set()
    if mode is not FileMode.ABSENT:
        column = settings.school_id_column
        table = read_table(package, ORGS, ("sourcedId", "type", column))
        errors.extend(table.errors)
        for row in table.rows:
            try:
                status = _dated_status(row, mode, instants)
                source_id = _required(row, "sourcedId")
                if status is RowStatus.TO_BE_DELETED:
                    deleted.add(source_id)
                    continue
                kind = row.values["type"].lower()
                if kind != SCHOOL_TYPE:
                    listed.append(KnownOrg(source_id, kind, None, row.values.get("name", "")))
                    continue
                listed.append(KnownOrg(source_id, kind, _required(row, column), row.values.get("name", "")))
            except _Reject as reject:
                errors.append(RowError(ORGS, row.number, reject.kind, reject.reason))
    rows = {org.source_id: index + 2 for index, org in enumerate(listed)}
    resolved = merged(remembered, listed, deleted)
    schools = {
        org.source_id: School(org.source_id, org.number or "", org.name,
                              SourceRow(ORGS, rows[org.source_id]) if org.source_id in rows
                              else SourceRow(REGISTRY, 0))
        for org in resolved.values() if org.is_school
    }
    others = frozenset(org.source_id for org in resolved.values() if not org.is_school)
    if known is None or mode is FileMode.BULK:
        looked_in = "which orgs.csv does not list"
    elif mode is FileMode.ABSENT:
        looked_in = "which no earlier package listed (this delta has no orgs.csv; mis.org_registry_dn)"
    else:
        looked_in = "which neither orgs.csv nor an earlier package lists (mis.org_registry_dn)"
    return _Orgs(schools, others, tuple(listed), frozenset(deleted), looked_in)


# --- Users ----------------------------------------------------------------------------------


def _mis_identifier(row: Row, role: Role, settings: MisSettings) -> tuple[str, str]:
    """(raw identifier, column it came from) for the row's role; rejects when there is none."""
    if role is Role.LEARNER:
        typed = _user_ids(row.values.get("userIds", ""))
        # An explicitly typed {UPN:...} wins: many MIS put their own reference in `identifier`.
        upn = typed.get(settings.learner_user_id_type.lower())
        if upn:
            return upn, f"userIds {{{settings.learner_user_id_type}:...}}"
        value = row.values.get(settings.learner_id_column, "")
        if value:
            return value, settings.learner_id_column
        raise _Reject(RowErrorKind.MISSING_COLUMN,
                      f"no UPN: column {settings.learner_id_column} is empty and userIds has no"
                      f" {{{settings.learner_user_id_type}:...}}")
    value = row.values.get(settings.staff_id_column, "")
    if not value:
        raise _Reject(RowErrorKind.MISSING_COLUMN,
                      f"no staff identifier in column {settings.staff_id_column}")
    return value, settings.staff_id_column


@dataclass
class _UserRead:
    persons: dict[str, FeedPerson]  # by sourcedId
    ignored: int
    rejected_ids: set[str]
    rejected_rows: dict[str, int]  # sourcedId -> row number of a rejected users.csv row
    ignored_ids: frozenset[str]  # sourcedIds of people with an ignored role (guardians, ...)


def _read_users(package: Package, mode: FileMode, settings: MisSettings, orgs: _Orgs,
                errors: list[RowError], instants: list[datetime], zone: ZoneInfo) -> _UserRead:
    required = ["sourcedId", "orgSourcedIds", "role", "givenName", "familyName"]
    table = read_table(package, USERS, tuple(required))
    if settings.staff_id_column not in table.header:
        raise FeedError(USERS, f"the header lacks the staff identifier column {settings.staff_id_column}")
    if settings.learner_id_column not in table.header and "userIds" not in table.header:
        raise FeedError(USERS, f"the header has neither {settings.learner_id_column} nor userIds"
                               " for learners' UPNs")
    errors.extend(table.errors)
    persons: dict[str, FeedPerson] = {}
    ignored = 0
    rejected_ids: set[str] = set()
    rejected_rows: dict[str, int] = {}
    ignored_ids: set[str] = set()
    for row in table.rows:
        raw_id: str | None = None
        try:
            status, modified = _status(row, mode)
            _note_instant(modified, mode, instants)
            source_id = _required(row, "sourcedId")
            oneroster_role = _required(row, "role").lower()
            if oneroster_role in settings.ignored_roles:
                ignored += 1
                ignored_ids.add(source_id)
                continue
            role = settings.role_for(oneroster_role)
            if role is None:
                raise _Reject(RowErrorKind.UNKNOWN_ROLE,
                              f"role {oneroster_role!r} is not mapped to learner or staff (mis.roles)")
            raw_id, id_column = _mis_identifier(row, role, settings)
            mis_id, temporary = _checked_identifier(raw_id, id_column, role, settings)
            given_name = _required(row, "givenName")
            family_name = _required(row, "familyName")
            schools: list[str] = []
            for org_id in _split_ids(_required(row, "orgSourcedIds")):
                if org_id in orgs.schools:
                    schools.append(orgs.schools[org_id].number)
                elif org_id not in orgs.others:
                    raise _Reject(RowErrorKind.UNKNOWN_ORG, f"orgSourcedIds names {org_id!r},"
                                                           f" {orgs.looked_in}")
            if source_id in persons:
                raise _Reject(RowErrorKind.DUPLICATE,
                              f"sourcedId {source_id!r} also on {persons[source_id].source}")
            persons[source_id] = FeedPerson(
                source_id=source_id,
                oneroster_role=oneroster_role,
                role=role,
                mis_id=mis_id,
                given_name=given_name,
                family_name=family_name,
                mail=row.values.get("email") or None,
                schools=tuple(dict.fromkeys(schools)),
                enrolments=(),
                status=status,
                last_modified=modified,
                source=SourceRow(USERS, row.number),
                temporary_upn=temporary,
                former_mis_ids=_former_ids(row, role, settings),
                last_modified_on=modified.astimezone(zone).date() if modified else None,
            )
        except _Reject as reject:
            errors.append(RowError(USERS, row.number, reject.kind, reject.reason, raw_id))
            # Whatever made the row unusable, its person must not look absent (never a leaver).
            candidates = [raw_id or "", *_possible_identifiers(row, settings)]
            rejected_ids.update(_identity(value) for value in candidates if value)
            if row.values.get("sourcedId"):
                rejected_rows[row.values["sourcedId"]] = row.number
    for row in table.partial_rows:
        rejected_ids.update(_identity(value) for value in _possible_identifiers(row, settings) if value)
    return _UserRead(persons, ignored, rejected_ids, rejected_rows, frozenset(ignored_ids))


def _identity(raw_id: str) -> str:
    """How rejected identifiers are compared with accounts' MIS ids: no spaces, upper case."""
    return "".join(raw_id.split()).upper()


def _possible_identifiers(row: Row, settings: MisSettings) -> list[str]:
    """Every value a row could be identified by, whatever its role (for rejected rows only)."""
    typed = _user_ids(row.values.get("userIds", ""))
    return [
        row.values.get(settings.learner_id_column, ""),
        row.values.get(settings.staff_id_column, ""),
        typed.get(settings.learner_user_id_type.lower(), ""),
    ]


def _checked_identifier(raw_id: str, column: str, role: Role, settings: MisSettings) -> tuple[str, bool]:
    if role is not Role.LEARNER:
        return raw_id, False
    check = validate_upn(raw_id)
    if not check.valid:
        raise _Reject(RowErrorKind.INVALID_UPN, f"invalid UPN in {column}: {check.detail}")
    if check.temporary and not settings.accept_temporary_upns:
        raise _Reject(RowErrorKind.INVALID_UPN,
                      f"temporary UPN {check.upn!r} refused (mis.accept_temporary_upns is false)")
    return check.upn, check.temporary


def _former_ids(row: Row, role: Role, settings: MisSettings) -> tuple[str, ...]:
    if role is not Role.LEARNER:
        return ()
    typed = _user_ids(row.values.get("userIds", ""))
    former = []
    for kind in settings.former_id_types:
        value = typed.get(kind.lower())
        if value and validate_upn(value).valid:
            former.append(validate_upn(value).upn)
    return tuple(former)


# --- Enrollments ----------------------------------------------------------------------------


def _read_enrollments(package: Package, mode: FileMode, orgs: _Orgs, users: _UserRead,
                      errors: list[RowError], instants: list[datetime]) -> dict[str, list[Enrolment]]:
    by_user: dict[str, list[Enrolment]] = {}
    if mode is FileMode.ABSENT:
        return by_user
    table = read_table(package, ENROLLMENTS, ("sourcedId", "schoolSourcedId", "userSourcedId"))
    errors.extend(table.errors)
    for row in table.rows:
        try:
            status = _dated_status(row, mode, instants)
            source_id = _required(row, "sourcedId")
            user_id = _required(row, "userSourcedId")
            school_id = _required(row, "schoolSourcedId")
            begin = _parse_date(row.values.get("beginDate", ""), "beginDate")
            end = _parse_date(row.values.get("endDate", ""), "endDate")
            if begin and end and end < begin:
                raise _Reject(RowErrorKind.BAD_DATE,
                              f"endDate {end.isoformat()} is before beginDate {begin.isoformat()}")
            if school_id not in orgs.schools:
                raise _Reject(RowErrorKind.UNKNOWN_ORG,
                              f"schoolSourcedId {school_id!r} is not a known school, {orgs.looked_in}")
            if status is RowStatus.TO_BE_DELETED or user_id in users.ignored_ids:
                continue  # a withdrawn enrolment, or a guardian's: not an MIS account's enrolment
            if user_id in users.rejected_rows:
                raise _Reject(RowErrorKind.UNKNOWN_USER, f"userSourcedId {user_id!r} belongs to the"
                              f" rejected users.csv row {users.rejected_rows[user_id]}")
            if user_id not in users.persons:
                raise _Reject(RowErrorKind.UNKNOWN_USER,
                              f"userSourcedId {user_id!r} is not a (valid) row of users.csv")
            by_user.setdefault(user_id, []).append(Enrolment(
                source_id=source_id,
                school=orgs.schools[school_id].number,
                begin=begin,
                end=end,
                primary=row.values.get("primary", "").lower() == "true",
                source=SourceRow(ENROLLMENTS, row.number),
            ))
        except _Reject as reject:
            errors.append(RowError(ENROLLMENTS, row.number, reject.kind, reject.reason))
    return by_user


# --- The whole package ----------------------------------------------------------------------


def read_feed(location: str | Path, settings: MisSettings | None = None,
              timezone: ZoneInfo | None = None, known_orgs: Mapping[str, KnownOrg] | None = None) -> Feed:
    """Parse a OneRoster 1.1 package (a folder or a .zip).

    Raises FeedError when the package as a whole is unusable; otherwise returns
    every usable person and every rejected row. `timezone` (the policy time
    zone) turns instants into the calendar feed date. `known_orgs`: what the org
    registry remembers from earlier packages (None: no registry, so every package
    must list the organisations its rows name).
    """
    settings = settings or MisSettings()
    zone = timezone or ZoneInfo("Europe/London")
    path = Path(location)
    package = Package(path, zone)
    if not package.has(MANIFEST):
        raise FeedError(MANIFEST, f"missing from the package {path.name}")
    manifest = read_manifest(package)
    _check_orgs_absence(manifest, known_orgs is not None)
    errors: list[RowError] = []
    instants: list[datetime] = []
    orgs = _read_orgs(package, manifest.modes[ORGS], settings, errors, instants, known_orgs)
    users = _read_users(package, manifest.modes[USERS], settings, orgs, errors, instants, zone)
    enrolments = _read_enrollments(package, manifest.modes[ENROLLMENTS], orgs, users, errors, instants)
    persons, school_errors = _attach_enrolments(users.persons, enrolments)
    errors.extend(school_errors)
    persons, duplicate_errors = _reject_duplicate_ids(persons)
    errors.extend(duplicate_errors)
    rejected_ids = users.rejected_ids | {_identity(error.identifier) for error in errors if error.identifier}
    feed_date, feed_date_source = _feed_date(manifest, instants, package, zone)
    return Feed(
        location=str(path),
        users_mode=manifest.modes[USERS],
        orgs_mode=manifest.modes[ORGS],
        enrollments_mode=manifest.modes[ENROLLMENTS],
        schools=tuple(sorted(orgs.listed_schools, key=lambda school: school.number)),
        persons=tuple(persons),
        errors=tuple(sorted(errors, key=lambda error: (FEED_FILES.index(error.file), error.row))),
        feed_date=feed_date,
        feed_date_source=feed_date_source,
        rejected_ids=frozenset(rejected_ids),
        ignored_rows=users.ignored,
        orgs_listed=orgs.listed,
        orgs_deleted=orgs.deleted,
        known_schools=tuple(sorted((school for school in orgs.schools.values()
                                    if school.source.file == REGISTRY), key=lambda school: school.number)),
    )


def orgs_mode(location: str | Path) -> FileMode:
    """How the package's manifest declares orgs.csv (bulk, delta or absent); FeedError when the
    manifest is missing or broken."""
    package = Package(Path(location), ZoneInfo("UTC"))
    if not package.has(MANIFEST):
        raise FeedError(MANIFEST, f"missing from the package {Path(location).name}")
    return read_manifest(package).modes[ORGS]


def _check_orgs_absence(manifest: Manifest, registry: bool) -> None:
    """OneRoster 1.1 lets a delta omit orgs.csv; the agent then needs what earlier packages said.
    A bulk users.csv always needs its orgs.csv: the schools listed there are those whose learners
    missing from the file are leavers (MIS-2), and remembered schools must never count."""
    if manifest.modes[ORGS] is not FileMode.ABSENT:
        return
    if manifest.modes[USERS] is FileMode.BULK:
        raise FeedError(ORGS, "the manifest declares file.orgs absent beside a bulk users.csv; a bulk"
                              " users file needs its orgs.csv (the schools it speaks for, MIS-2)")
    if not registry:
        raise FeedError(ORGS, "the manifest declares file.orgs absent (a delta may omit it), but no"
                              " org registry remembers earlier packages' organisations: set"
                              " mis.org_registry_dn")


def _attach_enrolments(persons: dict[str, FeedPerson], enrolments: dict[str, list[Enrolment]]
                       ) -> tuple[list[FeedPerson], list[RowError]]:
    complete: list[FeedPerson] = []
    errors: list[RowError] = []
    for source_id, person in persons.items():
        own = tuple(enrolments.get(source_id, ()))
        if not person.schools and not own:
            errors.append(RowError(USERS, person.source.row, RowErrorKind.NO_SCHOOL,
                                   "neither orgSourcedIds nor enrollments.csv name a school",
                                   person.mis_id))
            continue
        complete.append(replace(person, enrolments=own))
    return complete, errors


def _reject_duplicate_ids(persons: list[FeedPerson]) -> tuple[list[FeedPerson], list[RowError]]:
    """Two rows with one MIS identifier: neither can be trusted, so both are rejected."""
    by_id: dict[tuple[Role, str], list[FeedPerson]] = {}
    for person in persons:
        by_id.setdefault((person.role, person.mis_id), []).append(person)
    kept: list[FeedPerson] = []
    errors: list[RowError] = []
    for person in persons:
        same = by_id[(person.role, person.mis_id)]
        if len(same) == 1:
            kept.append(person)
            continue
        others = ", ".join(str(other.source.row) for other in same if other is not person)
        errors.append(RowError(USERS, person.source.row, RowErrorKind.DUPLICATE,
                               f"{person.role.value} identifier {person.mis_id!r} is also on row(s)"
                               f" {others}", person.mis_id))
    return kept, errors


def _feed_date(manifest: Manifest, instants: list[datetime], package: Package,
               zone: ZoneInfo) -> tuple[date, str]:
    """The date the feed describes: used as the leaving date of people missing from a bulk file.

    Preference: an explicit manifest property (exact, when an exporter writes it);
    then the newest dateLastModified of the delta files' rows (they say when the MIS
    last changed); then users.csv's modification time (the export time of a bulk
    file). A bulk row's dateLastModified, which some exporters fill in although
    OneRoster 1.1 says to leave it empty, is not used: it says when that record last
    changed, possibly months ago, and would backdate the leaving date of everyone
    missing from the file.
    """
    explicit = manifest.properties.get(FEED_DATE_PROPERTY)
    if explicit:
        try:
            return date.fromisoformat(explicit), "manifest"
        except ValueError:
            raise FeedError(MANIFEST, f"{FEED_DATE_PROPERTY} {explicit!r} is not a date YYYY-MM-DD") from None
    if instants:
        return max(instants).astimezone(zone).date(), "dateLastModified"
    modified = package.mtime(USERS)
    assert modified is not None  # users.csv is present, or the manifest check raised
    return modified.astimezone(zone).date(), "mtime"


__all__ = [
    "Enrolment",
    "Feed",
    "FeedError",
    "FeedPerson",
    "FileMode",
    "RowError",
    "RowErrorKind",
    "RowStatus",
    "School",
    "SourceRow",
    "read_feed",
]
