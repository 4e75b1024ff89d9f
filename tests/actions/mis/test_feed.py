"""Reading OneRoster 1.1 packages: bulk and delta, folder and zip, every malformed-row kind."""

from __future__ import annotations

import os
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.actions.mis.feed_reader import read_feed
from agent.core.errors import FeedError
from agent.core.mis.feed import FileMode, RowErrorKind, RowStatus
from agent.core.mis.settings import MisSettings
from agent.core.mis.upn import make_upn
from agent.core.model import Role
from tests.actions.mis.support import ENROLLMENTS_HEADER, USERS_HEADER

UPN_A = make_upn("681000126001")
UPN_B = make_upn("681000126002")


def user(source_id: str, role: str = "student", org: str = "org-a", identifier: str = UPN_A,
         given: str = "Aled", family: str = "Jones", user_ids: str = "", email: str = "",
         status: str = "", modified: str = "") -> str:
    return (f"{source_id},{status},{modified},true,{org},{role},{source_id},{user_ids},{given},{family},,"
            f"{identifier},{email},,,,,\n")


def enrolment(source_id: str, user_id: str, school: str = "org-a", begin: str = "2026-09-01",
              end: str = "", status: str = "", modified: str = "") -> str:
    return f"{source_id},{status},{modified},cls-1,{school},{user_id},student,false,{begin},{end}\n"


def kinds(feed) -> list[RowErrorKind]:
    return [error.kind for error in feed.errors]


# --- The sample packages -----------------------------------------------------------------


def test_bulk_sample_reads_learners_staff_and_schools(samples: Path) -> None:
    feed = read_feed(samples / "day1")
    assert feed.users_mode is FileMode.BULK and feed.enrollments_mode is FileMode.BULK
    assert feed.covered_schools == {"6812001", "6814050", "6812150"}
    roles = [person.role for person in feed.persons]
    assert roles.count(Role.LEARNER) == 22 and roles.count(Role.STAFF) == 5
    assert feed.ignored_rows == 1  # the guardian
    assert all(person.status is None for person in feed.persons)  # bulk rows carry no status
    assert feed.feed_date == date(2026, 11, 27) and feed.feed_date_source == "manifest"


def test_bulk_sample_rejects_the_malformed_row_and_keeps_the_rest(samples: Path) -> None:
    feed = read_feed(samples / "day1")
    assert [(error.file, error.row, error.kind) for error in feed.errors] == [
        ("users.csv", 8, RowErrorKind.INVALID_UPN),
        ("enrollments.csv", 8, RowErrorKind.UNKNOWN_USER),
    ]
    assert "B681200119099" in feed.rejected_ids
    assert "rejected users.csv row 8" in feed.errors[1].reason


def test_upn_from_typed_user_ids_wins_over_the_identifier_column(samples: Path) -> None:
    feed = read_feed(samples / "day1")
    gethin = next(person for person in feed.persons if person.source_id == "stu-007")
    assert gethin.mis_id == make_upn("681405021007")  # identifier holds an admission number


def test_temporary_upn_is_accepted_and_flagged(samples: Path) -> None:
    feed = read_feed(samples / "day1")
    nia = next(person for person in feed.persons if person.source_id == "stu-012")
    assert nia.temporary_upn and nia.mis_id.endswith("T")
    assert nia.mail is None


def test_person_records_carry_file_row_enrolments_and_dates(samples: Path) -> None:
    feed = read_feed(samples / "day2")
    seren = next(person for person in feed.persons if person.source_id == "stu-004")
    assert (seren.source.file, seren.source.row) == ("users.csv", 5)
    assert {(e.school, e.begin, e.end) for e in seren.enrolments} == {
        ("6812001", date(2026, 9, 1), date(2026, 11, 27)),
        ("6814050", date(2026, 11, 30), date(2027, 7, 20)),
    }
    assert seren.schools == ("6814050",)


def test_former_upn_from_user_ids_is_kept_for_matching(samples: Path) -> None:
    feed = read_feed(samples / "day2")
    nia = next(person for person in feed.persons if person.source_id == "stu-012")
    assert not nia.temporary_upn
    assert nia.former_mis_ids == ("P68140502600T",)


