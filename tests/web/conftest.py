"""The console on the embedded demo directory (a fresh one per test), through Flask's test client."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.actions.session import open_directory
from agent.settings import config as config_module
from agent.web.app import console_of, create_app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-password"  # DEMO ONLY (agent/actions/demo.py)


def demo_config(tmp_path: Path, **web: Any) -> config_module.Config:
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["directory"]["state_file"] = str(tmp_path / "state.json")
    data["logging"]["audit_file"] = str(tmp_path / "audit.jsonl")
    # Refusals answer at once here (the default waits 0.5 s so that timing tells nothing).
    data["web"]["sign_in"] = {"failure_delay_seconds": 0}
    data["web"].update(web)
    return config_module.parse(data, "demo.yaml", ROOT / "config")


@pytest.fixture
def config(tmp_path):
    return demo_config(tmp_path)


@pytest.fixture
def now():
    return datetime.now(UTC)


@pytest.fixture
def make_app():
    """create_app, with each app's audit trail closed at the end of the test."""
    made = []

    def make(config, clock=None, **options):
        application = create_app(config, clock or (lambda: datetime.now(UTC)),
                                 secret=options.pop("secret", b"t" * 32), **options)
        application.config["TESTING"] = True
        made.append(application)
        return application

    yield make
    for application in made:
        console_of(application).audit.close()


@pytest.fixture
def app(make_app, config, now):
    return make_app(config, lambda: now)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(text: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client, uid: str, password: str = PASSWORD, **environ: Any):
    page = client.get("/sign-in", **environ)
    return client.post("/sign-in", data={"csrf_token": csrf(page.text), "uid": uid, "password": password},
                       **environ)


def post_form(client, page_url: str, action_url: str, data: dict[str, Any], **environ: Any):
    """POST `data` to `action_url` with the CSRF token of the form on `page_url` (as a browser would)."""
    page = client.get(page_url, **environ)
    assert page.status_code == 200, page.status_code
    return client.post(action_url, data={"csrf_token": csrf(page.text), **data}, **environ)


def account(config, uid: str):
    with open_directory(config) as directory:
        found = directory.find("uid", uid)
    assert len(found) == 1
    return found[0]


def audit_records(config) -> list[dict[str, Any]]:
    path = config.logging.audit_file
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def la_account_uid(config, *, enabled: bool | None = None, expired: bool | None = None) -> str:
    """A non-MIS account of the LA's own (sponsored by admin.cardiff, no school)."""
    today = config.policy.today(datetime.now(UTC))
    with open_directory(config) as directory:
        for found in directory.accounts():
            if (found.category and found.category.value == "non-mis" and found.sponsor == "admin.cardiff"
                    and found.school is None and not found.problems and found.activation_request is None
                    and found.role is None
                    and (enabled is None or found.enabled is enabled)
                    and (expired is None or (found.expiry_date is not None
                                             and (found.expiry_date < today) is expired))):
                return found.uid
    raise AssertionError("no such demo account")
