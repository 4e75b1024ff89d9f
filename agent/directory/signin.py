"""Sign-in for the administrators' console: a simple bind as the person, on a new connection.

The person is found first (agent.directory.people, by uid); their password is then checked by the
directory itself, by binding as their DN on a connection of its own that is closed at once, so the
agent's own connection (and rights) are never involved. Outside loopback that bind goes over TLS
(ldaps:// or StartTLS, with the directory's CA file): an administrator's password never crosses the
network in clear, whatever `directory.allow_plaintext` allows the agent's own bind. On the embedded
mock directory the bind is checked by the mock against the entry's userPassword.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

import ldap3
from ldap3.core import exceptions as ldap_errors

from agent.core.errors import DirectoryUnavailable
from agent.directory.connection import tls_for
from agent.directory.gateway import Directory, discard_connection
from agent.settings.service import is_loopback


def password_is_valid(directory: Directory, dn: str, password: str) -> bool:
    """Whether the directory accepts `password` for `dn` (False for an empty password: LDAP would
    take that for an anonymous bind and say yes). DirectoryUnavailable when the server cannot be
    reached or the bind could only go in clear text."""
    if not password or not dn:
        return False
    settings = directory.settings
    if settings.is_mock:
        connection = ldap3.Connection(directory.connection.server, user=dn, password=password,
                                      client_strategy=ldap3.MOCK_SYNC, raise_exceptions=False)
        try:
            return bool(connection.bind())
        finally:
            discard_connection(connection)
    parsed = urlparse(settings.url)
    if (parsed.scheme == "ldap" and not settings.start_tls
            and not is_loopback(parsed.hostname or "")):
        raise DirectoryUnavailable(
            f"sign-in refused: {settings.url} without StartTLS would send the administrator's"
            " password in clear text (use ldaps:// or directory.start_tls: true)")
    server = ldap3.Server(settings.url, get_info=ldap3.NONE, connect_timeout=settings.timeout_seconds,
                          tls=tls_for(settings))
    connection = ldap3.Connection(server, user=dn, password=password, authentication=ldap3.SIMPLE,
                                  client_strategy=ldap3.SYNC, raise_exceptions=True,
                                  receive_timeout=settings.timeout_seconds, read_only=True)
    started = time.monotonic()
    try:
        connection.open()
        if settings.start_tls:
            connection.start_tls()
        connection.bind()
        return True
    except ldap_errors.LDAPInvalidCredentialsResult:
        return False
    except ldap_errors.LDAPOperationResult as error:
        # A locked or disabled account (ppolicy, AD) is refused by the server: not signed in.
        if error.result in (49, 50, 53):  # invalidCredentials, insufficientAccessRights, unwillingToPerform
            return False
        raise DirectoryUnavailable(f"sign-in bind refused by the server: {error.description}") from None
    except ldap_errors.LDAPException as error:
        waited = time.monotonic() - started
        raise DirectoryUnavailable(f"cannot reach {settings.url} to check a sign-in after {waited:.1f}s:"
                                   f" {type(error).__name__}") from None
    finally:
        discard_connection(connection)
