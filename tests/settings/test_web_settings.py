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
