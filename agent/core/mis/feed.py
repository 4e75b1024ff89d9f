"""What a OneRoster 1.1 package says, as immutable values (read by agent.actions.mis.feed_reader).

Nothing here decides who is current or who left: that needs `today` and the
directory, and is `agent.core.mis.plan`'s job. The feed only says what the files say.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from agent.core.mis.org_registry import KnownOrg
from agent.core.model import Role

MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
USERS = "users.csv"
ENROLLMENTS = "enrollments.csv"
FEED_FILES = (MANIFEST, ORGS, USERS, ENROLLMENTS)

# Not part of OneRoster 1.1: some exporters add it, and it is the most honest feed date.
FEED_DATE_PROPERTY = "feed.date"
# The longest field a row may carry (the csv module's own default limit): a longer one rejects
# its row, not the package.
MAX_FIELD_CHARACTERS = 128 * 1024


class FileMode(enum.StrEnum):
    BULK = "bulk"
    DELTA = "delta"
    ABSENT = "absent"


class RowStatus(enum.StrEnum):
    ACTIVE = "active"
    TO_BE_DELETED = "tobedeleted"


class RowErrorKind(enum.StrEnum):
    MISSING_COLUMN = "missing-column"  # a field missing from the row, or empty where required
    UNKNOWN_ROLE = "unknown-role"
    BAD_DATE = "bad-date"
    BAD_STATUS = "bad-status"
    INVALID_UPN = "invalid-upn"
    UNKNOWN_ORG = "unknown-org"
    UNKNOWN_USER = "unknown-user"
    NO_SCHOOL = "no-school"
    DUPLICATE = "duplicate"
    CONTROL_CHARACTER = "control-character"  # NUL and the like: never written to a directory
    OVERSIZED_FIELD = "oversized-field"  # a field beyond MAX_FIELD_CHARACTERS


@dataclass(frozen=True)
class SourceRow:
    """Where a record came from: the file name inside the package and its row number."""

    file: str
    row: int

    def __str__(self) -> str:
        return f"{self.file} row {self.row}"


@dataclass(frozen=True)
class RowError:
    """A rejected row. `identifier` is the person's raw MIS identifier when it could be read."""

    file: str
    row: int
    kind: RowErrorKind
    reason: str
    identifier: str | None = None

    def __str__(self) -> str:
        return f"{self.file} row {self.row}: {self.reason}"


@dataclass(frozen=True)
class School:
    source_id: str
    number: str  # the school number (orgs.csv `identifier` by default)
    name: str
    source: SourceRow


@dataclass(frozen=True)
class Enrolment:
    """One enrollments.csv row: a person at a school (through a class) between two dates."""

    source_id: str
    school: str  # school number
    begin: date | None
    end: date | None
    primary: bool
    source: SourceRow


@dataclass(frozen=True)
class FeedPerson:
    """One person of users.csv, with their enrolments.

    `mis_id` is the UPN (learners, validated) or the staff identifier.
    `schools` are school numbers from `orgSourcedIds` (in file order), school
    orgs only. `status` is None for a bulk file. `former_mis_ids` are earlier
    UPNs the MIS still lists (userIds `{FormerUPN:...}`), so that a learner
    whose temporary UPN became permanent keeps their account.
    """

    source_id: str
    oneroster_role: str
    role: Role
    mis_id: str
    given_name: str
    family_name: str
    mail: str | None
    schools: tuple[str, ...]
    enrolments: tuple[Enrolment, ...]
    status: RowStatus | None
    last_modified: datetime | None
    source: SourceRow
    temporary_upn: bool = False
    former_mis_ids: tuple[str, ...] = ()
    last_modified_on: date | None = None  # `last_modified` as a calendar date in the policy time zone

    @property
    def to_be_deleted(self) -> bool:
        return self.status is RowStatus.TO_BE_DELETED


@dataclass(frozen=True)
class Feed:
    """Everything a package says, plus the rows it could not use.

    `covered_schools`: school numbers the feed speaks for (every school org of
    orgs.csv). `rejected_ids`: MIS identifiers of rejected user rows, so that a
    person whose row is malformed is never taken for a leaver ("not found, so
    delete", STYLE.md). `feed_date_source` says where `feed_date` came from:
    `manifest` (property feed.date), `dateLastModified` (newest of the delta
    rows) or `mtime` (users.csv's modification time); see `_feed_date`.
    """

    location: str
    users_mode: FileMode
    orgs_mode: FileMode
    enrollments_mode: FileMode
    schools: tuple[School, ...]
    persons: tuple[FeedPerson, ...]
    errors: tuple[RowError, ...]
    feed_date: date
    feed_date_source: str
    rejected_ids: frozenset[str] = frozenset()
    ignored_rows: int = 0
    # The organisations of the package's orgs.csv (active rows) and those a delta marked
    # tobedeleted: what the org registry learns from this package (core/mis/org_registry.py).
    orgs_listed: tuple[KnownOrg, ...] = ()
    orgs_deleted: frozenset[str] = frozenset()
    # Schools the package named by sourcedId but did not list, resolved from the registry: they
    # name schools in messages, and are never covered (no leavers by absence there).
    known_schools: tuple[School, ...] = ()

    @property
    def covered_schools(self) -> frozenset[str]:
        return frozenset(school.number for school in self.schools)

    @property
    def school_names(self) -> dict[str, str]:
        """School number -> name, from the package and the registry (for messages)."""
        return {school.number: school.name for school in (*self.known_schools, *self.schools) if school.name}

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the operator should know although nothing was rejected."""
        return feed_date_warnings(self.feed_date, self.feed_date_source)


def feed_date_warnings(feed_date: date, source: str) -> tuple[str, ...]:
    """A feed date taken from file times: a copied or re-zipped package carries the copy's time,
    which becomes the leaving date of everyone missing from a bulk file."""
    if source != "mtime":
        return ()
    return (f"feed date {feed_date.isoformat()} taken from users.csv's file time: the package"
            f" states none; write {FEED_DATE_PROPERTY} in manifest.csv or give --feed-date",)
