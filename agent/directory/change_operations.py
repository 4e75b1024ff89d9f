"""The LDAP operations of one change to an account: the new state, its reason and its time
together, in one modify (C-4).

The state write is conditional on the value read (delete the old value + add the new one,
LDAP-NOTES.md), so that two writers racing on one account cannot both apply a change.
`conditional` also makes each touched lifecycle attribute conditional on the value read
(single-account administrator operations, issue 11): a writer who changed it meanwhile makes the
whole modify fail (noSuchAttribute, attributeOrValueExists or constraintViolation) instead of
being overwritten or doubled.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from agent.core.changes import Change
from agent.core.model import Account
from agent.directory.flavours import Operation
from agent.directory.mapping import EntryMapper


def operations_for(mapper: EntryMapper, account: Account, change: Change, *, conditional: bool = False
                   ) -> list[Operation]:
    """The operations of `change` to `account` as read (its object classes and state token)."""
    operations: list[Operation] = []
    if change.enabled is not None:
        state = mapper.flavour.write(change.enabled, account.state_token).operations
        operations.extend(_conditional_state(state, mapper.flavour.attribute, account.state_token))
    if conditional:
        operations.extend(_conditional_fields(mapper, account, change.fields))
    else:
        operations.extend(mapper.lifecycle_operations(change.fields))
    return mapper.auxiliary_operations(account, operations) + operations


def _conditional_fields(mapper: EntryMapper, account: Account, fields: Mapping[str, Any]) -> list[Operation]:
    operations: list[Operation] = []
    for name, value in fields.items():
        [(attribute, _, new)] = mapper.lifecycle_operations({name: value})
        if not hasattr(account, name):  # not in the snapshot (the refusal text): as before
            operations.append((attribute, "replace", new))
            continue
        old_value = getattr(account, name)
        if old_value is None:
            # Absent when read: an add fails if another writer set it meanwhile (single-valued).
            operations.append((attribute, "add", new) if new else (attribute, "replace", ()))
            continue
        [(_, _, old)] = mapper.lifecycle_operations({name: _plain_value(old_value)})
        if old == new:
            continue
        operations.append((attribute, "delete", old))
        if new:
            operations.append((attribute, "add", new))
    return operations


def _plain_value(value: Any) -> Any:
    """A snapshot value as the mapper encodes it (enumerations by their value)."""
    return value.value if isinstance(value, enum.Enum) else value


def _conditional_state(operations: Sequence[Operation], attribute: str, token: str | None) -> list[Operation]:
    """The flavour's state write made conditional on the value read: a `replace` of the state
    attribute becomes delete(old) + add(new) (add alone when it was absent, nothing when both are
    empty); a flavour that is conditional already (AD) is left as it is."""
    result: list[Operation] = []
    for name, operation, values in operations:
        if name != attribute or operation != "replace":
            result.append((name, operation, values))
            continue
        if token is None:
            result.append((name, "add", values) if values else (name, "replace", values))
            continue
        if tuple(values) == (token,):
            continue
        result.append((name, "delete", (token,)))
        if values:
            result.append((name, "add", values))
    return result
