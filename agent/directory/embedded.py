"""The embedded demo directory: ldap3's mock server, saved to a JSON state file.

DESIGN.md, "The embedded default": seeded on first use with what the caller hands
over (the generated demo local authority), saved after every write so that successive commands see each
other's changes. It is a way to see the agent work, not a production backend
(the mock has no ppolicy, no operational attributes of its own, and scans
linearly: LDAP-NOTES.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap3

from agent.directory.gateway import Directory
from agent.directory.mapping import EntryMapper
from agent.directory.private_files import replace_private
from agent.settings.directory import DirectorySettings

STATE_VERSION = 1

Entry = tuple[str, dict[str, list[str]]]
# Gives the entries of a new embedded directory, parents first, as of `now`.
Seed = Callable[[datetime], list[Entry]]


def open_embedded(settings: DirectorySettings, mapper: EntryMapper, seed: Seed | None,
                  now: datetime | None = None) -> Directory:
    """A bound mock connection loaded from the state file (seeded by `seed` when there is none)."""
    server = ldap3.Server("hwb-embedded", get_info=ldap3.NONE)
    password = settings.password.reveal() if settings.password else ""
    connection = ldap3.Connection(
        server,
        user=settings.bind_dn,
        password=password,
        client_strategy=ldap3.MOCK_SYNC,
        raise_exceptions=True,
    )
    state_file = settings.state_file
    if state_file is not None and state_file.is_file():
        _load(connection, state_file)
    elif seed is not None:
        for dn, attributes in seed(now or datetime.now(UTC)):
            connection.strategy.add_entry(dn, attributes)
    if settings.bind_dn:
        connection.strategy.add_entry(
            settings.bind_dn, {"objectClass": ["account", "simpleSecurityObject"],
                               "userPassword": password}
        )
    connection.bind()
    directory = Directory(settings, mapper, connection)
    if state_file is not None:
        directory.on_write = lambda: save(connection, state_file)
        if not state_file.is_file():
            save(connection, state_file)
    return directory


def _load(connection: Any, state_file: Path) -> None:
    data = json.loads(state_file.read_text(encoding="utf-8"))
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"{state_file}: unknown state file version {data.get('version')!r}")
    for entry in data["entries"]:
        connection.strategy.add_entry(entry["dn"], entry["attributes"], validate=False)


def save(connection: Any, state_file: Path) -> None:
    """Write every entry of the mock directory atomically (temp file + rename), mode 0600."""
    entries = []
    for dn, attributes in connection.server.dit.items():
        if dn.lower() == "cn=schema":
            continue
        entries.append({
            "dn": dn,
            "attributes": {
                name: [value.decode("utf-8") if isinstance(value, bytes) else str(value)
                       for value in values]
                for name, values in attributes.items()
                if name.lower() != "entrydn"
            },
        })
    # Every entry, names and mails included: owner-only whatever the umask (issue 11).
    with replace_private(state_file) as stream:
        json.dump({"version": STATE_VERSION, "entries": entries}, stream, ensure_ascii=False)
