"""Builders and a fake apply shared by the MIS tests (plain values, no directory)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from agent.core.mis.feed import Enrolment, Feed, FeedPerson, FileMode, RowStatus, School, SourceRow
from agent.core.mis.plan import ActionKind, ProvisioningPlan
from agent.core.mis.upn import make_upn
from agent.core.model import Account, Category, Reason, Role

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "oneroster"
BASE_DN = "ou=people,dc=example,dc=org"

MANIFEST_BULK = (
    "propertyName,value\n"
    "manifest.version,1.0\n"
    "oneroster.version,1.1\n"
    "file.orgs,bulk\n"
    "file.users,bulk\n"
    "file.enrollments,bulk\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "org-la,,,Cardiff Council,district,681,\n"
    "org-a,,,School A,school,6810001,org-la\n"
    "org-b,,,School B,school,6810002,org-la\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
ENROLLMENTS_HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate\n"
)


def apply_plan(accounts: Iterable[Account], plan: ProvisioningPlan) -> list[Account]:
    """What the directory holds after the plan's (not held) actions: a hand-written fake apply."""
    by_dn = {account.dn: account for account in accounts}
    for action in plan.actions:
        fields = action.fields
        if action.kind is ActionKind.CREATE:
            dn = f"uid={action.uid},{action.container},{BASE_DN}"
            assert dn not in by_dn
            by_dn[dn] = Account(
                dn=dn,
                uid=action.uid,
                category=Category(fields["category"]),
                enabled=True,
                role=Role(fields["role"]),
                mis_id=fields["mis_id"],
                school=fields["school"],
                given_name=fields["given_name"],
                surname=fields["surname"],
                display_name=fields["display_name"],
                mail=fields.get("mail"),
                leaving_date=fields.get("leaving_date"),
            )
        else:
            assert action.dn is not None
            by_dn[action.dn] = replace(by_dn[action.dn], **fields)
    return list(by_dn.values())


# --- Plain-value builders for planner tests ----------------------------------------------

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SCHOOL_A, SCHOOL_B, SCHOOL_C = "6810001", "6810002", "6810003"


def upn(serial: int) -> str:
    return make_upn(f"6810001260{serial:02d}")


def person(serial: int, *, role: Role = Role.LEARNER, school: str = SCHOOL_A, given: str = "Aled",
           family: str = "Jones", mail: str | None = None, status: RowStatus | None = None,
           enrolments: tuple[Enrolment, ...] = (), modified_on: date | None = None, row: int | None = None,
           former: tuple[str, ...] = (), mis_id: str | None = None) -> FeedPerson:
    return FeedPerson(
        source_id=f"u-{serial}",
        oneroster_role="student" if role is Role.LEARNER else "teacher",
        role=role,
        mis_id=mis_id or (upn(serial) if role is Role.LEARNER else f"STF-{serial}"),
        given_name=given,
        family_name=family,
        mail=mail,
        schools=(school,),
        enrolments=enrolments,
        status=status,
        last_modified=None,
        source=SourceRow("users.csv", row or serial + 1),
        former_mis_ids=former,
        last_modified_on=modified_on,
    )


def enrolment(school: str, begin: date | None = date(2026, 9, 1), end: date | None = None,
              primary: bool = False, row: int = 2) -> Enrolment:
    return Enrolment(f"e-{school}-{row}", school, begin, end, primary, SourceRow("enrollments.csv", row))


def feed(*persons: FeedPerson, users: FileMode = FileMode.BULK, enrollments: FileMode = FileMode.BULK,
         schools: tuple[str, ...] = (SCHOOL_A, SCHOOL_B), rejected: frozenset[str] = frozenset(),
         feed_date: date = TODAY) -> Feed:
    return Feed(
        location="test",
        users_mode=users,
        orgs_mode=FileMode.BULK,
        enrollments_mode=enrollments,
        schools=tuple(School(f"org-{n}", n, n, SourceRow("orgs.csv", 2)) for n in schools),
        persons=persons,
        errors=(),
        feed_date=feed_date,
        feed_date_source="manifest",
        rejected_ids=rejected,
    )


def account(serial: int, *, role: Role = Role.LEARNER, school: str = SCHOOL_A, given: str = "Aled",
            family: str = "Jones", mail: str | None = None, leaving: date | None = None,
            enabled: bool = True, reason: Reason | None = None, uid: str | None = None,
            mis_id: str | None = None) -> Account:
    uid = uid or f"user{serial}"
    return Account(
        dn=f"uid={uid},ou=mis,ou=people,dc=example,dc=org",
        uid=uid,
        category=Category.MIS,
        enabled=enabled,
        role=role,
        mis_id=mis_id or (upn(serial) if role is Role.LEARNER else f"STF-{serial}"),
        school=school,
        given_name=given,
        surname=family,
        display_name=f"{given} {family}",
        mail=mail,
        leaving_date=leaving,
        disabled_reason=reason,
        disabled_at=NOW if not enabled else None,
    )
