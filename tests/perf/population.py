"""A deterministic local authority of N accounts for benchmarks, loaded with `slapadd -q`.

`generate(size, due=..., seed=..., today=...)` yields LDIF records of a
directory that is *converged* on `today` (a routine sweep finds nothing to
change) except for exactly `due` accounts that a sweep on `today` disables or
enables. Shares follow a Welsh local authority: about 89% learners, 9% staff,
2% non-MIS accounts of all seven types. Leaving dates and expiries are spread
over the year with a peak on 31 August; disabled leavers, expired and idle
non-MIS accounts sit within their 12-month retention (so nothing is due for
purge); last sign-ins (`pwdLastSuccess`) and `createTimestamp` are explicit,
which only an offline load can set (LDAP-NOTES.md).

The due accounts are a mix of MIS-2 leavers (leaving date passed, still
enabled), MIS-3 movers (learner disabled as a leaver, MIS record current
again) and NM-3 expiries. `Population.restore_ldif()` puts the attributes a
sweep changes back to their generated values, so one loaded server serves
many runs.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent.core.model import NonMisType
from agent.directory.flavours import PPOLICY_PERMANENT_LOCK

GIVEN = ["Aled", "Bethan", "Carys", "Dafydd", "Eleri", "Ffion", "Gethin", "Heledd", "Iwan", "Lowri",
         "Megan", "Nia", "Osian", "Rhys", "Siân", "Tomos", "Ceri", "Elin", "Gareth", "Mali", "Cai",
         "Gwen", "Llŷr", "Mared", "Owain", "Sioned", "Tegan", "Wil", "Alys", "Emyr"]
FAMILY = ["Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan",
          "Griffiths", "Price", "Owen", "Rees", "Jenkins", "Powell", "Pritchard", "Edwards", "James",
          "Phillips", "Lloyd", "Parry", "Morris", "Rowlands", "Bowen"]
LA_CODE = "681"
SCHOOLS_PER_10K = 25  # about 400 learners a school
SPONSORS = 40
NON_MIS_EVERY = 50  # 2% of accounts
STAFF_EVERY = 11  # about 9% of the rest
# Attributes a sweep writes (disable, enable): restored between benchmark runs.
TOUCHED = ("pwdAccountLockedTime", "hwbDisabledAt", "hwbDisabledReason", "hwbReactivatedAt",
           "hwbReactivatedBy", "hwbReactivationTicket")
SAFE_CHARS = frozenset(chr(code) for code in range(0x20, 0x7F))

Entry = dict[str, list[str]]


def generalized(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def as_date(day: date) -> str:
    return day.strftime("%Y%m%d") + "000000Z"


def ldif_line(name: str, value: str) -> str:
    """One attribute line; values that LDIF cannot carry plainly (non-ASCII, ...) go base64."""
    if value and set(value) <= SAFE_CHARS and value[0] not in " :<" and value[-1] != " ":
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def ldif_record(dn: str, entry: Entry) -> str:
    lines = [ldif_line("dn", dn)]
    for name, values in entry.items():
        lines.extend(ldif_line(name, value) for value in values)
    return "\n".join(lines) + "\n\n"


def modify_record(dn: str, replacements: dict[str, list[str]]) -> str:
    """An LDIF modify record replacing each attribute (no values: delete it if present)."""
    lines = [ldif_line("dn", dn), "changetype: modify"]
    for name, values in replacements.items():
        lines.append(f"replace: {name}")
        lines.extend(ldif_line(name, value) for value in values)
        lines.append("-")
    return "\n".join(lines) + "\n\n"


@dataclass
class Population:
    """What was generated: counts by kind and the due accounts' touched attributes."""

    size: int
    due: int
    today: date
    base_dn: str
    counts: dict[str, int] = field(default_factory=dict)
    due_kinds: dict[str, int] = field(default_factory=dict)
    # dn -> {attribute: values} of TOUCHED, as generated (empty list: absent)
    due_originals: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def restore_ldif(self) -> str:
        return "".join(modify_record(dn, values) for dn, values in self.due_originals.items())


