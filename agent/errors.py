"""Exceptions shared across the agent's layers.

The service loop treats `DirectoryUnavailable` differently from every other
failure: it is expected weather (a restarted server, a network cut), so the job
is retried with capped exponential backoff instead of being logged as a bug.
"""

from __future__ import annotations


class DirectoryUnavailable(Exception):
    """The directory cannot be reached or refused service for now (down, timeout, connection lost).

    Raise it (or a subclass) from the gateway for faults that retrying later can cure; a write
    the server refused on its merits (access rights, schema) is a different error.
    """
