"""Opening the directory: the one place that chooses between a real server and the embedded one.

`open_directory` takes the `directory:` settings and the attribute map (never
the whole configuration), binds, and returns a `Directory`. A `mock:` URL
opens ldap3's mock server, loaded from its state file or, on first use, from
the `seed` the caller hands over (the demo local authority); the directory
layer itself knows nothing of the demo.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from agent.core.errors import DirectoryUnavailable
from agent.directory.embedded import Seed, open_embedded
from agent.directory.flavours import flavour_for
from agent.directory.gateway import Directory, discard_connection
from agent.directory.mapping import EntryMapper
from agent.directory.pipeline import lean_entries
from agent.settings.attributes import LIFECYCLE_FIELDS, AttributeSpec
from agent.settings.directory import DirectorySettings

AUXILIARY_CLASS = "hwbAccount"

__all__ = ["AUXILIARY_CLASS", "Seed", "mapper_for", "open_directory"]


def mapper_for(settings: DirectorySettings, attributes: Mapping[str, AttributeSpec]) -> EntryMapper:
    """How entries of this directory map to accounts: the attribute map and the flavour's rules."""
    flavour = flavour_for(settings.flavour)
    # Only an entry whose category lives outside hwbAccount can be a managed account without the
    # class (hwbCategory itself requires it); only then is objectClass worth reading (C-4).
    category_outside = attributes["category"].name.lower() not in {
        spec.name.lower() for spec in LIFECYCLE_FIELDS.values()}
    needs_class = flavour.auxiliary_class_needed and category_outside
    # The embedded mock compares GeneralizedTime as text: it keeps the one plain form.
    return EntryMapper(attributes, flavour, time_fraction=flavour.time_fraction and not settings.is_mock,
                       auxiliary_class=AUXILIARY_CLASS if needs_class else None)


def open_directory(settings: DirectorySettings, attributes: Mapping[str, AttributeSpec], *,
                   seed: Seed | None = None, url: str | None = None) -> Directory:
    """Open and bind a connection (the embedded directory for mock: URLs, seeded by `seed`).

    `url` names another server of the same directory (an AD domain controller).
    """
    mapper = mapper_for(settings, attributes)
    if settings.is_mock:
        return open_embedded(settings, mapper, seed)
    if url is not None:
        settings = replace(settings, url=url)
    connection = _open(settings)
    lean_entries(connection)
    # Opened on the first windowed write only, so reads and dry runs keep a single connection.
    writer: Callable[[], Any] | None = (
        functools.partial(_open, settings) if settings.max_writes_in_flight > 1 else None)
    return Directory(settings, mapper, connection, open_writer=writer)


def _open(settings: DirectorySettings) -> Any:
    """A bound SYNC connection with the agent's settings."""
    server = ldap3.Server(
        settings.url,
        get_info=ldap3.NONE,  # LDAP-NOTES: the default re-reads the schema on every bind
        connect_timeout=settings.timeout_seconds,
        tls=_tls(settings),
    )
    options: dict[str, Any] = {
        "client_strategy": ldap3.SYNC,
        "raise_exceptions": True,
        "receive_timeout": settings.timeout_seconds,
        "read_only": False,
        "return_empty_attributes": False,
        # The agent reads raw values only: without a schema (get_info=NONE) names cannot be checked
        # anyway, and this spares ldap3 formatting every value of every entry a second time.
        "check_names": False,
    }
    if settings.bind_dn:
        options.update(user=settings.bind_dn, authentication=ldap3.SIMPLE)
        if settings.password is not None:
            options["password"] = settings.password.reveal()
    elif settings.url.startswith("ldapi"):
        options.update(authentication=ldap3.SASL, sasl_mechanism=ldap3.EXTERNAL, sasl_credentials="")
    connection = ldap3.Connection(server, **options)
    # Bounded waits (issue 11): connect, StartTLS and bind are each bounded by the timeout, so
    # together they get one `timeout_seconds`: each step's socket waits get only what is left.
    deadline = time.monotonic() + settings.timeout_seconds
    try:
        connection.open()
        if settings.start_tls:
            _within(connection, deadline, settings.url)
            connection.start_tls()
        _within(connection, deadline, settings.url)
        connection.bind()
        _set_timeout(connection, settings.timeout_seconds)
    except ldap_errors.LDAPInvalidCredentialsResult:
        discard_connection(connection)
        raise DirectoryUnavailable(
            f"bind as {settings.bind_dn!r} refused: invalid credentials (check the password file)"
        ) from None
    except ldap_errors.LDAPException as error:
        discard_connection(connection)
        raise DirectoryUnavailable(f"cannot connect to {settings.url}: {error}") from None
    return connection


def _within(connection: Any, deadline: float, url: str) -> None:
    """Give the connection's next waits only what is left until `deadline` (none left: fail)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ldap_errors.LDAPSocketReceiveError(f"no answer from {url} within the timeout")
    _set_timeout(connection, left)


def _set_timeout(connection: Any, seconds: float) -> None:
    sock = getattr(connection, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


def tls_for(settings: DirectorySettings) -> ldap3.Tls | None:
    """The TLS settings of a connection to this directory (None for plain ldap:// without StartTLS);
    the console's sign-in binds (agent.directory.signin) use the same as the agent's own."""
    return _tls(settings)


def _tls(settings: DirectorySettings) -> ldap3.Tls | None:
    if not (settings.url.startswith("ldaps") or settings.start_tls):
        return None
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )
