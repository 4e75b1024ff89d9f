"""The demo local authority that seeds the embedded directory.

Deterministic (seeded) and dated relative to `now`, so that the first sweep on
a fresh demo always has something to show for every rule: leavers, a learner
who moved school, a staff leaver waiting for the service desk, leavers of 13
months ago, non-MIS accounts of every type with expiries past, near and far,
never-used and long-idle accounts, one malformed entry, one protected account
and one entry outside the base DN.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from agent.core.dates import add_months, start_of_day
from agent.core.model import NonMisType, Reason
from agent.directory import codecs
from agent.directory.flavours import flavour_for
from agent.directory.mapping import EntryMapper
from agent.settings.config import Config

GIVEN = ["Aled", "Bethan", "Carys", "Dafydd", "Eleri", "Ffion", "Gethin", "Heledd", "Iwan", "Lowri",
         "Megan", "Nia", "Osian", "Rhys", "Siân", "Tomos", "Ceri", "Elin", "Gareth", "Mali"]
FAMILY = ["Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan",
          "Griffiths", "Price", "Owen", "Rees", "Jenkins", "Powell", "Pritchard"]
# None of these is a school of the sample OneRoster feeds (tests/data/oneroster), so importing
# them into the demo (README, "MIS provisioning") leaves the generated accounts alone.
SCHOOLS = ["6812003", "6812002", "6814003", "6816004"]

Entry = tuple[str, dict[str, list[str]]]


class _Builder:
    def __init__(self, config: Config, now: datetime):
        self.config = config
        self.now = now
        self.today = config.policy.today(now)
        self.mapper = EntryMapper(config.attributes, flavour_for(config.directory.flavour))
        self.random = random.Random(681)
        self.serial = 0
        self.entries: list[Entry] = []

    def instant(self, day: date, hour: int = 9) -> datetime:
        return start_of_day(day, self.config.policy.timezone) + timedelta(hours=hour)

    def days_ago(self, count: int) -> date:
        return self.today - timedelta(days=count)

    def person(self, ou: str, prefix: str, fields: dict[str, Any], *, enabled: bool = True,
               created: date | None = None, last_sign_in: date | None = None,
               uid: str | None = None, base: str | None = None) -> str:
        self.serial += 1
        given = self.random.choice(GIVEN)
        family = self.random.choice(FAMILY)
        uid = uid or f"{prefix}{given[0].lower()}{family.lower()}{self.serial:04d}"
        dn = f"uid={uid},ou={ou},{base or self.config.directory.base_dn}"
        values = {
            "uid": uid,
            "given_name": given,
            "surname": family,
            "display_name": f"{given} {family}",
            "mail": f"{uid}@hwbdemo.example",
            "local_authority": self.config.local_authority.code,
            **fields,
        }
        attributes = self.mapper.entry_attributes(values)
        attributes["objectClass"] = ["inetOrgPerson", "hwbAccount"]
        created_on = created or self.days_ago(400)
        attributes[self.mapper.attribute("created_at")] = [
            codecs.encode(self.mapper.attributes["created_at"].encoding, self.instant(created_on, 8))
        ]
        if last_sign_in is not None:
            spec = self.mapper.attributes["last_sign_in"]
            attributes[spec.name] = [codecs.encode(spec.encoding, self.instant(last_sign_in, 10))]
        if not enabled:
            for attribute, _, state_values in self.mapper.flavour.write(False, None).operations:
                attributes[attribute] = list(state_values)
        self.entries.append((dn, attributes))
        return dn

    def organisational_unit(self, dn: str) -> None:
        name = dn.split(",", 1)[0].split("=", 1)[1]
        self.entries.append((dn, {"objectClass": ["organizationalUnit"], "ou": [name]}))


def demo_entries(config: Config, now: datetime) -> list[Entry]:
    """Every entry of the demo directory, parents first."""
    builder = _Builder(config, now)
    base = config.directory.base_dn
    parent = base.split(",", 1)[1] if "," in base else base
    for dn in [base, f"ou=learners,{base}", f"ou=staff,{base}", f"ou=non-mis,{base}",
               f"ou=elsewhere,{parent}"]:
        builder.organisational_unit(dn)
    list(_mis_accounts(builder))
    list(_non_mis_accounts(builder))
    _special_cases(builder)
    _console_accounts(builder)  # after the others: their random names stay as they were
    builder.entries.extend(admin_entries(config))
    return builder.entries


def _mis(role: str, school: str, **extra: object) -> dict[str, Any]:
    return {"category": "mis", "role": role, "school": school, **extra}


def _left(builder: _Builder, when: date) -> dict[str, Any]:
    return {"disabled_reason": Reason.LEFT.value, "disabled_at": builder.instant(when, 2)}


def _mis_accounts(b: _Builder) -> Iterator[str]:
    upn = 0

    def learner(**extra: object) -> dict[str, Any]:
        nonlocal upn
        upn += 1
        return _mis("learner", b.random.choice(SCHOOLS), mis_id=f"A68120{upn:07d}", **extra)

    for _ in range(180):  # MIS-1: current learners
        yield b.person("learners", "", learner(), last_sign_in=b.days_ago(b.random.randint(0, 30)))
    for _ in range(12):  # MIS-1 with a leaving date still to come
        leaving = b.today + timedelta(days=b.random.randint(1, 60))
        yield b.person("learners", "", learner(leaving_date=leaving))
    for back in (0, 1, 3, 7, 20, 45):  # MIS-2: leaving date today or earlier
        yield b.person("learners", "", learner(leaving_date=b.days_ago(back)))
    for _ in range(3):  # MIS-3: disabled leavers now enrolled elsewhere (leaving date withdrawn)
        yield b.person("learners", "", learner(**_left(b, b.days_ago(40))), enabled=False)
    for months in (13, 14):  # MIS-5: leavers beyond retention
        left_on = add_months(b.today, -months)
        yield b.person("learners", "", learner(leaving_date=left_on, **_left(b, left_on)), enabled=False)
    for months in (6, 11):  # MIS-2 leavers still within retention
        left_on = add_months(b.today, -months)
        yield b.person("learners", "", learner(leaving_date=left_on, **_left(b, left_on)), enabled=False)

    def staff(**extra: object) -> dict[str, Any]:
        return _mis("staff", b.random.choice(SCHOOLS), mis_id=f"STF{b.serial:05d}", **extra)

    for _ in range(30):  # MIS-1: current staff
        yield b.person("staff", "", staff(), last_sign_in=b.days_ago(b.random.randint(0, 10)))
    for back in (0, 5):  # MIS-2: staff leavers
        yield b.person("staff", "", staff(leaving_date=b.days_ago(back)))
    for _ in range(2):  # MIS-4: staff leavers current again, waiting for the service desk
        yield b.person("staff", "", staff(**_left(b, b.days_ago(30))), enabled=False)
    # MIS-2: reactivated by the service desk after the leaving date: not disabled again.
    left_on = b.days_ago(20)
    yield b.person("staff", "", staff(
        leaving_date=left_on, reactivated_at=b.instant(b.days_ago(10)),
        reactivated_by="servicedesk.jane", reactivation_ticket="HWB-104233"))
    left_on = add_months(b.today, -13)  # MIS-5: staff leaver beyond retention
    yield b.person("staff", "", staff(leaving_date=left_on, **_left(b, left_on)), enabled=False)


def _non_mis(kind: NonMisType, expiry: date, duration: str = "3m", **extra: object) -> dict[str, Any]:
    return {"category": "non-mis", "non_mis_type": kind.value, "expiry_date": expiry,
            "duration": duration, "sponsor": "admin.cardiff", **extra}


def _non_mis_accounts(b: _Builder) -> Iterator[str]:
    types = list(NonMisType)
    for index, kind in enumerate(types):
        sponsor = ["admin.cardiff", "head.6812003", "head.6814003"][index % 3]
        # Active, expiring far in the future, used last week.
        yield b.person("non-mis", "nm", _non_mis(kind, b.today + timedelta(days=150), sponsor=sponsor),
                       created=b.days_ago(60), last_sign_in=b.days_ago(7))
        # NM-8: due to expire within 8 weeks.
        yield b.person("non-mis", "nm", _non_mis(kind, b.today + timedelta(days=7 * (index + 1)),
                                                 sponsor=sponsor),
                       created=b.days_ago(80), last_sign_in=b.days_ago(2))
        # NM-3: expiry date passed.
        yield b.person("non-mis", "nm", _non_mis(kind, b.days_ago(index + 1), sponsor=sponsor),
                       created=b.days_ago(100), last_sign_in=b.days_ago(3))
    # NM-3 boundary: expires today, still usable today.
    yield b.person("non-mis", "nm", _non_mis(NonMisType.SUPPLY_TEACHER, b.today), created=b.days_ago(30),
                   last_sign_in=b.days_ago(1))
    # NM-4: never used, created 95 days ago; long idle; reactivated 10 days ago (fresh 90 days).
    yield b.person("non-mis", "nm", _non_mis(NonMisType.GOVERNOR, b.today + timedelta(days=120)),
                   created=b.days_ago(95))
    yield b.person("non-mis", "nm", _non_mis(NonMisType.CONSORTIUM_STAFF, b.today + timedelta(days=200)),
                   created=b.days_ago(300), last_sign_in=b.days_ago(130))
    yield b.person("non-mis", "nm", _non_mis(NonMisType.LA_STAFF, b.today + timedelta(days=200),
                                             reactivated_at=b.instant(b.days_ago(10)),
                                             reactivated_by="admin.cardiff"),
                   created=b.days_ago(300), last_sign_in=b.days_ago(200))
    # NM-7: disabled 13 months ago (purge); disabled 2 months ago (kept).
    for months, reason in ((13, Reason.EXPIRED), (2, Reason.INACTIVE)):
        disabled_on = add_months(b.today, -months)
        yield b.person("non-mis", "nm", _non_mis(
            NonMisType.STAKEHOLDER, disabled_on - timedelta(days=1),
            disabled_reason=reason.value, disabled_at=b.instant(disabled_on, 2)),
            enabled=False, created=add_months(b.today, -months - 6))
    # NM-2: a non-MIS account for a learner (by role).
    yield b.person("non-mis", "nm", _non_mis(NonMisType.TEMPORARY_STAFF, b.today + timedelta(days=50),
                                             role="learner"),
                   created=b.days_ago(20), last_sign_in=b.days_ago(1))
    # C-1: a portal asked for this expired governor to be activated with a 3-month extension.
    yield b.person("non-mis", "nm", _non_mis(
        NonMisType.GOVERNOR, b.days_ago(30), disabled_reason=Reason.EXPIRED.value,
        disabled_at=b.instant(b.days_ago(29), 2),
        activation_requested_at=b.instant(b.today, 7), activation_requested_by="portal:admin.cardiff",
        activation_duration="3m"), enabled=False, created=b.days_ago(200))


def _special_cases(b: _Builder) -> None:
    # NM-2 by identity: a non-MIS account using a current learner's mail.
    learner_attributes = next(
        attributes for _, attributes in b.entries
        if attributes.get(b.mapper.attribute("role")) == ["learner"]
    )
    mail = learner_attributes[b.mapper.attribute("mail")][0]
    b.person("non-mis", "nm", _non_mis(NonMisType.SERVICE, b.today + timedelta(days=60), mail=mail),
             created=b.days_ago(10), last_sign_in=b.days_ago(1), uid="scanner-learner-mail")
    # A leaver of 13 months ago with content below the account entry: purged as a subtree.
    left_on = add_months(b.today, -13)
    leaver = b.person("learners", "", _mis("learner", SCHOOLS[0], mis_id="B681200000099",
                                           leaving_date=left_on, **_left(b, left_on)), enabled=False)
    b.entries.append((f"cn=drive,{leaver}", {"objectClass": ["applicationProcess"], "cn": ["drive"]}))
    # C-7: an unparsable leaving date and an unknown non-MIS type.
    b.person("learners", "", _mis("learner", SCHOOLS[1], mis_id="C681200000100"), uid="malformed.date")
    b.entries[-1][1][b.mapper.attribute("leaving_date")] = ["31/07/2026"]
    b.person("non-mis", "nm", _non_mis(NonMisType.GOVERNOR, b.days_ago(5)), uid="malformed.type")
    b.entries[-1][1][b.mapper.attribute("non_mis_type")] = ["wizard"]
    # C-2: the break-glass administrator, expired long ago but protected.
    b.person("non-mis", "", _non_mis(NonMisType.LA_STAFF, b.days_ago(400)), uid="hwb-breakglass",
             created=b.days_ago(900))
    # C-3: an expired account of another local authority, outside the base DN.
    parent = b.config.directory.base_dn.split(",", 1)[1]
    b.person("elsewhere", "", _non_mis(NonMisType.GOVERNOR, b.days_ago(50)), uid="other-la.governor",
             base=parent)


# --- The administrators' console (issue 13): its demo administrators and their accounts -----------

# DEMO ONLY: every demo administrator signs in with this password (README says so).
DEMO_PASSWORD = "demo-password"
# The school whose administrator is admin.ysgol; not one of SCHOOLS (no MIS account of the demo is
# there), so only the non-MIS accounts below are in it.
CONSOLE_SCHOOL = "6812001"


def _admins_base(config: Config) -> str:
    base = config.directory.base_dn
    return base.split(",", 1)[1] if "," in base else base


def admin_groups(config: Config) -> dict[str, str]:
    """The demo's groups: the config/demo.yaml `web.roles` name these DNs."""
    parent = _admins_base(config)
    return {"la_admins": f"cn=hwb-la-admins,ou=groups,{parent}",
            "service_desk": f"cn=hwb-service-desk,ou=groups,{parent}",
            "school_admins": f"cn=school-admins-{CONSOLE_SCHOOL},ou=groups,{parent}"}


