"""Two local authorities on one directory server (issue 15): one subtree each under one national
base DN, one agent configuration (and audit trail) each, and OneRoster packages for their feeds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml

from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import ImportReport, import_feed, with_feed_date
from agent.actions.mis.feed_reader import read_feed
from agent.actions.session import open_directory
from agent.actions.sweep import SweepReport, sweep
from agent.core.mis.upn import make_upn
from agent.core.model import Account
from agent.settings import config as config_module
from agent.settings.config import Config
from tests.actions.mis.support import ENROLLMENTS_HEADER, MANIFEST_BULK, USERS_HEADER
from tests.builders import noon, write_config
from tests.servers.base import TestServer

PASSWORD_ENV = "HWB_TEST_NATIONAL_BIND_PASSWORD"


def school(code: str, number: int = 1) -> str:
    """A school number of authority `code` (7 digits: the authority's 3, then 4)."""
    return f"{code}{2000 + number}"


@dataclass
class Authority:
    """One local authority's instance: its code, subtree and configuration on the shared server."""

    code: str
    config_path: Path
    server: TestServer

    @property
    def config(self) -> Config:
        return config_module.load(self.config_path)

    @property
    def base_dn(self) -> str:
        return self.config.directory.base_dn

    def import_feed(self, package: Path, day: date, **options) -> ImportReport:
        config = self.config
        feed = with_feed_date(read_feed(package, config.mis, config.policy.timezone), day)
        audit = AuditTrail(config.logging.audit_file)
        try:
            with open_directory(config) as directory:
                return import_feed(directory, config, audit, feed, noon(day), confirm=True, **options)
        finally:
            audit.close()

    def sweep(self, day: date, **options) -> SweepReport:
        config = self.config
        audit = AuditTrail(config.logging.audit_file)
        try:
            with open_directory(config) as directory:
                return sweep(directory, config, audit, noon(day), full=True, confirm_mass_change=True,
                             **options)
        finally:
            audit.close()

    def accounts(self) -> dict[str, Account]:
        with open_directory(self.config) as directory:
            return {account.uid: account for account in directory.accounts()}

    def audit_lines(self) -> list[dict]:
        path = self.config.logging.audit_file
        if path is None or not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def audit_records(self) -> list[dict]:
        """The outcome records (write-ahead intents left out)."""
        return [line for line in self.audit_lines() if line.get("phase") != "intent"]


def authorities(tmp_path: Path, server: TestServer, monkeypatch: pytest.MonkeyPatch,
                *codes: str) -> dict[str, Authority]:
    """An OU per authority under the server's base DN (the national one) and a configuration each."""
    national = server.base_dn
    monkeypatch.setenv(PASSWORD_ENV, server.agent_password)
    found = {}
    for code in codes:
        server.add_ldif(f"dn: ou={code},{national}\nobjectClass: organizationalUnit\nou: {code}\n")
        folder = tmp_path / code
        folder.mkdir()
        path = write_config(folder)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        directory = data["directory"]
        directory.pop("state_file")
        directory.pop("password")
        directory.update(url=server.url, bind_dn=server.agent_dn, password_env=PASSWORD_ENV,
                         base_dn=f"ou={code},{national}", national_base_dn=national, flavour=server.flavour,
                         page_size=25)
        data["local_authority"] = {"code": code, "name": f"Authority {code}"}
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        found[code] = Authority(code, path, server)
    return found


# --- feeds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    source_id: str
    mis_id: str
    given: str
    family: str
    role: str = "student"  # OneRoster role: student or teacher


def learner(serial: int, given: str = "Aled", family: str = "Jones", code: str = "681") -> Person:
    return Person(f"u{serial}", make_upn(f"{code}0001260{serial:02d}"), given, family)


def staff(serial: int, given: str = "Siân", family: str = "Evans") -> Person:
    return Person(f"s{serial}", f"STF-{serial:04d}", given, family, "teacher")


def package(folder: Path, code: str, people: dict[Person, str]) -> Path:
    """A bulk OneRoster package of authority `code`: each person enrolled at their school."""
    folder.mkdir(parents=True)
    schools = sorted(set(people.values()))
    orgs = ["sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
            f"org-la,,,Authority {code},district,{code},"]
    orgs += [f"org-{number},,,School {number},school,{number},org-la" for number in schools]
    users, enrolments = [USERS_HEADER.rstrip("\n")], [ENROLLMENTS_HEADER.rstrip("\n")]
    for index, (person, number) in enumerate(people.items()):
        users.append(f"{person.source_id},,,true,org-{number},{person.role},{person.source_id},,"
                     f"{person.given},{person.family},,{person.mis_id},,,,,,")
        enrolments.append(f"e{index},,,cls-1,org-{number},{person.source_id},{person.role},true,"
                          "2026-09-01,")
    (folder / "manifest.csv").write_text(MANIFEST_BULK, encoding="utf-8")
    (folder / "orgs.csv").write_text("\n".join(orgs) + "\n", encoding="utf-8")
    (folder / "users.csv").write_text("\n".join(users) + "\n", encoding="utf-8")
    (folder / "enrollments.csv").write_text("\n".join(enrolments) + "\n", encoding="utf-8")
    return folder


def add_content(server: TestServer, account_dn: str, *names: str) -> list[str]:
    """Children below an account (its content, which a purge deletes and a transfer keeps)."""
    for name in names:
        server.add_ldif(server.child_ldif(account_dn, name) + "\n")
    return [f"ou={name},{account_dn}" for name in names]


def entries_below(server: TestServer, dn: str) -> set[str]:
    """The DNs strictly below `dn`, lower case (empty when `dn` does not exist)."""
    import ldap3
    from ldap3.core.exceptions import LDAPNoSuchObjectResult

    with server.connect() as connection:
        try:
            connection.search(dn, "(objectClass=*)", search_scope=ldap3.SUBTREE, attributes=[])
        except LDAPNoSuchObjectResult:
            return set()
        return {entry["dn"].lower() for entry in connection.response
                if entry.get("type") == "searchResEntry" and entry["dn"].lower() != dn.lower()}


def with_mis_id(server: TestServer, mis_id: str) -> list[str]:
    """Every entry of the whole national tree carrying `mis_id` (the one-account-per-UPN check)."""
    import ldap3

    with server.connect() as connection:
        connection.search(server.base_dn, f"(hwbMisId={mis_id})", search_scope=ldap3.SUBTREE, attributes=[])
        return [entry["dn"] for entry in connection.response if entry.get("type") == "searchResEntry"]
