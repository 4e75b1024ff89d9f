"""The `service:` configuration section: defaults, and every problem named by its YAML path."""

from __future__ import annotations

import pytest

from agent.settings.config import ConfigError
from agent.settings.service import ListenAddress, is_loopback, parse_listen
from tests.service.conftest import make_config


def test_a_file_without_a_service_section_gets_the_defaults():
    settings = make_config().service
    assert settings.metrics.listen is None  # no HTTP port unless asked: instances would collide
    assert settings.lease.enabled is False
    assert settings.lease.period_seconds == 60
    assert settings.lease.dn is None
    assert (settings.retry.initial_seconds, settings.retry.max_seconds) == (5.0, 300.0)


def test_a_full_service_section_is_read():
    settings = make_config(service={
        "metrics": {"listen": "[::1]:9464"},
        "lease": {"enabled": True, "holder": "ldap-agent-1", "period_seconds": 30,
                  "dn": "cn=lease,ou=people,dc=example,dc=org"},
        "retry": {"initial_seconds": 1, "max_seconds": 60},
    }).service
    assert settings.metrics.listen == ListenAddress("::1", 9464)
    assert str(settings.metrics.listen) == "[::1]:9464"
    assert settings.lease.holder == "ldap-agent-1"
    assert settings.lease.dn == "cn=lease,ou=people,dc=example,dc=org"
    assert settings.retry.max_seconds == 60


def test_every_problem_in_the_section_is_reported_with_its_path():
    with pytest.raises(ConfigError) as caught:
        make_config(service={
            "metrics": {"listen": "localhost", "port": 9464},
            "lease": {"enabled": "yes", "holder": "two words", "period_seconds": 1, "dn": "lease"},
            "retry": {"initial_seconds": 30, "max_seconds": 10},
            "watchdog": 5,
        })
    problems = "\n".join(caught.value.problems)
    for path in (
        "service.metrics.listen", "service.metrics.port", "service.lease.enabled",
        "service.lease.holder", "service.lease.period_seconds", "service.lease.dn",
        "service.retry.max_seconds",
        "service.watchdog",
    ):
        assert f"at '{path}'" in problems, path


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9464", ListenAddress("127.0.0.1", 9464)), ("localhost:0", ListenAddress("localhost", 0)),
     ("[::1]:80", ListenAddress("::1", 80))],
)
def test_listen_addresses_are_parsed(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9464", "127.0.0.1", "::1:9464", "127.0.0.1:99999", "host:port"])
def test_malformed_listen_addresses_are_refused(text):
    with pytest.raises(ValueError):
        parse_listen(text)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("metrics.example.org", False)],
)
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_an_enabled_lease_needs_its_entry_dn():
    with pytest.raises(ConfigError) as caught:
        make_config(service={"lease": {"enabled": True}})
    assert caught.value.problems == [
        "at 'service.lease.dn': is required when enabled is true (the lease entry, one per authority)"
    ]
