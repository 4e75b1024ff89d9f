"""`directory.national_base_dn` (issue 15): optional; when given it must contain base_dn, and a
wrong value is refused naming its YAML path."""

from __future__ import annotations

import pytest

from agent.settings.config import ConfigError
from tests.builders import load_config

BASE = "ou=people,dc=test,dc=example"


def test_national_base_dn_is_optional_and_unset_by_default(tmp_path) -> None:
    assert load_config(tmp_path).directory.national_base_dn is None


def test_a_national_base_dn_above_base_dn_is_kept(tmp_path) -> None:
    config = load_config(tmp_path, {"directory": {"base_dn": f"ou=681,{BASE}", "national_base_dn": BASE}})
    assert config.directory.national_base_dn == BASE


@pytest.mark.parametrize("national, why", [
    ("ou=other,dc=test,dc=example", "must contain base_dn"),
    (BASE.upper(), "is base_dn itself"),
    ("not a dn", "not a valid DN"),
])
def test_a_national_base_dn_that_does_not_contain_base_dn_is_refused_naming_its_path(
        tmp_path, national: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {"directory": {"national_base_dn": national}})
    assert "at 'directory.national_base_dn'" in str(caught.value)
    assert why in str(caught.value)
