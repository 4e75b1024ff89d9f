"""Errors that cross module boundaries, each mapped to an exit code by the CLI."""


class AgentError(Exception):
    """Base class: the message is meant for the operator, as is."""

    exit_code = 1


class DirectoryUnavailable(AgentError):
    """The directory cannot be reached or refused the bind: retry later."""


class DirectoryWriteError(AgentError):
    """The server refused a write; nothing of that change was applied."""


class ScopeError(AgentError):
    """A write outside the local authority's base DN was attempted (C-3)."""


class PolicyRefusal(AgentError):
    """The policy forbids the operation (exit code 3)."""

    exit_code = 3


class UsageError(AgentError):
    """Bad input on the command line or in a file (exit code 2)."""

    exit_code = 2
