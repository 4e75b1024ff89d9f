"""check-config and hwbReminderSent (issue 14) on a real slapd: an attribute the server's schema lacks
is a gap when reminders are configured, only a warning when they are not (a schema loaded before the
attribute existed still runs every rule)."""

from __future__ import annotations

import pytest
import yaml

from agent.actions.check import check_directory
from agent.settings import config as config_module
from tests.service.agent_process import slapd_config

pytestmark = pytest.mark.slapd


def _config(tmp_path, server, **sections):
    path = slapd_config(tmp_path / "host.yaml", server, audit=tmp_path / "audit.jsonl")
    data = yaml.safe_load(path.read_text())
    data["attributes"] = {"reminders_sent": "hwbNotInTheSchema"}  # as on a server not yet upgraded
    data.update(sections)
    path.write_text(yaml.safe_dump(data))
    return config_module.load(path)


def test_a_schema_without_the_reminder_attribute_is_a_gap_only_for_reminders(slapd_server, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", slapd_server.agent_password)
    checked = check_directory(_config(tmp_path, slapd_server))
    assert checked.gaps == []
    assert any("hwbNotInTheSchema" in warning and "reminders" in warning for warning in checked.warnings)
    with_mail = _config(tmp_path, slapd_server, notifications={
        "host": "127.0.0.1", "tls": "none", "from": "hwb@test.example"})
    gaps = check_directory(with_mail).gaps
    assert [gap for gap in gaps if "hwbNotInTheSchema" in gap and "reminders_sent" in gap] == gaps != []
