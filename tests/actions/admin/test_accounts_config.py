"""The `accounts:` configuration section: every fault named by its YAML path."""

from __future__ import annotations

import pytest

from agent.settings import config as config_module
from agent.settings.accounts import AccountSettings
from agent.settings.config import ConfigError

BASE = {
    "local_authority": {"code": "681", "name": "Test"},
    "directory": {"url": "mock:", "base_dn": "ou=people,dc=x", "password": "p"},
}


def test_accounts_defaults_when_the_section_is_absent():
    config = config_module.parse(BASE)
    assert config.accounts == AccountSettings()


def test_accounts_section_is_read():
    section = {"ou": "ou=guests,ou=extra", "uid_template": "{g}{surname}", "uid_max_length": 20,
               "rdn_attribute": "cn", "object_classes": ["inetOrgPerson", "hwbAccount"]}
    config = config_module.parse({**BASE, "accounts": section})
    settings = config.accounts
    assert (settings.ou, settings.uid_template, settings.uid_max_length) == ("ou=guests,ou=extra",
                                                                             "{g}{surname}", 20)
    assert settings.object_classes == ("inetOrgPerson", "hwbAccount") and settings.rdn_attribute == "cn"


def test_accounts_faults_are_all_reported_with_their_paths():
    with pytest.raises(ConfigError) as raised:
        config_module.parse({**BASE, "accounts": {"ou": "non-mis", "uid_template": "{nick}",
                                                  "uid_max_length": 3, "colour": "blue"}})
    problems = raised.value.problems
    assert "at 'accounts.ou': expected a relative DN such as ou=non-mis, got 'non-mis'" in problems
    assert "at 'accounts.uid_template': unknown placeholder {nick} in '{nick}'" in problems
    assert any(problem.startswith("at 'accounts.uid_max_length': expected a whole number from 8")
               for problem in problems)
    assert "at 'accounts.colour': unknown key (a typo?)" in problems


def test_demo_configuration_is_valid():
    config = config_module.load("config/demo.yaml")
    assert config.accounts.ou == "ou=non-mis"
