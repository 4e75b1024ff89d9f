"""The `web:` section (agent/settings/web.py): defaults, errors by YAML path, the View Details link."""

from __future__ import annotations

import pytest

from agent.core.errors import ConfigError
from tests.builders import load_config


def test_defaults_serve_on_loopback_without_links(tmp_path):
    web = load_config(tmp_path).web
    assert (str(web.listen), web.base_url, web.details_url("a.b")) == ("127.0.0.1:8080", None, None)


def test_base_url_gives_the_view_details_link_of_an_account(tmp_path):
    overrides = {"web": {"base_url": "https://hwb-admin.example.org/", "listen": "[::1]:9000"}}
    web = load_config(tmp_path, overrides).web
    assert web.details_url("nm o'neil") == "https://hwb-admin.example.org/accounts/nm%20o%27neil"
    assert str(web.listen) == "[::1]:9000"


def test_bad_values_are_named_by_their_yaml_path(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, {"web": {"base_url": "hwb-admin", "listen": "nowhere", "colour": "red"}})
    text = str(raised.value)
    assert "web.base_url" in text and "web.listen" in text and "web.colour" in text


def test_the_consoles_roles_and_limits_are_read(tmp_path):
    overrides = {"web": {
        "idle_timeout_minutes": 10, "page_size": 50, "trusted_proxies": 1,
        "sign_in": {"max_failures": 3, "window_minutes": 5, "failure_delay_seconds": 1.5},
        "roles": {"la_admins_group": "cn=hwb-la-admins,ou=groups,dc=example,dc=org",
                  "service_desk_group": "cn=desk,ou=groups,dc=example,dc=org",
                  "school_admins_group": "cn=school-admins-{school},ou=groups,dc=example,dc=org"}}}
    web = load_config(tmp_path, overrides).web
    assert (web.idle_timeout_minutes, web.page_size, web.trusted_proxies) == (10, 50, 1)
    assert (web.sign_in.max_failures, web.sign_in.window_minutes, web.sign_in.failure_delay_seconds) == (
        3, 5, 1.5)
    roles = web.roles
    assert roles.school_of_group("CN=school-admins-6812001, ou=groups,dc=example,dc=org") == "6812001"
    assert roles.school_of_group("cn=school-admins-6812001,ou=other,dc=example,dc=org") is None
    assert roles.school_of_group("cn=hwb-la-admins,ou=groups,dc=example,dc=org") is None


def test_secure_cookies_follow_an_https_base_url_unless_set(tmp_path):
    assert load_config(tmp_path, {"web": {"base_url": "https://a.example"}}).web.cookies_secure
    assert not load_config(tmp_path, {"web": {"base_url": "http://a.example"}}).web.cookies_secure
    assert not load_config(tmp_path, {"web": {"base_url": "https://a.example",
                                              "secure_cookies": False}}).web.cookies_secure


def test_bad_roles_and_a_public_listen_are_named_by_their_yaml_path(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, {"web": {"listen": "0.0.0.0:8080", "roles": {
            "la_admins_group": "admins", "school_admins_group": "cn=school-admins,ou=groups,dc=x",
            "teachers_group": "cn=t,dc=x"}}})
    text = str(raised.value)
    assert "at 'web.listen'" in text and "TLS reverse proxy" in text
    assert "at 'web.roles.la_admins_group'" in text
    assert "at 'web.roles.school_admins_group'" in text and "{school}" in text
    assert "at 'web.roles.teachers_group'" in text


def test_a_public_listen_is_allowed_on_purpose(tmp_path):
    web = load_config(tmp_path, {"web": {"listen": "0.0.0.0:8080", "allow_non_loopback": True}}).web
    assert web.allow_non_loopback and str(web.listen) == "0.0.0.0:8080"
