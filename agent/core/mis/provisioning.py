"""What a provisioning plan is made of, as immutable values (built by `agent.core.mis.plan`).

Each `ProvisioningAction` is one LDAP add or one LDAP modify (C-4); the apply step
writes one audit record per action carrying its rule id, feed file and row, and
before/after values (C-6). `GuardTrip`s are the C-8 limits a plan would exceed
(`agent.core.mis.guard`), `PlanProblem`s what the planner would not act on (C-7).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import date

from agent.core.mis.feed import RowError
from agent.core.model import Role

FieldValue = str | date | None


class ActionKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"
    LEAVER = "leaver"


@dataclass(frozen=True)
class FieldChange:
    """One logical field (agent/directory/fields.py names) with its value before and after."""

    field: str
    before: FieldValue
    after: FieldValue


@dataclass(frozen=True)
class ProvisioningAction:
    """One change to one account: a single LDAP add (create) or modify (the rest).

    `dn` is the existing entry (None for a create); a create goes to
    `container` (relative to the base DN) as ``uid=<uid>``. `source_file` and
    `source_row` name the feed row that caused it (`source_row` None for an
    account missing from a bulk file). `schools` are the schools the action
    touches, before and after, for the guard and for reports.
    """

    kind: ActionKind
    rule: str
    uid: str
    role: Role
    mis_id: str
    changes: tuple[FieldChange, ...]
    detail: str
    source_file: str
    source_row: int | None
    schools: tuple[str, ...]
    dn: str | None = None
    container: str | None = None

    @property
    def fields(self) -> dict[str, FieldValue]:
        """Logical field -> new value (None = remove the attribute)."""
        return {change.field: change.after for change in self.changes}

    def change(self, field: str) -> FieldChange | None:
        return next((change for change in self.changes if change.field == field), None)


@dataclass(frozen=True)
class GuardTrip:
    """A C-8 limit the plan would exceed. `school` None: a limit on the whole feed."""

    school: str | None
    role: Role | None
    would: int
    limit: float
    out_of: int | None
    reason: str


@dataclass(frozen=True)
class PlanProblem:
    """Something the planner would not act on (C-7), with what it is about."""

    detail: str
    mis_id: str | None = None
    dn: str | None = None
    source_file: str | None = None
    source_row: int | None = None


@dataclass(frozen=True)
class ProvisioningPlan:
    """`actions` are safe to apply; `held` are stopped by the guard (`trips` say why)."""

    feed_date: date
    today: date
    actions: tuple[ProvisioningAction, ...]
    held: tuple[ProvisioningAction, ...]
    trips: tuple[GuardTrip, ...]
    confirmed: bool
    problems: tuple[PlanProblem, ...]
    row_errors: tuple[RowError, ...]
    # Where feed_date came from (Feed.feed_date_source): "mtime" is worth a warning.
    feed_date_source: str = "manifest"

    @property
    def guard_tripped(self) -> bool:
        return bool(self.trips)

    @property
    def needs_confirmation(self) -> bool:
        """C-8: the command line exits 4 unless the operator confirms (--confirm-mass-change)."""
        return bool(self.held)

    @property
    def held_schools(self) -> frozenset[str | None]:
        return frozenset(trip.school for trip in self.trips)

    @property
    def is_empty(self) -> bool:
        return not self.actions and not self.held

    def counts(self) -> dict[str, int]:
        counted = Counter(action.kind.value for action in self.actions)
        return {kind.value: counted.get(kind.value, 0) for kind in ActionKind} | {
            "held": len(self.held),
            "row_errors": len(self.row_errors),
            "problems": len(self.problems),
        }


__all__ = [
    "ActionKind",
    "FieldChange",
    "FieldValue",
    "GuardTrip",
    "PlanProblem",
    "ProvisioningAction",
    "ProvisioningPlan",
]
