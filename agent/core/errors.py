"""The agent's errors: one hierarchy, and the one table of exit codes (DESIGN.md).

Every error an operator can meet is an `AgentError` whose message is meant for
them as is; its class says how the command ends. Faces map errors to exit
codes through `ExitCode` only, never case by case.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """How a command ends (DESIGN.md, "Exit codes")."""

    OK = 0
    FAILED = 1  # directory unreachable, write refused
    USAGE = 2  # bad usage or bad configuration (the message names the YAML path)
    REFUSED = 3  # refused by policy
    GUARD = 4  # the mass-change guard stopped the run


class AgentError(Exception):
    """Base class: the message is meant for the operator, as is."""

    exit_code: ExitCode = ExitCode.FAILED


class DirectoryUnavailable(AgentError):
    """The directory cannot be reached or refused the bind: retry later."""


class DirectoryWriteError(AgentError):
    """The server refused a write; nothing of that change was applied.

    `result_code` is the LDAP result code (RFC 4511), when the server sent one, so that callers
    decide on it rather than on the words of a message (68: entryAlreadyExists).
    """

    ENTRY_ALREADY_EXISTS = 68
    NO_SUCH_ATTRIBUTE = 16
    NO_SUCH_OBJECT = 32

    def __init__(self, message: str, result_code: int | None = None):
        super().__init__(message)
        self.result_code = result_code

    @property
    def already_exists(self) -> bool:
        return self.result_code == self.ENTRY_ALREADY_EXISTS

    @property
    def vanished(self) -> bool:
        """The entry is no longer at its DN (moved to another authority, issue 15, or deleted)."""
        return self.result_code == self.NO_SUCH_OBJECT


class ScopeError(AgentError):
    """A write outside the local authority's base DN was attempted (C-3)."""


class PolicyRefusal(AgentError):
    """The policy forbids the operation (exit code 3)."""

    exit_code = ExitCode.REFUSED


class LikelyDuplicate(PolicyRefusal):
    """A new account refused as a likely duplicate of an existing one (NM-1): unlike other refusals,
    the caller may confirm that it is another person (the command line's --allow-duplicate, the
    console's "Create it anyway")."""


class UsageError(AgentError):
    """Bad input on the command line or in a file (exit code 2)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration is unusable; `problems` lists every fault with its YAML path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


class FeedError(UsageError):
    """A MIS feed package that cannot be understood as a whole (nothing is written)."""

    def __init__(self, file: str, message: str):
        self.file = file
        self.message = message
        super().__init__(f"{file}: {message}")
