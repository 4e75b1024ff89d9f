"""The `mis:` configuration section: how OneRoster feeds map onto MIS accounts.

Parsed into `config.mis`, a frozen `MisSettings` (agent.core.mis.settings). Every problem is named by
its YAML path (``at 'mis.guard.max_loss_percent': ...``), like the core sections.

```yaml
mis:
  roles:                     # OneRoster role -> MIS role (learner | staff)
    student: learner
    teacher: staff
    administrator: staff
    aide: staff
  ignored_roles: [guardian, parent, relative, proctor]   # skipped without an error
  learner_id_column: identifier   # users.csv column with the UPN ...
  learner_user_id_type: UPN       # ... else the userIds entry {UPN:...}
  former_id_types: [FormerUPN, TemporaryUPN]  # userIds entries naming a learner's earlier UPN
  accept_temporary_upns: true
  staff_id_column: identifier     # users.csv column identifying staff
  school_id_column: identifier    # orgs.csv column holding the school number
  create_ou: ou=mis               # where new MIS accounts go, relative to directory.base_dn
  org_registry_dn: cn=hwb-agent-orgs,ou=services,dc=example,dc=org   # organisations of earlier packages
  uid:
    scheme: initial-surname       # initial-surname (jsmith, jsmith2) | given.surname (john.smith)
    max_length: 20
  guard:                          # C-8, per import
    max_loss_percent: 10          # a school losing more of its learners (or staff) is held
    loss_floor: 2                 # ... unless it loses at most this many (small schools)
    max_creates: 2000             # more creates in one feed hold the whole feed
    max_leavers: 500              # more leavers in one feed hold the whole feed
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from agent.core.mis.settings import (
    ONEROSTER_ROLES,
    GuardSettings,
    MisSettings,
    UidScheme,
    UidSettings,
)
from agent.core.model import Role
from agent.settings.reader import Reader

_DN = re.compile(r"[A-Za-z][\w-]*=[^,]+(,\s*[A-Za-z][\w-]*=[^,]+)+")


def parse_mis(reader: Reader) -> MisSettings:
    """Read `mis:` through the config module's path-recording reader (agent.settings.reader)."""
    defaults = MisSettings()
    roles = _roles(reader, defaults)
    ignored = reader.string_list("ignored_roles") if reader.raw("ignored_roles") is not None else None
    ignored_roles = (
        frozenset(role.lower() for role in ignored) if ignored is not None else defaults.ignored_roles
    )
    for role in sorted(set(roles) & ignored_roles):
        reader.fail("ignored_roles", f"role {role!r} is both mapped in mis.roles and ignored")
    former = reader.string_list("former_id_types") if reader.raw("former_id_types") is not None else None
    create_ou = reader.string("create_ou", defaults.create_ou)
    if create_ou and "=" not in create_ou:
        reader.fail("create_ou", f"expected a relative DN such as 'ou=mis', got {create_ou!r}")
    registry = reader.string("org_registry_dn") or None
    if registry is not None and not _DN.fullmatch(registry):
        reader.fail("org_registry_dn", f"expected a DN such as cn=hwb-agent-orgs,ou=services,dc=example,"
                                       f"dc=org, got {registry!r}")
    settings = MisSettings(
        roles=roles,
        ignored_roles=ignored_roles,
        learner_id_column=_column(reader, "learner_id_column", defaults.learner_id_column),
        learner_user_id_type=_column(reader, "learner_user_id_type", defaults.learner_user_id_type),
        former_id_types=former if former is not None else defaults.former_id_types,
        accept_temporary_upns=reader.boolean("accept_temporary_upns", defaults.accept_temporary_upns),
        staff_id_column=_column(reader, "staff_id_column", defaults.staff_id_column),
        school_id_column=_column(reader, "school_id_column", defaults.school_id_column),
        create_ou=create_ou or "",
        uid=_uid(reader),
        guard=_guard(reader),
        org_registry_dn=registry,
    )
    reader.finish()
    return settings


def _column(reader: Reader, key: str, default: str) -> str:
    value = reader.string(key, default)
    if not value:
        reader.fail(key, "must not be empty")
        return default
    return value


def _roles(reader: Reader, defaults: MisSettings) -> Mapping[str, Role]:
    if reader.raw("roles") is None:
        return defaults.roles
    section = reader.section("roles")
    mapping: dict[str, Role] = {}
    for key in sorted(section.data, key=str):
        name = str(key).strip().lower()
        if name not in ONEROSTER_ROLES:
            section.fail(str(key), f"unknown OneRoster role; known roles: {', '.join(ONEROSTER_ROLES)}")
            section.raw(key)
            continue
        value = section.choice(key, [role.value for role in Role], None)
        if value is not None:
            mapping[name] = Role(value)
    if isinstance(reader.data.get("roles"), dict) and not section.data:
        section.fail(None, "map at least one OneRoster role to learner or staff")
    return MappingProxyType(mapping)


def _uid(reader: Reader) -> UidSettings:
    section = reader.section("uid")
    settings = UidSettings(
        scheme=section.choice("scheme", list(UidScheme.ALL), UidScheme.INITIAL_SURNAME)
        or UidScheme.INITIAL_SURNAME,
        max_length=section.integer("max_length", 20, 6, 64),
    )
    section.finish()
    return settings


def _guard(reader: Reader) -> GuardSettings:
    section = reader.section("guard")
    settings = GuardSettings(
        max_loss_percent=section.number("max_loss_percent", 10.0, 0.0, 100.0),
        loss_floor=section.integer("loss_floor", 2, 0, 1_000_000),
        max_creates=section.integer("max_creates", 2000, 0, 10_000_000),
        max_leavers=section.integer("max_leavers", 500, 0, 10_000_000),
    )
    section.finish()
    return settings

