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
    # Issue 15 (MIS-3): a learner's account found in another authority's subtree of the national
    # directory, moved in under this authority's base DN (one audited operation, never a second
    # account for the same UPN anywhere in Wales).
    TRANSFER = "transfer"


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
    # A transfer (issue 15): `dn` is where the account is now (another authority's subtree) and
    # `container` where it goes under this base DN. `enable`: it was disabled as a leaver, so the
    # same operation re-enables it (MIS-3). `saved_from_deletion`: disabled or left more than 11
    # months ago, so the sending authority would have purged it soon (MIS-5).
    enable: bool = False
    saved_from_deletion: bool = False

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
class PlanFlag:
    """Reported for a person, never acted on: a staff member's account found in another
    authority (MIS-4: the service desk decides), with the DN where it was found."""

    rule: str
    detail: str
    mis_id: str
    dn: str
    source_file: str | None = None
    source_row: int | None = None
    uid: str = ""


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
    # For the service desk, not changes (issue 15, MIS-4): a plan with only flags is still empty.
    flags: tuple[PlanFlag, ...] = ()

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
        kinds = [kind for kind in ActionKind if kind is not ActionKind.TRANSFER]
        return {kind.value: counted.get(kind.value, 0) for kind in kinds} | {
            "held": len(self.held),
            "row_errors": len(self.row_errors),
            "problems": len(self.problems),
            # Issue 15, last so that the older counts keep their order.
            "transfer": counted.get(ActionKind.TRANSFER.value, 0),
            "flags": len(self.flags),
        }


__all__ = [
    "ActionKind",
    "FieldChange",
    "FieldValue",
    "GuardTrip",
    "PlanFlag",
    "PlanProblem",
    "ProvisioningAction",
    "ProvisioningPlan",
]
