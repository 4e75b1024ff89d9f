"""A deterministic OneRoster 1.1 CSV package of a local authority, for the MIS import benchmark.

`write_feed(folder, users, seed=..., feed_date=...)` writes orgs.csv (the LA as a
district and ~25 schools per 55k users), users.csv (about 90% students with a
valid UPN, check letter from agent/mis/upn.py, in `identifier`; 10% teachers,
aides and administrators identified by `STF-...`), enrollments.csv (one primary
enrolment per person ending with the academic year) and manifest.csv (bulk
files, feed.date). `changed_feed(...)` writes the same package with a share of
the people changed (new surname and mail, or a move to another school), for the
re-import measurement; it returns how many people it changed.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

from agent.core.mis.upn import make_upn

LA_CODE = "681"
GIVEN = ["Aled", "Bethan", "Carys", "Dafydd", "Eleri", "Ffion", "Gethin", "Heledd", "Iwan", "Lowri",
         "Megan", "Nia", "Osian", "Rhys", "Sian", "Tomos", "Ceri", "Elin", "Gareth", "Mali", "Cai",
         "Gwen", "Llyr", "Mared", "Owain", "Sioned", "Tegan", "Wil", "Alys", "Emyr"]
FAMILY = ["Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan",
          "Griffiths", "Price", "Owen", "Rees", "Jenkins", "Powell", "Pritchard", "Edwards", "James",
          "Phillips", "Lloyd", "Parry", "Morris", "Rowlands", "Bowen"]
STAFF_ROLES = ("teacher", "teacher", "teacher", "aide", "administrator")
USERS_PER_SCHOOL = 2_200  # ~25 schools for 55k people
USER_COLUMNS = ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
                "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
                "agentSourcedIds", "grades", "password"]
ENROLMENT_COLUMNS = ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                     "userSourcedId", "role", "primary", "beginDate", "endDate"]
ORG_COLUMNS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]


def _academic_year(feed_date: date) -> tuple[date, date]:
    start_year = feed_date.year if feed_date.month >= 9 else feed_date.year - 1
    return date(start_year, 9, 1), date(start_year + 1, 7, 20)


def people(count: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(orgs, users) rows; users carry their school's sourcedId in orgSourcedIds."""
    rng = random.Random(seed)
    schools = max(2, round(count / USERS_PER_SCHOOL))
    orgs = [{"sourcedId": "org-la", "name": "Benchmark Council", "type": "district", "identifier": LA_CODE,
             "parentSourcedId": ""}]
    for index in range(schools):
        orgs.append({"sourcedId": f"org-{index:02d}", "name": f"Ysgol Benchmark {index:02d}",
                     "type": "school", "identifier": f"{LA_CODE}{2001 + index:04d}",
                     "parentSourcedId": "org-la"})
    users = []
    for serial in range(count):
        school = orgs[1 + serial % schools]
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        if serial % 10 == 9:
            role, identifier, grades = rng.choice(STAFF_ROLES), f"STF-{serial:06d}", ""
        else:
            role, grades = "student", f"{serial % 13:02d}"
            identifier = make_upn(_unique_digits(serial, school))
        users.append({"sourcedId": f"u{serial:06d}", "enabledUser": "true",
                      "orgSourcedIds": school["sourcedId"], "role": role, "username": f"u{serial:06d}",
                      "givenName": given, "familyName": family,
                      "identifier": identifier, "email": f"u{serial:06d}@hwb.example", "grades": grades})
    return orgs, users


def _unique_digits(serial: int, school: dict[str, str]) -> str:
    """Twelve digits unique per person: LA and school number (7) + a five-digit serial."""
    return f"{school['identifier']}{serial % 100_000:05d}"


def write_package(folder: Path, orgs: list[dict[str, str]], users: list[dict[str, str]],
                  feed_date: date) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    begin, end = _academic_year(feed_date)
    _write_csv(folder / "orgs.csv", ORG_COLUMNS, orgs)
    _write_csv(folder / "users.csv", USER_COLUMNS, users)
    enrolments = [{"sourcedId": f"e-{user['sourcedId']}", "classSourcedId": f"cls-{user['orgSourcedIds']}",
                   "schoolSourcedId": user["orgSourcedIds"], "userSourcedId": user["sourcedId"],
                   "role": user["role"], "primary": "false", "beginDate": begin.isoformat(),
                   "endDate": end.isoformat()} for user in users]
    _write_csv(folder / "enrollments.csv", ENROLMENT_COLUMNS, enrolments)
    manifest = [("manifest.version", "1.0"), ("oneroster.version", "1.1"),
                ("file.academicSessions", "absent"), ("file.categories", "absent"),
                ("file.classes", "absent"),
                ("file.classResources", "absent"), ("file.courses", "absent"),
                ("file.courseResources", "absent"), ("file.demographics", "absent"),
                ("file.enrollments", "bulk"), ("file.lineItems", "absent"), ("file.orgs", "bulk"),
                ("file.resources", "absent"), ("file.results", "absent"), ("file.users", "bulk"),
                ("source.systemName", "Benchmark MIS"), ("source.systemCode", "bench-mis"),
                ("feed.date", feed_date.isoformat())]
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["propertyName", "value"])
        writer.writerows(manifest)


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_feed(folder: Path, count: int, *, seed: int, feed_date: date) -> list[dict[str, str]]:
    orgs, users = people(count, seed)
    write_package(folder, orgs, users, feed_date)
    return users


def changed_feed(folder: Path, count: int, *, seed: int, feed_date: date, share: float) -> int:
    """The package of write_feed with `share` of the people changed: two in three a new surname and
    mail (an update), one in three moved to the next school (a move). Returns how many changed."""
    orgs, users = people(count, seed)
    rng = random.Random(seed + 1)
    schools = [org["sourcedId"] for org in orgs if org["type"] == "school"]
    chosen = rng.sample(range(len(users)), round(len(users) * share))
    for number, index in enumerate(chosen):
        user = users[index]
        if number % 3 == 2:
            user["orgSourcedIds"] = schools[(schools.index(user["orgSourcedIds"]) + 1) % len(schools)]
        else:
            user["familyName"] = user["familyName"] + "-Rees"
            user["email"] = f"{user['username']}.new@hwb.example"
    write_package(folder, orgs, users, feed_date)
    return len(chosen)
