"""The agent's vocabulary: account snapshots and the values of their lifecycle fields.

Everything here is plain immutable data. The directory layer turns entries into
`Account` snapshots; the policy turns snapshots into decisions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Category(enum.StrEnum):
    MIS = "mis"
    NON_MIS = "non-mis"


class Role(enum.StrEnum):
    LEARNER = "learner"
    STAFF = "staff"


class NonMisType(enum.StrEnum):
    TEMPORARY_STAFF = "temporary-staff"
    GOVERNOR = "governor"
    CONSORTIUM_STAFF = "consortium-staff"
    LA_STAFF = "la-staff"
    SUPPLY_TEACHER = "supply-teacher"
    STAKEHOLDER = "stakeholder"
    SERVICE = "service"


class Duration(enum.StrEnum):
    """The durations an administrator may choose for a non-MIS account (NM-1)."""

    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"
    SIX_MONTHS = "6m"
    END_OF_ACADEMIC_YEAR = "eoy"


class Reason(enum.StrEnum):
    """Why an account is disabled. The agent owns all but `admin` (C-9)."""

    LEFT = "left"
    EXPIRED = "expired"
    INACTIVE = "inactive"
    POLICY = "policy"
    ADMIN = "admin"



class Action(enum.StrEnum):
    NONE = "none"
    DISABLE = "disable"
    ENABLE = "enable"
    PURGE = "purge"
    FLAG = "flag"


@dataclass(frozen=True)
class FieldProblem:
    """A lifecycle attribute that could not be read (C-7)."""

    attribute: str
    value: str
    detail: str


@dataclass(frozen=True)
class ActivationRequest:
    """A pending activation request written by a portal or the command line (C-1)."""

    requested_at: datetime | None
    requested_by: str
    duration: Duration | None = None


@dataclass(frozen=True)
class Account:
    """One account as read from the directory at one moment.

    Dates (`leaving_date`, `expiry_date`) are calendar dates; `*_at` fields and
    `last_sign_in` / `created_at` are aware UTC instants. Fields the entry does
    not carry are None. `problems` lists attributes that could not be parsed;
    an account with problems is never acted on (C-7).
    """

    dn: str
    uid: str
    category: Category | None
    enabled: bool
    role: Role | None = None
    non_mis_type: NonMisType | None = None
    mis_id: str | None = None
    school: str | None = None
    local_authority: str | None = None
    given_name: str | None = None
    surname: str | None = None
    display_name: str | None = None
    mail: str | None = None
    sponsor: str | None = None
    leaving_date: date | None = None
    expiry_date: date | None = None
    duration: Duration | None = None
    disabled_at: datetime | None = None
    disabled_reason: Reason | None = None
    reactivated_at: datetime | None = None
    reactivated_by: str | None = None
    reactivation_ticket: str | None = None
    last_sign_in: datetime | None = None
    created_at: datetime | None = None
    activation_request: ActivationRequest | None = None
    # The last refused activation request, as written for the portal: "TIME RULE: message".
    activation_refusal: str | None = None
    # The flavour's raw enabled-state value as read, so that a write can be made
    # conditional on it (AD userAccountControl); opaque to the policy.
    state_token: str | None = None
    problems: tuple[FieldProblem, ...] = field(default=())
    # Object classes as read (lower case; empty when not read), so that the first lifecycle
    # attribute written to an entry without the auxiliary class adds it in the same modify (C-4).
    object_classes: frozenset[str] = frozenset()
    # Reminder keys already sent to the sponsor (hwbReminderSent, multi-valued; issue 14).
    reminders_sent: frozenset[str] = frozenset()
    # Issue 15: the DN it had in another authority before a transfer in, and when (hwbTransferred*).
    transferred_from: str | None = None
    transferred_at: datetime | None = None

    @property
    def name(self) -> str:
        if self.display_name:
            return self.display_name
        parts = [part for part in (self.given_name, self.surname) if part]
        return " ".join(parts) if parts else self.uid

    @property
    def is_learner(self) -> bool:
        return self.role is Role.LEARNER