def admin_entries(config: Config) -> list[Entry]:
    """ou=admins beside ou=people: the console's three demo administrators (password DEMO_PASSWORD)
    and the other sponsors the demo names (with a mail, for the reminders of issue 14), each a
    person only, not a managed account; ou=groups with the groups of web.roles (groupOfNames)."""
    parent = _admins_base(config)
    admins = f"ou=admins,{parent}"
    entries: list[Entry] = [
        (admins, {"objectClass": ["organizationalUnit"], "ou": ["admins"]}),
        (f"ou=groups,{parent}", {"objectClass": ["organizationalUnit"], "ou": ["groups"]})]
    people = [
        ("admin.cardiff", "Catrin", "Howells", "Cardiff local authority administrator", True),
        ("admin.ysgol", "Emyr", "Parry", f"School administrator of school {CONSOLE_SCHOOL}", True),
        ("servicedesk.demo", "Sioned", "Bowen", "Hwb service desk", True),
        ("head.6812003", "Owain", "Llywelyn", "Head teacher, school 6812003", False),
        ("head.6814003", "Angharad", "Tudur", "Head teacher, school 6814003", False),
    ]
    dns: dict[str, str] = {}
    for uid, given, surname, title, signs_in in people:
        dn = f"uid={uid},{admins}"
        dns[uid] = dn
        attributes: dict[str, list[str]] = {
            "objectClass": ["inetOrgPerson"], "uid": [uid], "cn": [f"{given} {surname}"],
            "givenName": [given], "sn": [surname], "displayName": [f"{given} {surname}"],
            "mail": [f"{uid}@hwbdemo.example"], "title": [title]}
        if signs_in:
            attributes["userPassword"] = [DEMO_PASSWORD]
        entries.append((dn, attributes))
    groups = admin_groups(config)
    for key, uid in (("la_admins", "admin.cardiff"), ("service_desk", "servicedesk.demo"),
                     ("school_admins", "admin.ysgol")):
        dn = groups[key]
        entries.append((dn, {"objectClass": ["groupOfNames"], "cn": [dn.split(",", 1)[0][3:]],
                             "member": [dns[uid]]}))
    return entries


