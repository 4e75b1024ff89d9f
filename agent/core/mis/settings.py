"""What the `mis:` section of the configuration says, as frozen values (parsed in agent.settings.mis).

How OneRoster feeds map onto MIS accounts: role mapping, identifier columns,
the uid scheme, the container OU and the import's guard (C-8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from agent.core.model import Role

ONEROSTER_ROLES = (
    "administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher",
)

DEFAULT_ROLES: Mapping[str, Role] = MappingProxyType({
    "student": Role.LEARNER,
    "teacher": Role.STAFF,
    "administrator": Role.STAFF,
    "aide": Role.STAFF,
})


class UidScheme:
    INITIAL_SURNAME = "initial-surname"
    GIVEN_DOT_SURNAME = "given.surname"
    ALL = (INITIAL_SURNAME, GIVEN_DOT_SURNAME)


@dataclass(frozen=True)
class GuardSettings:
    """C-8 for MIS imports: what one feed may do without an operator's confirmation."""

    max_loss_percent: float = 10.0
    loss_floor: int = 2
    max_creates: int = 2000
    max_leavers: int = 500


@dataclass(frozen=True)
class UidSettings:
    scheme: str = UidScheme.INITIAL_SURNAME
    max_length: int = 20


@dataclass(frozen=True)
class MisSettings:
    roles: Mapping[str, Role] = field(default_factory=lambda: DEFAULT_ROLES)
    ignored_roles: frozenset[str] = frozenset({"guardian", "parent", "relative", "proctor"})
    learner_id_column: str = "identifier"
    learner_user_id_type: str = "UPN"
    former_id_types: tuple[str, ...] = ("FormerUPN", "TemporaryUPN")
    accept_temporary_upns: bool = True
    staff_id_column: str = "identifier"
    school_id_column: str = "identifier"
    create_ou: str = "ou=mis"
    uid: UidSettings = field(default_factory=UidSettings)
    guard: GuardSettings = field(default_factory=GuardSettings)
    # The entry that remembers organisations from earlier packages, for deltas that omit or only
    # partly list orgs.csv (core/mis/org_registry.py). None: every package must list its orgs.
    org_registry_dn: str | None = None

    def role_for(self, oneroster_role: str) -> Role | None:
        return self.roles.get(oneroster_role.strip().lower())