def test_delta_sample_reads_statuses_and_dates_last_modified(samples: Path) -> None:
    feed = read_feed(samples / "day2-delta")
    assert feed.users_mode is FileMode.DELTA
    statuses = {person.source_id: person.status for person in feed.persons}
    assert statuses == {
        "stu-005": RowStatus.TO_BE_DELETED,
        "stu-006": RowStatus.TO_BE_DELETED,
        "tch-003": RowStatus.ACTIVE,
    }
    assert all(person.last_modified == datetime(2026, 11, 28, 17, 45, tzinfo=UTC) for person in feed.persons)
    # No feed.date in its manifest: the newest dateLastModified, as a London calendar date.
    assert (feed.feed_date, feed.feed_date_source) == (date(2026, 11, 28), "dateLastModified")


def test_zip_and_folder_give_the_same_feed(samples: Path, zip_of, copy_sample) -> None:
    for name in ("day1", "day2", "day2-delta"):
        folder = copy_sample(name)
        from_folder = read_feed(folder)
        for inner in ("", f"{name}/"):
            from_zip = read_feed(zip_of(folder, inner))
            assert from_zip.persons == from_folder.persons
            assert from_zip.errors == from_folder.errors
            assert from_zip.schools == from_folder.schools
            assert from_zip.feed_date == from_folder.feed_date


def test_other_files_of_the_package_are_ignored(samples: Path) -> None:
    assert (samples / "day1" / "classes.csv").exists()
    read_feed(samples / "day1")  # classes.csv is declared bulk and not read


def test_feed_date_falls_back_to_the_users_file_mtime(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("stu-1"))
    noon = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
    os.utime(folder / "users.csv", (noon, noon))
    feed = read_feed(folder, timezone=ZoneInfo("Europe/London"))
    assert (feed.feed_date, feed.feed_date_source) == (date(2026, 11, 20), "mtime")


def test_feed_date_of_a_zip_comes_from_the_member_time(write_package, tmp_path: Path) -> None:
    folder = write_package(users=USERS_HEADER + user("stu-1"))
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.iterdir():
            info = zipfile.ZipInfo(path.name, date_time=(2026, 11, 21, 23, 30, 0))
            zipped.writestr(info, path.read_bytes())
    assert read_feed(archive).feed_date == date(2026, 11, 21)


# --- Malformed rows: each rejected with file, row and reason; the rest kept ---------------


