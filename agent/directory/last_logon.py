"""Active Directory's unreplicated sign-in time, read from every domain controller.

`lastLogonTimestamp` replicates with up to 14 days' lag; `lastLogon` is exact
but kept by each domain controller for itself. Before NM-4 disables an account
on Active Directory the sweep asks every configured DC (or, when none is
configured, the one it is connected to) and takes the latest value. A DC that
cannot be asked means no disable: the agent never disables on a stale value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import ldap3
from ldap3.core import exceptions as ldap_errors

from agent.core.errors import AgentError, DirectoryUnavailable
from agent.directory import codecs
from agent.directory.gateway import Directory

LAST_LOGON = "lastLogon"


class DomainControllerLogons:
    """Open connections to the domain controllers for one sweep; close with `close()`."""

    def __init__(self, directory: Directory, open_controller: Callable[[str], Directory]):
        """`open_controller(url)` binds to another domain controller of the same directory."""
        self.settings = directory.settings
        self.directory = directory
        self._open_controller = open_controller
        self._connections: dict[str, Directory] = {}
        # A DC that could not be reached stays unreachable for this sweep: every NM-4 candidate is
        # then flagged at once instead of waiting for a connect timeout each.
        self._failures: dict[str, str] = {}

    def _controllers(self) -> list[tuple[str, Directory]]:
        urls = self.settings.domain_controllers
        if not urls or self.settings.is_mock:
            return [(self.settings.url, self.directory)]
        found = []
        for url in urls:
            if url in self._failures:
                raise DirectoryUnavailable(self._failures[url])
            if url not in self._connections:
                try:
                    self._connections[url] = self._open_controller(url)
                except AgentError as error:
                    self._failures[url] = f"domain controller {url} cannot be asked: {error}"
                    raise DirectoryUnavailable(self._failures[url]) from None
            found.append((url, self._connections[url]))
        return found

    def latest(self, dn: str) -> datetime | None:
        """The latest `lastLogon` of `dn` over all domain controllers (None: never signed in)."""
        latest: datetime | None = None
        for url, controller in self._controllers():
            try:
                controller.connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE,
                                             attributes=[LAST_LOGON])
            except ldap_errors.LDAPException as error:
                raise DirectoryUnavailable(f"domain controller {url}: lastLogon of {dn!r}: {error}") from None
            result = controller.connection.result or {}
            if result.get("result") not in (0, None):
                raise DirectoryUnavailable(f"domain controller {url}: lastLogon of {dn!r}:"
                                           f" {result.get('description')} ({result.get('result')})")
            response = controller.connection.response or []
            values = (response[0].get("raw_attributes") or {}).get(LAST_LOGON, []) if response else []
            for value in values:
                text = value.decode() if isinstance(value, bytes) else str(value)
                moment = codecs.parse_filetime(text)
                if moment is not None and (latest is None or moment > latest):
                    latest = moment
        return latest

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
