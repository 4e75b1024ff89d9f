"""Empty directories for the import tests: the embedded mock, or the real slapd fixture.

A `Target` gives a configuration file for the directory (so the same test drives the
library and the command line), connects through the agent's own gateway, and counts
writes twice: with the gateway's counters and, on slapd, with the server's own log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import ImportReport, import_feed
from agent.actions.mis.feed_reader import read_feed
from agent.actions.session import open_directory
from agent.actions.sweep import SweepReport, sweep
from agent.core.model import Account
from agent.directory.gateway import Directory
from agent.settings import config as config_module
from agent.settings.config import Config
from tests.actions.mis.support import SAMPLES
from tests.builders import noon, write_config
from tests.directory.populate import write_state
from tests.servers.base import TestServer

PASSWORD_ENV = "HWB_TEST_MIS_BIND_PASSWORD"
DAY1, DAY2 = date(2026, 11, 27), date(2026, 11, 28)


@dataclass
class Target:
    kind: str
    config_path: Path
    server: TestServer | None = None

    @property
    def config(self) -> Config:
        return config_module.load(self.config_path)

    def connect(self) -> Directory:
        return open_directory(self.config)

    def server_writes(self) -> int | None:
        """Writes the real server accepted so far (None on the mock)."""
        return self.server.write_count() if self.server is not None else None

    def accounts(self) -> dict[str, Account]:
        with self.connect() as directory:
            return {account.uid: account for account in directory.accounts()}

    def audit_records(self) -> list[dict]:
        path = self.config.logging.audit_file
        if not path.exists():
            return []
        # The changes: write-ahead intent lines (issue 11) are not records of a change.
        return [line for line in self.audit_lines() if line.get("phase") != "intent"]

    def audit_lines(self) -> list[dict]:
        """Every line of the audit file, write-ahead intents included, in order."""
        path = self.config.logging.audit_file
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def import_feed(self, package: str | Path, day: date, **options) -> ImportReport:
        config = self.config
        location = package if isinstance(package, Path) else SAMPLES / package
        feed = read_feed(location, None, config.policy.timezone)
        audit = AuditTrail(config.logging.audit_file)
        try:
            with open_directory(config) as directory:
                return import_feed(directory, config, audit, feed, at(day), **options)
        finally:
            audit.close()

    def sweep(self, day: date, **options) -> SweepReport:
        config = self.config
        audit = AuditTrail(config.logging.audit_file)
        try:
            with open_directory(config) as directory:
                return sweep(directory, config, audit, at(day), full=True, **options)
        finally:
            audit.close()


def at(day: date) -> datetime:
    return noon(day)


def mock_target(tmp_path: Path) -> Target:
    path = write_config(tmp_path)
    write_state(config_module.load(path), [])
    return Target("mock", path)


def slapd_target(tmp_path: Path, server: TestServer, monkeypatch: pytest.MonkeyPatch) -> Target:
    server.clear_base()
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    directory = data["directory"]
    directory.pop("state_file")
    directory.pop("password")
    directory.update(url=server.url, bind_dn=server.agent_dn, password_env=PASSWORD_ENV,
                     base_dn=server.base_dn, flavour="openldap", page_size=25)
    monkeypatch.setenv(PASSWORD_ENV, server.agent_password)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return Target("slapd", path, server)
