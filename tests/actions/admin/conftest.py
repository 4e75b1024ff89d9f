"""The embedded mock directory for the administrator operations, at a fixed clock.

`admin_env` writes a configuration to tmp_path (state and audit files there),
seeds the demo population as of `SEEDED`, and sets the command line's clock
(the clock handed to `agent.cli.main`) to `env.now`, which a test may move.
`env.run(...)` runs the CLI in-process and returns (exit code, stdout, stderr).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import cli
from agent.actions.audit import AuditTrail
from agent.actions.demo import demo_entries
from agent.actions.session import open_directory
from agent.core.model import Account
from agent.directory import codecs
from agent.directory.connection import mapper_for
from agent.directory.embedded import open_embedded
from agent.directory.gateway import Directory
from agent.settings import config as config_module
from agent.settings.config import Config

# A Monday at noon in the policy zone (GMT in November): "today" is 2026-11-16.
SEEDED = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 16)
BASE_DN = "ou=people,dc=test,dc=hwb,dc=example"

CONFIG_TEXT = """\
local_authority: {{code: "681", name: Test LA}}
directory:
  url: "mock:"
  base_dn: {base}
  bind_dn: cn=hwb-agent,ou=services,dc=test,dc=hwb,dc=example
  password: test-only
  flavour: {flavour}
  state_file: state.json
policy:
  timezone: Europe/London
  protected: [hwb-breakglass]
safety:
  max_disables: 1000
  max_purges: 1000
  max_change_percent: 100
logging:
  format: json
  audit_file: audit.jsonl
accounts:
  ou: ou=non-mis
  uid_template: "{{given}}.{{surname}}"
"""


@dataclass
class AdminEnv:
    path: Path
    capsys: Any
    now: datetime = SEEDED
    config: Config = field(init=False)

    def __post_init__(self) -> None:
        self.config = config_module.load(self.path / "config.yaml")

    @property
    def today(self) -> date:
        return self.config.policy.today(self.now)

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli.main(["--config", str(self.path / "config.yaml"), *args], clock=lambda: self.now)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def run_json(self, *args: str, expect: int = 0) -> Any:
        code, out, err = self.run(*args, "--json")
        assert code == expect, err
        return json.loads(out)

    @contextmanager
    def directory(self) -> Iterator[Directory]:
        directory = open_directory(self.config)
        try:
            yield directory
        finally:
            directory.close()

    def account(self, uid: str) -> Account:
        with self.directory() as directory:
            found = directory.find("uid", uid)
        assert len(found) == 1, f"{uid}: {found}"
        return found[0]

    def raw(self, uid: str, attribute: str) -> list[str]:
        """The raw values of one attribute of one entry (for attributes `Account` does not carry)."""
        with self.directory() as directory:
            uid_attribute = directory.mapper.attribute("uid")
            for _, raw in directory.search(f"({uid_attribute}={uid})", [attribute]):
                for name, values in raw.items():
                    if name.lower() == attribute.lower():
                        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
        return []

    def audit(self) -> list[dict[str, Any]]:
        path = self.path / "audit.jsonl"
        if not path.exists():
            return []
        # The changes and refusals: write-ahead intent lines (issue 11) are not records of a change.
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [record for record in records if record.get("phase") != "intent"]

    @contextmanager
    def audit_trail(self) -> Iterator[AuditTrail]:
        audit = AuditTrail(self.config.logging.audit_file)
        try:
            yield audit
        finally:
            audit.close()

    def instant(self, day: date, hour: int = 12) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    def add(self, uid: str, ou: str, fields: dict[str, Any], *, enabled: bool = True,
            created: date | None = None, last_sign_in: date | None = None) -> str:
        """Add one account with logical `fields` (dates and instants encoded by the mapper)."""
        with self.directory() as directory:
            mapper = directory.mapper
            dn = f"uid={uid},ou={ou},{BASE_DN}"
            values = {"uid": uid, "given_name": uid.split(".")[0].title(), "surname": "Test",
                      "mail": f"{uid}@test.example", **fields}
            attributes = mapper.entry_attributes(values)
            created_spec = mapper.attributes["created_at"]
            attributes[created_spec.name] = [
                codecs.encode(created_spec.encoding, self.instant(created or TODAY - timedelta(days=30)))]
            if last_sign_in is not None:
                spec = mapper.attributes["last_sign_in"]
                attributes[spec.name] = [codecs.encode(spec.encoding, self.instant(last_sign_in))]
            if not enabled:
                for attribute, _, state_values in mapper.flavour.write(False, None).operations:
                    attributes[attribute] = list(state_values)
            directory.add(dn, ["inetOrgPerson", "hwbAccount"], attributes)
        return dn


def non_mis(kind: str = "governor", expiry: date | None = None, sponsor: str = "admin.test",
            **extra: Any) -> dict[str, Any]:
    return {"category": "non-mis", "non_mis_type": kind, "expiry_date": expiry or TODAY + timedelta(days=90),
            "duration": "3m", "sponsor": sponsor, **extra}


def mis(role: str, **extra: Any) -> dict[str, Any]:
    return {"category": "mis", "role": role, "school": "6812001", **extra}


def make_env(tmp_path: Path, capsys: Any, monkeypatch: Any, flavour: str = "openldap") -> AdminEnv:
    (tmp_path / "config.yaml").write_text(CONFIG_TEXT.format(base=BASE_DN, flavour=flavour),
                                          encoding="utf-8")
    env = AdminEnv(tmp_path, capsys)
    seed = functools.partial(demo_entries, env.config)
    mapper = mapper_for(env.config.directory, env.config.attributes)
    open_embedded(env.config.directory, mapper, seed, now=SEEDED).close()  # the demo as of SEEDED
    return env


@pytest.fixture
def admin_env(tmp_path: Path, capsys: Any, monkeypatch: Any) -> AdminEnv:
    return make_env(tmp_path, capsys, monkeypatch)


@pytest.fixture
def ad_env(tmp_path: Path, capsys: Any, monkeypatch: Any) -> AdminEnv:
    """The same on the active-directory flavour (the mock cannot filter its bit flags)."""
    return make_env(tmp_path, capsys, monkeypatch, flavour="active-directory")
