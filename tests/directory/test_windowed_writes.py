"""directory.max_writes_in_flight on a real slapd: every change applied, every refusal reported."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agent.actions.session import open_directory
from agent.core import changes
from agent.core.errors import DirectoryWriteError
from agent.core.model import Reason
from agent.settings import config as config_module

pytestmark = pytest.mark.slapd


def _config(server, tmp_path, window: int):
    password = tmp_path / "agent-password"
    password.write_text(server.agent_password + "\n")
    return config_module.parse({
        "local_authority": {"code": "681", "name": "Test"},
        "directory": {"url": server.url, "bind_dn": server.agent_dn, "password_file": str(password),
                      "base_dn": server.base_dn, "flavour": "openldap", "max_writes_in_flight": window},
        "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
    })


@pytest.mark.parametrize("window", [1, 2, 64])
def test_windowed_writes_apply_each_change_in_order_and_report_the_refused_one(slapd_server, tmp_path,
                                                                                window):
    tag = uuid.uuid4().hex[:8]
    dns = [slapd_server.add_user(f"win-{tag}-{index}", "pw", attributes={
        "hwbCategory": "mis", "hwbRole": "learner"}) for index in range(5)]
    config = _config(slapd_server, tmp_path, window)
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    with open_directory(config) as directory:
        accounts = [directory.read(dn) for dn in dns]
        ghost = replace(accounts[0], dn=f"uid=ghost-{tag},{slapd_server.base_dn}")  # no such entry
        targets = accounts[:2] + [ghost] + accounts[2:]
        items = [(index, account, changes.disable(Reason.LEFT, now)) for index, account in enumerate(targets)]
        results = list(directory.write_changes(items))
        after = [directory.read(dn) for dn in dns]
    assert [key for key, _ in results] == list(range(6))
    errors = {key: error for key, error in results if error is not None}
    assert list(errors) == [2] and isinstance(errors[2], DirectoryWriteError)
    assert "ghost" in str(errors[2])
    assert all(not account.enabled and account.disabled_reason is Reason.LEFT for account in after)
    assert directory.counts.modifies == 6


@pytest.mark.parametrize("window", [1, 2, 64])
def test_windowed_adds_create_each_entry_in_order_and_report_the_refused_one(slapd_server, tmp_path, window):
    tag = uuid.uuid4().hex[:8]
    config = _config(slapd_server, tmp_path, window)
    taken = slapd_server.add_user(f"add-{tag}-taken", "pw",
                                  attributes={"hwbCategory": "mis", "hwbRole": "learner"})
    dns = [f"uid=add-{tag}-{index},{slapd_server.base_dn}" for index in range(4)]
    targets = dns[:2] + [taken] + dns[2:]  # the third already exists: entryAlreadyExists
    items = [(index, dn, ["inetOrgPerson", "hwbAccount"],
              {"uid": [dn.split(",")[0][4:]], "cn": ["Ãdd Tést"], "sn": ["Tést"], "hwbCategory": ["mis"],
               "hwbRole": ["learner"], "hwbSchool": []})
             for index, dn in enumerate(targets)]
    with open_directory(config) as directory:
        results = list(directory.write_adds(items))
        created = [directory.read(dn) for dn in dns]
    assert [key for key, _ in results] == list(range(5))
    errors = {key: error for key, error in results if error is not None}
    assert list(errors) == [2] and "entryAlreadyExists" in str(errors[2])
    assert all(account is not None and account.enabled for account in created)
    assert directory.counts.adds == 5
