"""Who may do what in the administrators' console (issue 13): the signed-in administrator's roles,
found in the directory, and the scope of each role, checked on every request.

- local-authority administrators (`web.roles.la_admins_group`): every account of the authority;
  create, activate (NM-5), extend (NM-6, NM-9);
- school administrators (a group per school, `web.roles.school_admins_group`): the accounts of
  their own schools and the non-MIS accounts they sponsor; the same operations on those non-MIS
  accounts, and create with themselves as sponsor;
- the service desk (`web.roles.service_desk_group`): staff accounts, and only the service-desk
  reactivation of a staff leaver, with its ticket (MIS-4).

An account outside the administrator's scope is answered as if it did not exist (NotInScope: the
console shows 404), so that a typed URL reveals nothing either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from agent.core.errors import AgentError
from agent.core.model import Account, Category, Role
from agent.directory.gateway import Directory
from agent.directory.people import AmbiguousPerson, People
from agent.directory.signin import password_is_valid
from agent.settings.config import Config


class ConsoleRole(enum.StrEnum):
    LA_ADMIN = "la-admin"
    SCHOOL_ADMIN = "school-admin"
    SERVICE_DESK = "service-desk"


class Operation(enum.StrEnum):
    VIEW = "view"
    ACTIVATE = "activate"
    EXTEND = "extend"
    SERVICE_DESK = "service-desk-reactivate"
    CREATE = "create"


class Subject(Protocol):
    """What scope looks at: an Account, or a row of the console's index."""

    @property
    def category(self) -> Category | None: ...
    @property
    def role(self) -> Role | None: ...
    @property
    def school(self) -> str | None: ...
    @property
    def sponsor(self) -> str | None: ...


class NotInScope(AgentError):
    """The account is not one this administrator may see or change (the console answers 404)."""


@dataclass(frozen=True)
class Administrator:
    """A signed-in administrator: who, and the roles and schools the directory gives them."""

    uid: str
    dn: str
    name: str
    mail: str | None
    roles: frozenset[ConsoleRole]
    schools: frozenset[str] = frozenset()

    def has(self, role: ConsoleRole) -> bool:
        return role in self.roles

    @property
    def manages_accounts(self) -> bool:
        return self.has(ConsoleRole.LA_ADMIN) or self.has(ConsoleRole.SCHOOL_ADMIN)


def administrator_of(directory: Directory, config: Config, uid: str) -> Administrator | None:
    """The person with this uid as an administrator of the console (None: no such person, disabled,
    ambiguous, or holding no role). Reads only: people and their groups (agent.directory.people)."""
    try:
        person = People(directory).find(uid.strip(), with_groups=True)
    except AmbiguousPerson:
        return None
    if person is None or not person.enabled:
        return None
    settings = config.web.roles
    roles: set[ConsoleRole] = set()
    if settings.la_admins_group and person.in_group(settings.la_admins_group):
        roles.add(ConsoleRole.LA_ADMIN)
    if settings.service_desk_group and person.in_group(settings.service_desk_group):
        roles.add(ConsoleRole.SERVICE_DESK)
    schools = frozenset(school for group in person.groups
                        if (school := settings.school_of_group(group)) is not None)
    if schools:
        roles.add(ConsoleRole.SCHOOL_ADMIN)
    if not roles:
        return None
    return Administrator(person.uid, person.dn, person.name or person.uid, person.mail,
                         frozenset(roles), schools)


def sign_in(directory: Directory, config: Config, uid: str, password: str) -> Administrator | None:
    """The administrator when `password` is theirs (a bind as their DN, agent.directory.signin),
    else None: the same answer for an unknown uid, a wrong password and a person without a role."""
    if not uid.strip() or not password:
        return None
    administrator = administrator_of(directory, config, uid)
    if administrator is None:
        return None
    if not password_is_valid(directory, administrator.dn, password):
        return None
    return administrator


def _sponsors(administrator: Administrator, account: Subject) -> bool:
    return (account.category is Category.NON_MIS and account.sponsor is not None
            and account.sponsor.strip().lower() == administrator.uid.lower())


def _is_staff(account: Subject) -> bool:
    return account.category is Category.MIS and account.role is Role.STAFF


def may(administrator: Administrator, operation: Operation, account: Subject | None = None) -> bool:
    """Whether `administrator` may do `operation` (to `account`, for the operations on one)."""
    if operation is Operation.CREATE:
        return administrator.manages_accounts
    if account is None:
        return False
    la_admin = administrator.has(ConsoleRole.LA_ADMIN)
    school_admin = administrator.has(ConsoleRole.SCHOOL_ADMIN) and (
        (account.school is not None and account.school in administrator.schools)
        or _sponsors(administrator, account))
    desk = administrator.has(ConsoleRole.SERVICE_DESK) and _is_staff(account)
    if operation is Operation.VIEW:
        return la_admin or school_admin or desk
    if operation in (Operation.ACTIVATE, Operation.EXTEND):
        return account.category is Category.NON_MIS and (la_admin or school_admin)
    if operation is Operation.SERVICE_DESK:
        return desk  # MIS-4: the service desk only
    return False


def require(administrator: Administrator, operation: Operation, account: Account) -> Account:
    """`account` when `administrator` may do `operation` to it; NotInScope otherwise (the same for an
    account they may not see and one that does not exist)."""
    if not may(administrator, Operation.VIEW, account) or not may(administrator, operation, account):
        raise NotInScope(f"no account {account.uid!r} for {administrator.uid}")
    return account


def sponsor_for_creation(administrator: Administrator, asked: str | None) -> str:
    """NM-1: the sponsor of a new account: the signed-in administrator by default; a school
    administrator can only sponsor it themselves (they would not see it otherwise)."""
    wanted = (asked or "").strip() or administrator.uid
    if not administrator.has(ConsoleRole.LA_ADMIN) and wanted.lower() != administrator.uid.lower():
        raise NotInScope(f"{administrator.uid} can only create accounts they sponsor themselves")
    return wanted
