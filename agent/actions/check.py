"""`check-config`'s look at the directory: connect, bind, and list what the agent needs but misses."""

from __future__ import annotations

from agent.actions.session import open_directory
from agent.directory.inspect import missing_capabilities
from agent.settings.config import Config


def check_directory(config: Config) -> list[str]:
    """Bind as configured (DirectoryUnavailable when that fails) and return the gaps found:
    schema attributes, sign-in tracking, rights (empty when everything is there)."""
    with open_directory(config) as directory:
        return missing_capabilities(directory)
