"""The failover lease store of a configuration, for the service face.

Built here so that the faces need not import agent.directory (DESIGN.md "Shape of the
code": faces call actions, and only actions reach the directory layer). The store lives in
the same directory as the accounts and shares the connection the service's job holds:
`directory()` returns that bound `Directory` (reconnecting after an outage), and the store
takes its `connection` afresh for every read and swap.

`Directory` is re-exported for the same reason: the service's job keeps one open between
runs and names its type.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.actions.lease import LeaseStore
from agent.directory.gateway import Directory
from agent.directory.lease_store import LdapLeaseStore
from agent.settings.attributes import Flavour
from agent.settings.config import Config, ConfigError

__all__ = ["Directory", "lease_store_for"]


def lease_store_for(config: Config, directory: Callable[[], Directory]) -> LeaseStore:
    """The LDAP lease entry `service.lease.dn`, reached through `directory()` at each use."""
    dn = config.service.lease.dn
    if dn is None:  # the settings refuse this when the lease is enabled; checked for other callers
        raise ConfigError(config.source, ["at 'service.lease.dn': is required when enabled is true"])
    settings = config.directory
    # Samba AD DC wants GeneralizedTime with a fraction (".0Z"); the embedded mock does not.
    real_active_directory = settings.flavour is Flavour.ACTIVE_DIRECTORY and not settings.is_mock
    return LdapLeaseStore(lambda: directory().connection, dn, time_fraction=real_active_directory)
