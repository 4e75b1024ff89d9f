"""The directory of one configuration, opened for an action (the demo seed handed over for mock:)."""

from __future__ import annotations

import functools

from agent.actions.demo import demo_entries
from agent.directory import connection
from agent.directory.gateway import Directory
from agent.settings.config import Config


def open_directory(config: Config) -> Directory:
    """Bind to the configured directory; the embedded one is seeded with the demo local authority."""
    seed = functools.partial(demo_entries, config) if config.directory.is_mock else None
    return connection.open_directory(config.directory, config.attributes, seed=seed)
