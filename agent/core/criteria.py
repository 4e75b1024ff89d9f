"""A tiny filter language over the logical fields of an account.

The policy states which accounts *may* be due at a given time as a criterion
(POLICY.md, DESIGN.md "Performance shape"); the directory layer renders it to
an LDAP filter for its flavour, and `matches` evaluates it on a snapshot so the
policy can be tested without a server. No ldap3 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from agent.core.model import Account

Value = str | date | datetime


@dataclass(frozen=True)
class Present:
    field: str


@dataclass(frozen=True)
class Equals:
    field: str
    value: str


@dataclass(frozen=True)
class AtMost:
    """field <= value (dates compare as dates, instants as instants)."""

    field: str
    value: date | datetime


@dataclass(frozen=True)
class IsEnabled:
    enabled: bool


@dataclass(frozen=True)
class Not:
    operand: Criterion


@dataclass(frozen=True)
class And:
    operands: tuple[Criterion, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Criterion, ...]


Criterion = Present | Equals | AtMost | IsEnabled | Not | And | Or


def all_of(*operands: Criterion) -> And:
    return And(tuple(operands))


def any_of(*operands: Criterion) -> Or:
    return Or(tuple(operands))


def absent_or_at_most(field: str, value: date | datetime) -> Or:
    return any_of(Not(Present(field)), AtMost(field, value))


def field_value(account: Account, field: str) -> object:
    if field == "activation_requested_at":
        request = account.activation_request
        return request.requested_at if request else None
    return getattr(account, field)


def matches(criterion: Criterion, account: Account) -> bool:
    """Evaluate `criterion` on a snapshot, as a directory server would on the entry."""
    match criterion:
        case Present(field):
            if field == "activation_requested_at":
                return account.activation_request is not None
            return field_value(account, field) is not None
        case Equals(field, value):
            actual = field_value(account, field)
            return actual is not None and str(actual).lower() == value.lower()
        case AtMost(field, value):
            actual = field_value(account, field)
            if actual is None:
                return False
            if not isinstance(actual, date):  # a datetime is a date too
                # As comparing would: only dates and instants have an order here.
                raise TypeError(f"{field} is not a date: {actual!r}")
            return actual <= value
        case IsEnabled(enabled):
            return account.enabled is enabled
        case Not(operand):
            return not matches(operand, account)
        case And(operands):
            return all(matches(operand, account) for operand in operands)
        case Or(operands):
            return any(matches(operand, account) for operand in operands)
    raise TypeError(f"not a criterion: {criterion!r}")
