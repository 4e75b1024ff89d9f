"""Plain-value builders shared by the tests: accounts, instants, configurations."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from agent.core.dates import start_of_day
from agent.core.model import Account, Category, NonMisType, Reason, Role
from agent.core.policy import PolicySettings
from agent.settings import config as config_module

LONDON = ZoneInfo("Europe/London")
SETTINGS = PolicySettings()


def noon(day: date) -> datetime:
    """Midday of `day` in London, as an aware UTC instant: "today" is then `day`."""
    return start_of_day(day, LONDON) + timedelta(hours=12)


def learner(**fields) -> Account:
    base = Account(
        dn="uid=l1,ou=people,dc=example,dc=org",
        uid="l1",
        category=Category.MIS,
        enabled=True,
        role=Role.LEARNER,
        mis_id="A123",
        school="6812001",
        created_at=noon(date(2020, 9, 1)),
    )
    return replace(base, **fields)


def staff(**fields) -> Account:
    return replace(learner(uid="s1", dn="uid=s1,ou=people,dc=example,dc=org", role=Role.STAFF), **fields)


def non_mis(**fields) -> Account:
    base = Account(
        dn="uid=n1,ou=people,dc=example,dc=org",
        uid="n1",
        category=Category.NON_MIS,
        enabled=True,
        non_mis_type=NonMisType.GOVERNOR,
        sponsor="admin1",
        expiry_date=date(2027, 8, 31),
        created_at=noon(date(2026, 1, 10)),
    )
    return replace(base, **fields)


def left(when: date, **fields) -> dict:
    """Fields of an account the agent disabled as a leaver on `when`."""
    return {"enabled": False, "disabled_reason": Reason.LEFT, "disabled_at": noon(when), **fields}


def write_config(tmp_path: Path, overrides: dict | None = None, flavour: str = "openldap") -> Path:
    """A configuration for the embedded mock directory under tmp_path; returns its path."""
    data = {
        "local_authority": {"code": "681", "name": "Test LA"},
        "directory": {
            "url": "mock:",
            "base_dn": "ou=people,dc=test,dc=example",
            "bind_dn": "cn=agent,ou=services,dc=test,dc=example",
            "password": "test-password",
            "flavour": flavour,
            "state_file": str(tmp_path / "state.json"),
            "page_size": 25,
        },
        "policy": {"protected": ["hwb-breakglass"]},
        "safety": {"max_disables": 100, "max_purges": 20, "max_change_percent": 20},
        "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
    }
    for section, values in (overrides or {}).items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load_config(tmp_path: Path, overrides: dict | None = None, flavour: str = "openldap"):
    return config_module.load(write_config(tmp_path, overrides, flavour))