class _Generator:
    def __init__(self, size: int, due: int, seed: int, today: date, base_dn: str):
        if due > size // 5:
            raise ValueError(f"at most a fifth of the accounts can be due ({due} of {size})")
        self.size, self.due, self.today, self.base_dn = size, due, today, base_dn
        self.seed = seed
        self.random = random.Random(seed)
        self.population = Population(size, due, today, base_dn)
        schools = max(4, size * SCHOOLS_PER_10K // 10_000)
        self.schools = [f"{LA_CODE}{2000 + index:04d}" for index in range(schools)]
        self.sponsors = [f"admin{index:02d}" for index in range(1, SPONSORS + 1)]

    # ---- dates ---------------------------------------------------------------------------------

    def instant(self, day: date, hour: int | None = None) -> datetime:
        hour = self.random.randrange(7, 20) if hour is None else hour
        return datetime(day.year, day.month, day.day, hour, self.random.randrange(60),
                        self.random.randrange(60), tzinfo=UTC)

    def peak_day(self, first: date, last: date) -> date | None:
        """The 31 August between first and last (inclusive), if any."""
        for year in (first.year, first.year + 1):
            day = date(year, 8, 31)
            if first <= day <= last:
                return day
        return None

    def spread(self, first: date, last: date, peak_share: float = 0.6) -> date:
        """A day in [first, last]: the 31 August peak with `peak_share`, else uniform."""
        peak = self.peak_day(first, last)
        if peak is not None and self.random.random() < peak_share:
            # Most leave on the day; some in the last weeks of the summer term.
            return max(first, peak - timedelta(days=self.random.choice((0, 0, 0, 0, 38, 39, 40))))
        return first + timedelta(days=self.random.randrange((last - first).days + 1))

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.random.randrange(low, high + 1))

    # ---- people --------------------------------------------------------------------------------

    def person(self, serial: int, role: str) -> tuple[str, Entry]:
        given = self.random.choice(GIVEN)
        family = self.random.choice(FAMILY)
        ascii_given = given.replace("â", "a").replace("ŷ", "y").lower()
        uid = f"{ascii_given}.{family.lower()}{serial}"
        created = self.days_ago(30, 8 * 365)
        entry: Entry = {
            "objectClass": ["inetOrgPerson", "hwbAccount"],
            "uid": [uid],
            "cn": [f"{given} {family}"],
            "sn": [family],
            "givenName": [given],
            "userPassword": ["{SSHA}x6Zb0I7cW1sYq2fR8n7cJvQ0e4o1p2a3"],
            "hwbLocalAuthority": [LA_CODE],
            "createTimestamp": [generalized(self.instant(created))],
        }
        del role
        return f"uid={uid},{self.base_dn}", entry

    def sign_in(self, entry: Entry, low: int, high: int, never_share: float = 0.0) -> None:
        if self.random.random() >= never_share:
            day = max(self.days_ago(low, high), self._created(entry))
            entry["pwdLastSuccess"] = [generalized(self.instant(day))]

    @staticmethod
    def _created(entry: Entry) -> date:
        text = entry["createTimestamp"][0]
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    def disable(self, entry: Entry, reason: str, on: date) -> None:
        entry["pwdAccountLockedTime"] = [PPOLICY_PERMANENT_LOCK]
        entry["hwbDisabledReason"] = [reason]
        entry["hwbDisabledAt"] = [generalized(datetime(on.year, on.month, on.day, 1, 0, 7, tzinfo=UTC))]

    def mis(self, serial: int, role: str) -> tuple[str, str, Entry]:
        dn, entry = self.person(serial, role)
        school = self.random.choice(self.schools)
        uid = entry["uid"][0]
        entry.update(hwbCategory=["mis"], hwbRole=[role], hwbSchool=[school],
                     mail=[f"{uid}@hwbcymru.net"])
        if role == "learner":
            entry["hwbMisId"] = [f"{chr(65 + serial % 26)}{LA_CODE}{serial:09d}"]
            self.sign_in(entry, 0, 400, never_share=0.08)
        else:
            entry["hwbMisId"] = [f"S{LA_CODE}-{serial:07d}"]
            self.sign_in(entry, 0, 60, never_share=0.02)
        draw = self.random.random()
        if draw < 0.07:  # left within the last 11 months, disabled as a leaver (MIS-2 done)
            left = self.spread(self.today - timedelta(days=330), self.today - timedelta(days=1))
            entry["hwbLeavingDate"] = [as_date(left)]
            self.disable(entry, "left", left + timedelta(days=1))
            kind = f"{role}-left"
        elif draw < 0.07 + 0.09:  # leaving later this year (MIS-1 holds)
            left = self.spread(self.today + timedelta(days=1), self.today + timedelta(days=365))
            entry["hwbLeavingDate"] = [as_date(left)]
            kind = f"{role}-leaving"
        elif draw < 0.07 + 0.09 + 0.01 and role == "learner":  # moved school: enabled again (MIS-3 done)
            entry["hwbReactivatedAt"] = [generalized(self.instant(self.days_ago(5, 300)))]
            kind = "learner-moved"
        elif draw < 0.07 + 0.09 + 0.0004 and role == "staff":  # waits for the service desk (MIS-4 flag)
            self.disable(entry, "left", self.days_ago(20, 200))
            kind = "staff-waiting"
        else:
            kind = f"{role}-current"
        return dn, kind, entry

    def non_mis(self, serial: int) -> tuple[str, str, Entry]:
        dn, entry = self.person(serial, "non-mis")
        kind_of = self.random.choice(list(NonMisType))
        given, family = entry["givenName"][0], entry["sn"][0]
        local = f"{given.lower()}.{family.lower()}{serial}".replace("â", "a").replace("ŷ", "y")
        entry.update(hwbCategory=["non-mis"], hwbNonMisType=[kind_of.value],
                     hwbSponsor=[self.random.choice(self.sponsors)],
                     mail=[f"{local}@{'printers.' if kind_of is NonMisType.SERVICE else ''}example.org"])
        entry["createTimestamp"] = [generalized(self.instant(self.days_ago(60, 3 * 365)))]
        draw = self.random.random()
        if draw < 0.15:  # expired within the last 11 months (NM-3 done)
            expired = self.days_ago(2, 330)
            entry.update(hwbExpiryDate=[as_date(expired)], hwbDuration=["3m"])
            self.disable(entry, "expired", expired + timedelta(days=1))
            self.sign_in(entry, (self.today - expired).days, (self.today - expired).days + 60)
            kind = "non-mis-expired"
        elif draw < 0.22:  # idle for 90 days (NM-4 done)
            idle_from = self.days_ago(100, 300)
            entry["hwbExpiryDate"] = [as_date(self.spread(self.today + timedelta(days=1),
                                                          self.today + timedelta(days=365)))]
            entry["hwbDuration"] = ["eoy"]
            entry["pwdLastSuccess"] = [generalized(self.instant(idle_from))]
            self.disable(entry, "inactive", idle_from + timedelta(days=90))
            kind = "non-mis-inactive"
        else:  # enabled, used lately, expiring some time this year
            expiry = self.spread(self.today + timedelta(days=1), self.today + timedelta(days=365),
                                 peak_share=0.5)
            entry.update(hwbExpiryDate=[as_date(expiry)],
                         hwbDuration=["eoy" if expiry.month == 8 and expiry.day == 31 else
                                      self.random.choice(("1m", "3m", "6m"))])
            self.sign_in(entry, 0, 80)
            kind = "non-mis-active"
        return dn, kind, entry

    # ---- making accounts due -------------------------------------------------------------------

    def make_due(self, kind: str, dn: str, entry: Entry) -> str | None:
        """Turn a converged account into one due today; the rule it falls under, or None."""
        if kind in ("learner-current", "staff-current", "learner-leaving", "staff-leaving"):
            left = self.today - timedelta(days=self.random.choice((0, 0, 1, 1, 2, 3)))
            entry["hwbLeavingDate"] = [as_date(left)]
            return "MIS-2"
        if kind == "learner-left":
            del entry["hwbLeavingDate"]  # enrolled at another school: current again
            entry["hwbSchool"] = [self.random.choice(self.schools)]
            return "MIS-3"
        if kind == "non-mis-active":
            entry["hwbExpiryDate"] = [as_date(self.days_ago(1, 5))]
            return "NM-3"
        return None

    def role_of(self, serial: int) -> str:
        if serial % NON_MIS_EVERY == 0:
            return "non-mis"
        return "staff" if serial % STAFF_EVERY == 0 else "learner"

    def generate(self, serial: int) -> tuple[str, str, Entry]:
        role = self.role_of(serial)
        return self.non_mis(serial) if role == "non-mis" else self.mis(serial, role)

    def choose_due(self) -> dict[int, str]:
        """serial -> the rule it is due under: 10% MIS-3, 5% NM-3, the rest MIS-2 (own generator)."""
        chooser = random.Random(self.seed + 1)
        serials = {role: [s for s in range(1, self.size + 1) if self.role_of(s) == role]
                   for role in ("learner", "staff", "non-mis")}
        movers = min(self.due // 10, len(serials["learner"]) // 20)
        expiring = min(self.due // 20, len(serials["non-mis"]) // 2)
        chosen = dict.fromkeys(chooser.sample(serials["learner"], movers), "MIS-3")
        chosen.update(dict.fromkeys(chooser.sample(serials["non-mis"], expiring), "NM-3"))
        rest = [s for s in serials["learner"] + serials["staff"] if s not in chosen]
        chosen.update(dict.fromkeys(chooser.sample(rest, self.due - movers - expiring), "MIS-2"))
        return chosen

    def records(self) -> Iterator[str]:
        population = self.population
        due = self.choose_due()
        fits = {"MIS-3": {"learner-left"}, "NM-3": {"non-mis-active"},
                "MIS-2": {"learner-current", "staff-current", "learner-leaving", "staff-leaving"}}
        for serial in range(1, self.size + 1):
            dn, kind, entry = self.generate(serial)
            rule = due.get(serial)
            if rule is not None:
                while kind not in fits[rule]:  # draw again until the account can become due this way
                    dn, kind, entry = self.generate(serial)
            population.counts[kind] = population.counts.get(kind, 0) + 1
            if rule is not None:
                population.due_originals[dn] = {name: list(entry.get(name, [])) for name in TOUCHED}
                applied = self.make_due(kind, dn, entry)
                population.due_kinds[applied] = population.due_kinds.get(applied, 0) + 1
            yield ldif_record(dn, entry)


def write_ldif(path: Path, size: int, *, due: int = 0, seed: int = 681, today: date,
               base_dn: str) -> Population:
    """Write the population as slapadd LDIF to `path`; returns what was generated."""
    generator = _Generator(size, due, seed, today, base_dn)
    with path.open("w", encoding="utf-8") as out:
        for record in generator.records():
            out.write(record)
    return generator.population
