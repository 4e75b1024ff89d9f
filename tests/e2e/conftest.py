"""End to end on real servers: the agent's own commands (`agent.cli.main`) against slapd, Samba AD
DC and 389-DS, with the session's server fixtures (tests/conftest.py, tests/servers/).

`e2e` (parametrised over the three servers) empties the server's base DN, writes a YAML
configuration for it under tmp_path (the agent's service account, its password in a file) and
returns an `AgentRun`: `run(...)` / `json(...)` call the command line in-process, `add(...)`
creates an account that can bind with the lifecycle attributes given as logical fields, and
`clock(days=...)` moves the clock handed to the command line (`agent.cli.main(..., clock=)`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
import yaml

from agent import cli
from agent.settings.attributes import Flavour
from tests.servers.base import TestServer, dn_key
from tests.servers.support import unique

SERVERS = [
    pytest.param("slapd_server", marks=pytest.mark.slapd, id="openldap"),
    pytest.param("samba_server", marks=pytest.mark.samba, id="active-directory"),
    pytest.param("ds389_server", marks=pytest.mark.ds389, id="389ds"),
]
PASSWORD = "Passw0rd!e2e"

# Logical field -> attribute on every flavour (the AD schema extension uses the same names).
ATTRIBUTES = {
    "category": "hwbCategory", "role": "hwbRole", "non_mis_type": "hwbNonMisType", "mis_id": "hwbMisId",
    "school": "hwbSchool", "leaving_date": "hwbLeavingDate", "expiry_date": "hwbExpiryDate",
    "sponsor": "hwbSponsor", "disabled_at": "hwbDisabledAt", "disabled_reason": "hwbDisabledReason",
    "reactivated_at": "hwbReactivatedAt", "duration": "hwbDuration",
}
# How each flavour stores "disabled" (set by hand for accounts the agent disabled long ago).
DISABLED = {
    Flavour.OPENLDAP.value: ("pwdAccountLockedTime", "000001010000Z"),
    Flavour.DS389.value: ("nsAccountLock", "TRUE"),
    Flavour.ACTIVE_DIRECTORY.value: ("userAccountControl", "514"),
}
LAST_SIGN_IN = {
    Flavour.OPENLDAP.value: "pwdLastSuccess",
    Flavour.DS389.value: "lastLoginTime",
    Flavour.ACTIVE_DIRECTORY.value: "lastLogonTimestamp",
}


def filetime(moment: datetime) -> str:
    return str(int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000))


@dataclass
class AgentRun:
    server: TestServer
    path: Path
    capsys: Any
    monkeypatch: Any
    offset: timedelta = timedelta(0)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def flavour(self) -> str:
        return self.server.flavour

    @property
    def is_ad(self) -> bool:
        return self.flavour == Flavour.ACTIVE_DIRECTORY.value

    # ---- configuration and commands ----------------------------------------------------------

    def configure(self, **sections: Any) -> Path:
        """(Re)write the configuration; `sections` are merged over the defaults, per section."""
        for name, values in sections.items():
            self.overrides[name] = {**self.overrides.get(name, {}), **values}
        password_file = self.path / "agent-password"
        password_file.write_text(self.server.agent_password + "\n")
        data: dict[str, Any] = {
            "local_authority": {"code": "681", "name": f"e2e on {self.flavour}"},
            "directory": {"url": self.server.url, "base_dn": self.server.base_dn,
                          "bind_dn": self.server.agent_dn, "password_file": str(password_file),
                          "flavour": self.flavour, "page_size": 25, "timeout_seconds": 10},
            "policy": {"timezone": "Europe/London"},
            "safety": {"max_disables": 1000, "max_purges": 1000, "max_change_percent": 100},
            "logging": {"format": "json", "audit_file": str(self.path / "audit.jsonl")},
            "accounts": {"ou": ""},
        }
        for name, values in self.overrides.items():
            data[name] = {**data.get(name, {}), **values}
        config = self.path / "config.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return config

    def clock(self, days: int = 0) -> None:
        """Run the commands `days` days after the real time (the server's own clock stays)."""
        self.offset = timedelta(days=days)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def run(self, *args: str, expect: int | None = 0) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli.main(["--config", str(self.path / "config.yaml"), *args], clock=self.now)
        captured = self.capsys.readouterr()
        if expect is not None:
            assert code == expect, f"hwb-agent {' '.join(args)}: exit {code}\n{captured.out}\n{captured.err}"
        return code, captured.out, captured.err

    def json(self, *args: str, expect: int = 0) -> Any:
        _, out, _ = self.run(*args, "--json", expect=expect)
        return json.loads(out)

    def sweep(self, *args: str) -> dict[str, Any]:
        return self.json("sweep", *args)

    # ---- accounts ----------------------------------------------------------------------------

    def time(self, moment: date | datetime) -> str:
        """A date or instant as this server stores GeneralizedTime."""
        if isinstance(moment, datetime):
            text = moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
        else:
            text = moment.strftime("%Y%m%d") + "000000Z"
        return self.server.time_value(text)

    def add(self, uid: str, *, cn: str | None = None, given_name: str = "Test", surname: str | None = None,
            extra: Mapping[str, object] | None = None, **fields: object) -> str:
        """An enabled account that can bind with PASSWORD; `fields` are logical lifecycle fields
        (dates and instants converted to the server's GeneralizedTime). Returns the DN."""
        attributes: dict[str, object] = dict(extra or {})
        for name, value in fields.items():
            if value is None:
                continue
            attributes[ATTRIBUTES[name]] = self.time(value) if isinstance(value, date) else str(value)
        return self.server.add_user(uid, PASSWORD, given_name=given_name, surname=surname, cn=cn,
                                    attributes=attributes)

    def non_mis(self, uid: str, *, expiry: date | None = None, sponsor: str = "admin.e2e",
                **fields: object) -> str:
        expiry = expiry or (self.now() + timedelta(days=300)).date()
        return self.add(uid, category="non-mis", non_mis_type="governor", expiry_date=expiry,
                        sponsor=sponsor, **fields)

    def set_disabled(self, dn: str) -> None:
        """Mark an entry disabled the flavour's way, as the agent would have."""
        attribute, value = DISABLED[self.flavour]
        with self.server.connect() as connection:
            connection.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]})

    def set_password(self, dn: str, password: str = PASSWORD) -> None:
        """An administrator's password reset (what a person gets after `create`)."""
        with self.server.connect() as connection:
            if self.is_ad:
                connection.extend.microsoft.modify_password(dn, password)
            else:
                connection.modify(dn, {"userPassword": [(ldap3.MODIFY_REPLACE, [password])]})

    def age(self, dn: str, *, sign_in: datetime | None = None, created: datetime | None = None) -> bool:
        """Overwrite the server-maintained last sign-in (on AD this DC's lastLogon too) and creation
        time, in one call (slapd's offline slapmodify resets createTimestamp otherwise). False when
        the server cannot back-date the creation (389-DS); nothing is changed then."""
        changes: dict[str, str] = {}
        if created is not None:
            if self.flavour == Flavour.DS389.value:
                return False
            changes["whenCreated" if self.is_ad else "createTimestamp"] = self.time(created)
        if sign_in is not None:
            if self.is_ad:
                changes.update(lastLogonTimestamp=filetime(sign_in), lastLogon=filetime(sign_in))
            else:
                changes[LAST_SIGN_IN[self.flavour]] = sign_in.strftime("%Y%m%d%H%M%SZ")
        self.server.age({dn: changes})
        return True

    def can_bind(self, dn: str, password: str = PASSWORD) -> bool:
        return self.server.can_bind(dn, password)

    def entries_below(self, dn: str) -> list:
        """Keys of the entries at or below dn still on the server."""
        wanted = dn_key(dn)
        with self.server.connect() as connection:
            found = connection.extend.standard.paged_search(
                self.server.base_dn, "(objectClass=*)", ldap3.SUBTREE, attributes=[], paged_size=200,
                generator=False)
            keys = [dn_key(entry["dn"]) for entry in found if entry.get("type") == "searchResEntry"]
        return [key for key in keys if key[-len(wanted):] == wanted]


@pytest.fixture(params=SERVERS)
def e2e(request, tmp_path, capsys, monkeypatch) -> AgentRun:
    server: TestServer = request.getfixturevalue(request.param)
    server.clear_base()
    run = AgentRun(server, tmp_path, capsys, monkeypatch)
    run.configure()
    return run


def uid(prefix: str) -> str:
    """A login unique in the session, short enough for sAMAccountName (20)."""
    return unique(prefix)[:20]
