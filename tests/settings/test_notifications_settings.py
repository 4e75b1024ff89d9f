"""The `notifications:` section (agent/settings/notifications.py, issue 14): defaults, the credential
file in both forms, the TLS rule, and errors named by their YAML path."""

from __future__ import annotations

import os
from datetime import time

import pytest

from agent.core.errors import ConfigError
from tests.builders import load_config


def test_without_the_section_nothing_is_sent_and_the_defaults_hold(tmp_path):
    config = load_config(tmp_path)
    notifications = config.notifications
    assert not notifications.enabled
    assert notifications.thresholds_days == (56, 14) and notifications.purge_notice_days == 28
    assert notifications.languages == ("cy", "en")
    assert config.schedule.remind_times == (time(7, 30),)


def test_one_line_credential_splits_at_the_first_colon_and_a_readable_file_is_a_warning(tmp_path):
    secret = tmp_path / "smtp-credential"
    secret.write_text("hwb-agent:pa:ss\n")
    os.chmod(secret, 0o644)
    notifications = load_config(tmp_path, {"notifications": {
        "host": "smtp.example.org", "from": "Hwb <hwb@example.org>", "credential_file": str(secret),
        "thresholds_days": [14, 56, 30]}}).notifications
    assert notifications.enabled and notifications.port == 587 and notifications.tls == "starttls"
    assert notifications.login is not None and notifications.login.user == "hwb-agent"
    assert notifications.login.password.reveal() == "pa:ss"
    assert "pa:ss" not in repr(notifications)
    assert notifications.thresholds_days == (56, 30, 14) and notifications.horizon_days == 56
    assert len(notifications.warnings) == 1 and "notifications.credential_file" in notifications.warnings[0]


def test_two_line_credential_and_implicit_tls_default_port(tmp_path):
    secret = tmp_path / "cred"
    secret.write_text("dom:ain\\user\nsecret\n")
    os.chmod(secret, 0o600)
    notifications = load_config(tmp_path, {"notifications": {
        "host": "smtp.example.org", "tls": "implicit", "from": "hwb@example.org",
        "credential_file": str(secret)}}).notifications
    assert notifications.port == 465 and notifications.warnings == ()
    assert notifications.login.user == "dom:ain\\user" and notifications.login.password.reveal() == "secret"


def test_bad_values_are_named_by_their_yaml_path(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, {"notifications": {
            "host": "smtp.example.org", "tls": "none", "from": "not an address",
            "thresholds_days": [56, "two weeks"], "rate_per_minute": 0, "colour": "red",
            "credential_file": str(tmp_path / "missing")},
            "schedule": {"remind": ["7.30"]}})
    text = str(raised.value)
    for path in ("notifications.tls", "notifications.from", "notifications.thresholds_days",
                 "notifications.rate_per_minute", "notifications.colour", "notifications.credential_file",
                 "schedule.remind[0]"):
        assert path in text, path


def test_plain_smtp_is_allowed_to_loopback_only_and_from_is_required(tmp_path):
    notifications = load_config(tmp_path, {"notifications": {
        "host": "127.0.0.1", "tls": "none", "from": "hwb@example.org"}}).notifications
    assert notifications.port == 25
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, {"notifications": {"host": "smtp.example.org"}})
    assert "notifications.from" in str(raised.value)
