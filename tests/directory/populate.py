"""Fill the embedded mock directory with chosen accounts (instead of the demo population)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from agent.core.model import Account
from agent.directory import codecs
from agent.directory.connection import mapper_for
from agent.directory.embedded import STATE_VERSION
from agent.settings.config import Config

FIELDS = (
    "category",
    "role",
    "non_mis_type",
    "mis_id",
    "school",
    "mail",
    "sponsor",
    "leaving_date",
    "expiry_date",
    "disabled_at",
    "disabled_reason",
    "reactivated_at",
    "given_name",
    "surname",
)


def entry_for(config: Config, account: Account) -> tuple[str, dict[str, list[str]]]:
    mapper = mapper_for(config.directory, config.attributes)
    values = {name: getattr(account, name) for name in FIELDS}
    values = {name: (value.value if hasattr(value, "value") else value) for name, value in values.items()}
    values["uid"] = account.uid
    attributes = mapper.entry_attributes(values)
    attributes["objectClass"] = ["inetOrgPerson", "hwbAccount"]
    attributes.setdefault("sn", [account.uid])
    attributes.setdefault("cn", [account.uid])
    for name in ("created_at", "last_sign_in"):
        value = getattr(account, name)
        if value is not None:
            spec = mapper.attributes[name]
            attributes[spec.name] = [codecs.encode(spec.encoding, value)]
    if account.activation_request is not None:
        request = account.activation_request
        spec = mapper.attributes["activation_requested_at"]
        attributes[spec.name] = [codecs.encode(spec.encoding, request.requested_at)]
        attributes[mapper.attribute("activation_requested_by")] = [request.requested_by]
    for attribute, _, state_values in mapper.flavour.write(account.enabled, None).operations:
        if state_values:
            attributes[attribute] = list(state_values)
    return account.dn, attributes


def write_state(config: Config, accounts: Iterable[Account], extra: Iterable[tuple[str, dict]] = ()) -> Path:
    """Write a state file holding the base DN, `accounts` and `extra` entries; returns its path."""
    base = config.directory.base_dn
    entries = [{"dn": base, "attributes": {"objectClass": ["organizationalUnit"], "ou": ["people"]}}]
    for dn, attributes in [*map(lambda account: entry_for(config, account), accounts), *extra]:
        entries.append({"dn": dn, "attributes": attributes})
    path = config.directory.state_file
    assert path is not None
    path.write_text(json.dumps({"version": STATE_VERSION, "entries": entries}), encoding="utf-8")
    return path