def test_row_with_too_few_fields_is_a_missing_column(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1") + "stu-2,,,true,org-a,student\n"))
    assert [(e.file, e.row, e.kind) for e in feed.errors] == [("users.csv", 3, RowErrorKind.MISSING_COLUMN)]
    assert "missing" in feed.errors[0].reason and "givenName" in feed.errors[0].reason
    assert [person.source_id for person in feed.persons] == ["stu-1"]


def test_row_with_too_many_fields_is_rejected(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1").rstrip("\n") + ",extra\n"))
    assert kinds(feed) == [RowErrorKind.MISSING_COLUMN]


def test_empty_required_value_is_a_missing_column(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1", family="")))
    assert kinds(feed) == [RowErrorKind.MISSING_COLUMN]
    assert "familyName" in feed.errors[0].reason


def test_learner_without_any_upn_is_a_missing_column(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1", identifier="")))
    assert kinds(feed) == [RowErrorKind.MISSING_COLUMN]
    assert "no UPN" in feed.errors[0].reason


def test_unknown_role_is_rejected_and_guardians_are_skipped_quietly(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("x-1", role="headmaster")
                                   + user("p-1", role="parent", identifier="P1")))
    assert kinds(feed) == [RowErrorKind.UNKNOWN_ROLE]
    assert "'headmaster'" in feed.errors[0].reason
    assert feed.ignored_rows == 1 and feed.persons == ()


def test_invalid_upn_is_rejected_and_remembered(write_package) -> None:
    wrong = "A" + UPN_A[1:] if UPN_A[0] != "A" else "B" + UPN_A[1:]
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1", identifier=wrong)))
    assert kinds(feed) == [RowErrorKind.INVALID_UPN]
    assert feed.errors[0].identifier == wrong and wrong in feed.rejected_ids


def test_temporary_upn_is_refused_when_configured(write_package) -> None:
    temporary = make_upn("68100012600T")
    folder = write_package(users=USERS_HEADER + user("stu-1", identifier=temporary))
    assert read_feed(folder).persons[0].temporary_upn
    feed = read_feed(folder, MisSettings(accept_temporary_upns=False))
    assert kinds(feed) == [RowErrorKind.INVALID_UPN]


def test_unknown_org_in_users_is_rejected(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1", org="org-zzz")))
    assert kinds(feed) == [RowErrorKind.UNKNOWN_ORG]
    assert "org-zzz" in feed.errors[0].reason


def test_unknown_school_in_enrollments_is_rejected(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("stu-1"),
                           enrollments=ENROLLMENTS_HEADER + enrolment("e-1", "stu-1", school="org-zzz"))
    feed = read_feed(folder)
    assert [(e.file, e.row, e.kind) for e in feed.errors] == [
        ("enrollments.csv", 2, RowErrorKind.UNKNOWN_ORG)
    ]
    assert feed.persons[0].enrolments == ()


def test_bad_dates_are_rejected(write_package) -> None:
    folder = write_package(
        users=USERS_HEADER + user("stu-1"),
        enrollments=ENROLLMENTS_HEADER
        + enrolment("e-1", "stu-1", end="20/07/2027")
        + enrolment("e-2", "stu-1", begin="2026-09-01", end="2026-08-01")
        + enrolment("e-3", "stu-1"),
    )
    feed = read_feed(folder)
    assert [(e.row, e.kind) for e in feed.errors] == [(2, RowErrorKind.BAD_DATE), (3, RowErrorKind.BAD_DATE)]
    assert "is before beginDate" in feed.errors[1].reason
    assert [e.source_id for e in feed.persons[0].enrolments] == ["e-3"]


def test_enrolment_of_an_unknown_user_is_rejected(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("stu-1"),
                           enrollments=ENROLLMENTS_HEADER + enrolment("e-1", "stu-9"))
    assert kinds(read_feed(folder)) == [RowErrorKind.UNKNOWN_USER]


DELTA_MANIFEST = (
    "propertyName,value\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,delta\nfile.enrollments,absent\n"
)


def test_delta_rows_need_a_status_and_a_date_last_modified(write_package) -> None:
    folder = write_package(
        manifest=DELTA_MANIFEST,
        users=USERS_HEADER
        + user("stu-1", status="active", modified="2026-11-28T10:00:00Z")
        + user("stu-2", identifier=UPN_B, status="gone", modified="2026-11-28T10:00:00Z")
        + user("stu-3", identifier=make_upn("681000126003"), status="active", modified="")
        + user("stu-4", identifier=make_upn("681000126004"), status="active", modified="yesterday"),
        enrollments=None,
    )
    feed = read_feed(folder)
    assert [(e.row, e.kind) for e in feed.errors] == [
        (3, RowErrorKind.BAD_STATUS), (4, RowErrorKind.MISSING_COLUMN), (5, RowErrorKind.BAD_DATE),
    ]
    assert [person.source_id for person in feed.persons] == ["stu-1"]
    assert feed.enrollments_mode is FileMode.ABSENT


def test_bulk_row_marked_tobedeleted_is_rejected(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1", status="tobedeleted")))
    assert kinds(feed) == [RowErrorKind.BAD_STATUS]


def test_two_rows_with_one_upn_are_both_rejected(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1") + user("stu-2", given="Other")))
    assert [(e.row, e.kind) for e in feed.errors] == [
        (2, RowErrorKind.DUPLICATE), (3, RowErrorKind.DUPLICATE)
    ]
    assert feed.persons == () and UPN_A in feed.rejected_ids


def test_person_with_no_school_is_rejected(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("t-1", role="teacher", org="org-la",
                                                             identifier="STF-1")))
    assert kinds(feed) == [RowErrorKind.NO_SCHOOL]


def test_staff_are_identified_by_the_configured_column(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("t-1", role="teacher", identifier="STF-1",
                                                     email="t1@example.org"))
    assert read_feed(folder).persons[0].mis_id == "STF-1"
    by_source = read_feed(folder, MisSettings(staff_id_column="sourcedId"))
    assert by_source.persons[0].mis_id == "t-1"


def test_role_mapping_is_configurable(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("x-1", role="proctor", identifier="PR-1"))
    assert read_feed(folder).ignored_rows == 1
    custom = MisSettings(roles={"student": Role.LEARNER, "proctor": Role.STAFF}, ignored_roles=frozenset())
    assert read_feed(folder, custom).persons[0].role is Role.STAFF


def test_school_number_column_is_configurable(write_package) -> None:
    orgs = "sourcedId,status,dateLastModified,name,type,identifier,schoolNumber\norg-a,,,A,school,X,6810999\n"
    folder = write_package(orgs=orgs, users=USERS_HEADER + user("stu-1"))
    assert read_feed(folder, MisSettings(school_id_column="schoolNumber")).covered_schools == {"6810999"}


# --- Broken packages: FeedError naming the file, nothing planned ---------------------------


@pytest.mark.parametrize(
    ("files", "file", "message"),
    [
        ({"manifest": None}, "manifest.csv", "missing"),
        ({"manifest": "name,val\nfile.users,bulk\n"}, "manifest.csv", "lacks the column"),
        ({"manifest": "propertyName,value\nfile.orgs,bulk\nfile.users,sometimes\n"},
         "manifest.csv", "expected bulk, delta or absent"),
        ({"manifest": "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\n"},
         "manifest.csv", "OneRoster 1.1"),
        ({"manifest": "propertyName,value\nfile.orgs,bulk\nfile.users,absent\n"}, "users.csv", "absent"),
        ({"users": None}, "users.csv", "lacks it"),
        ({"orgs": None}, "orgs.csv", "lacks it"),
        ({"users": "sourcedId,role,givenName\n"}, "users.csv", "lacks the column"),
        ({"users": ""}, "users.csv", "empty file"),
        ({"orgs": "sourcedId,name,type\n"}, "orgs.csv", "identifier"),
    ],
)
def test_broken_package_raises_feed_error_naming_the_file(write_package, files, file, message) -> None:
    with pytest.raises(FeedError) as raised:
        read_feed(write_package(**files))
    assert raised.value.file == file
    assert message in str(raised.value)


def test_non_utf8_users_file_is_a_feed_error(write_package) -> None:
    folder = write_package()
    latin1_row = "stu-1,,,true,org-a,student,,,Siân".encode("latin-1")
    (folder / "users.csv").write_bytes(USERS_HEADER.encode() + latin1_row)
    with pytest.raises(FeedError, match="users.csv: not UTF-8"):
        read_feed(folder)


def test_path_that_is_neither_folder_nor_zip_is_a_feed_error(tmp_path: Path) -> None:
    not_zip = tmp_path / "feed.zip"
    not_zip.write_text("hello")
    with pytest.raises(FeedError, match="not a folder or a .zip"):
        read_feed(not_zip)
    with pytest.raises(FeedError, match="no such"):
        read_feed(tmp_path / "absent")


def test_byte_order_mark_from_excel_is_accepted(write_package) -> None:
    folder = write_package(users=USERS_HEADER + user("stu-1"))
    (folder / "users.csv").write_bytes(b"\xef\xbb\xbf" + (folder / "users.csv").read_bytes())
    assert len(read_feed(folder).persons) == 1


def test_bulk_rows_dates_last_modified_never_backdate_the_feed_date(write_package) -> None:
    # Some exporters fill dateLastModified in bulk files: it says when a record changed, not the export.
    folder = write_package(users=USERS_HEADER + user("stu-1", modified="2025-01-01T00:00:00Z"))
    noon = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
    os.utime(folder / "users.csv", (noon, noon))
    feed = read_feed(folder)
    assert (feed.feed_date, feed.feed_date_source) == (date(2026, 11, 20), "mtime")
    assert feed.persons[0].last_modified == datetime(2025, 1, 1, tzinfo=UTC)


def test_cut_off_row_still_protects_its_person_from_being_taken_for_a_leaver(write_package) -> None:
    cut = user("stu-2", identifier=UPN_B).split(",")[:13]  # ends after the email column
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1") + ",".join(cut) + "\n"))
    assert [(e.row, e.kind) for e in feed.errors] == [(3, RowErrorKind.MISSING_COLUMN)]
    assert UPN_B in feed.rejected_ids


def test_row_with_an_unknown_role_still_names_its_person(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("x-1", role="headteacher", identifier="STF-9")))
    assert kinds(feed) == [RowErrorKind.UNKNOWN_ROLE]
    assert "STF-9" in feed.rejected_ids


# --- Feeds as real exporters write them (issue 11, item 5) -------------------------------------


@pytest.mark.parametrize("bad", ["Al\x00ed", "Al\x1b[31med", "Aled\x7f", "Al\u0085ed", "\"Al\ned\""])
def test_a_control_character_rejects_its_row_with_file_and_row_and_the_others_apply(write_package, bad):
    users = (USERS_HEADER + user("stu-1", given=bad) + user("stu-2", identifier=UPN_B)
             + user("stu-3", identifier=make_upn("681000126003"), given="Tab\tIs Fine"))
    feed = read_feed(write_package(users=users))
    [error] = feed.errors
    assert (error.file, error.row, error.kind) == ("users.csv", 2, RowErrorKind.CONTROL_CHARACTER)
    assert "column givenName holds the control character U+" in error.reason
    assert [person.source_id for person in feed.persons] == ["stu-2", "stu-3"]
    assert feed.persons[1].given_name == "Tab\tIs Fine"
    # The rejected row's person is never taken for a leaver: its identifier is known as rejected.
    assert UPN_A in feed.rejected_ids


def test_a_control_character_in_orgs_or_enrollments_rejects_that_row(write_package):
    users = USERS_HEADER + user("stu-1") + user("stu-2", identifier=UPN_B)
    enrollments = (ENROLLMENTS_HEADER + enrolment("enr-1", "stu-1", begin="2026-09-01\x00")
                   + enrolment("enr-2", "stu-2"))
    feed = read_feed(write_package(users=users, enrollments=enrollments))
    assert [(error.file, error.row, error.kind) for error in feed.errors] == [
        ("enrollments.csv", 2, RowErrorKind.CONTROL_CHARACTER)]
    assert {person.source_id for person in feed.persons} == {"stu-1", "stu-2"}


def test_an_oversized_field_rejects_its_row_not_the_package(write_package):
    huge = "x" * (200 * 1024)
    users = (USERS_HEADER + user("stu-1", family=huge) + user("stu-2", identifier=UPN_B)
             + user("stu-3", identifier=make_upn("681000126003"), family=f'"{huge}\nmore"'))
    feed = read_feed(write_package(users=users))
    assert [(error.row, error.kind) for error in feed.errors] == [
        (2, RowErrorKind.OVERSIZED_FIELD), (4, RowErrorKind.OVERSIZED_FIELD)]
    assert "column familyName holds 204800 characters" in feed.errors[0].reason
    assert [person.source_id for person in feed.persons] == ["stu-2"]
    assert UPN_A in feed.rejected_ids
    import csv

    assert csv.field_size_limit() == 128 * 1024  # the process-wide limit is given back


def test_feed_date_from_file_times_comes_with_a_warning(write_package) -> None:
    feed = read_feed(write_package(users=USERS_HEADER + user("stu-1")))
    assert feed.feed_date_source == "mtime"
    [warning] = feed.warnings
    assert "taken from users.csv's file time" in warning and "feed.date" in warning
    assert "--feed-date" in warning


def test_feed_date_from_the_manifest_has_no_warning(samples: Path) -> None:
    feed = read_feed(samples / "day1")
    assert feed.feed_date_source == "manifest" and feed.warnings == ()
