"""Small helpers shared by the real-server tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import ldap3

from tests.servers.base import TestServer

_serial = itertools.count()


def unique(prefix: str) -> str:
    """A uid no other test uses (the servers are shared by the whole session)."""
    return f"{prefix}{next(_serial)}"


def single(value):
    """Without the server's schema (get_info=NONE, as the agent runs) ldap3 returns lists."""
    if isinstance(value, list):
        assert len(value) == 1, value
        return value[0]
    return value


def as_datetime(value) -> datetime | None:
    """A last sign-in as the server wrote it: GeneralizedTime, or FILETIME ticks on AD."""
    value = single(value)
    if isinstance(value, datetime):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.isdigit() and len(text) != 14:  # FILETIME: 100 ns ticks since 1601; 0 = never
        ticks = int(text)
        return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10) if ticks else None
    return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def agent(server: TestServer) -> ldap3.Connection:
    """A connection as the agent's service account, with only the rights the deployment gives it."""
    return server.connect(server.agent_dn, server.agent_password, check_names=False)


def read(connection: ldap3.Connection, dn: str, attributes: list[str]) -> dict:
    connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
    assert len(connection.response) == 1, connection.response
    return connection.response[0]["attributes"]
