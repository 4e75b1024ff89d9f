"""The `mis:` configuration section: defaults, overrides, and errors named by YAML path."""

from __future__ import annotations

from typing import Any

import pytest

import agent.actions.mis  # noqa: F401  (registers the `mis:` section)
from agent.core.mis.settings import GuardSettings, MisSettings, UidSettings
from agent.core.model import Role
from agent.settings.config import ConfigError, parse

BASE: dict[str, Any] = {
    "local_authority": {"code": "681", "name": "Cardiff"},
    "directory": {"url": "mock:", "base_dn": "ou=people,dc=example,dc=org"},
}


def mis(section: Any) -> MisSettings:
    return parse({**BASE, "mis": section}).mis


def problems(section: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse({**BASE, "mis": section})
    return raised.value.problems


def test_absent_section_gives_the_documented_defaults() -> None:
    settings = parse(BASE).mis
    assert settings == MisSettings()
    assert settings.role_for("Student") is Role.LEARNER
    assert {settings.role_for(role) for role in ("teacher", "administrator", "aide")} == {Role.STAFF}
    assert settings.create_ou == "ou=mis"
    assert settings.guard == GuardSettings(max_loss_percent=10.0, loss_floor=2, max_creates=2000,
                                           max_leavers=500)


def test_every_key_can_be_set() -> None:
    settings = mis({
        "roles": {"student": "learner", "teacher": "staff", "proctor": "staff"},
        "ignored_roles": ["guardian", "parent"],
        "learner_id_column": "metadata.upn",
        "learner_user_id_type": "DfE-UPN",
        "former_id_types": ["OldUPN"],
        "accept_temporary_upns": False,
        "staff_id_column": "sourcedId",
        "school_id_column": "schoolNumber",
        "create_ou": "ou=mis,ou=people",
        "uid": {"scheme": "given.surname", "max_length": 30},
        "guard": {"max_loss_percent": 5, "loss_floor": 0, "max_creates": 10, "max_leavers": 20},
    })
    assert settings.role_for("proctor") is Role.STAFF and settings.role_for("aide") is None
    assert settings.ignored_roles == {"guardian", "parent"}
    assert settings.former_id_types == ("OldUPN",)
    assert (settings.staff_id_column, settings.school_id_column) == ("sourcedId", "schoolNumber")
    assert settings.uid == UidSettings("given.surname", 30)
    assert settings.guard == GuardSettings(5.0, 0, 10, 20)
    assert not settings.accept_temporary_upns


def test_role_mapping_cannot_be_changed_after_loading() -> None:
    with pytest.raises(TypeError):
        mis({}).roles["guardian"] = Role.STAFF  # type: ignore[index]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"roles": {"pupil": "learner"}}, "at 'mis.roles.pupil': unknown OneRoster role"),
        ({"roles": {"student": "pupil"}}, "at 'mis.roles.student': expected one of learner, staff"),
        ({"roles": {}}, "at 'mis.roles': map at least one OneRoster role"),
        ({"roles": {"aide": "staff"}, "ignored_roles": ["aide"]}, "at 'mis.ignored_roles': role 'aide'"),
        ({"staff_id_column": ""}, "at 'mis.staff_id_column': must not be empty"),
        ({"create_ou": "mis"}, "at 'mis.create_ou': expected a relative DN"),
        ({"accept_temporary_upns": "yes"}, "at 'mis.accept_temporary_upns': expected true or false"),
        ({"uid": {"scheme": "surname"}}, "at 'mis.uid.scheme': expected one of initial-surname"),
        ({"uid": {"max_length": 3}}, "at 'mis.uid.max_length': expected a whole number from 6"),
        ({"guard": {"max_loss_percent": 150}}, "at 'mis.guard.max_loss_percent': expected a number"),
        ({"guard": {"max_creates": -1}}, "at 'mis.guard.max_creates'"),
        ({"guard": {"limit": 1}}, "at 'mis.guard.limit': unknown key"),
        ({"staff_column": "x"}, "at 'mis.staff_column': unknown key"),
        (["roles"], "at 'mis': expected a mapping"),
    ],
)
def test_every_error_names_its_yaml_path(section: Any, expected: str) -> None:
    found = problems(section)
    assert any(problem.startswith(expected) for problem in found), found


def test_all_errors_are_reported_together() -> None:
    assert len(problems({"create_ou": "mis", "uid": {"scheme": "x"}, "guard": {"loss_floor": "two"}})) == 3