def _console_accounts(b: _Builder) -> None:
    """Non-MIS accounts of school CONSOLE_SCHOOL sponsored by its administrator, admin.ysgol: one
    active, one expiring within the banner's 8 weeks, one expired (Active = N, to activate with an
    extension: the seed's procedure), one disabled for inactivity (activate without extension)."""
    def school(kind: NonMisType, expiry: date, **extra: object) -> dict[str, Any]:
        return _non_mis(kind, expiry, "3m", sponsor="admin.ysgol", school=CONSOLE_SCHOOL, **extra)

    b.person("non-mis", "nm", school(NonMisType.SUPPLY_TEACHER, b.today + timedelta(days=120)),
             created=b.days_ago(40), last_sign_in=b.days_ago(3), uid="supply.ysgol")
    b.person("non-mis", "nm", school(NonMisType.GOVERNOR, b.today + timedelta(days=20)),
             created=b.days_ago(70), last_sign_in=b.days_ago(5), uid="governor.ysgol")
    b.person("non-mis", "nm", school(NonMisType.TEMPORARY_STAFF, b.days_ago(12),
                                     disabled_reason=Reason.EXPIRED.value,
                                     disabled_at=b.instant(b.days_ago(11), 2)),
             enabled=False, created=b.days_ago(120), uid="temp.ysgol")
    b.person("non-mis", "nm", school(NonMisType.STAKEHOLDER, b.today + timedelta(days=90),
                                     disabled_reason=Reason.INACTIVE.value,
                                     disabled_at=b.instant(b.days_ago(4), 2)),
             enabled=False, created=b.days_ago(200), last_sign_in=b.days_ago(95), uid="visitor.ysgol")
