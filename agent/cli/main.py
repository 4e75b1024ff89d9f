"""`hwb-agent`: parse, load the configuration, run the command, map its outcome to an exit code.

Exit codes (DESIGN.md, agent.core.errors.ExitCode): 0 done; 1 failed (directory unreachable,
write refused); 2 bad usage or configuration; 3 refused by policy; 4 the mass-change guard
stopped the run. Errors are mapped here and nowhere else: every AgentError carries its code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from agent import logs
from agent.cli.output import pasteable
from agent.cli.parser import build_parser
from agent.core.clock import Clock
from agent.core.errors import AgentError, ExitCode
from agent.settings import config as config_module


def system_clock() -> datetime:
    return datetime.now(UTC)


def main(argv: Sequence[str] | None = None, *, clock: Clock = system_clock) -> int:
    """Run one command line; `clock` gives "now" to the command (tests pass their own)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not getattr(args, "needs_config", True):
            return int(args.handler(args))
        config = config_module.load(args.config)
        # One-shot commands print their own report; the log carries warnings unless asked for more.
        # The service (`run`) logs at the configured level, to stdout (journald, DESIGN.md); the
        # one-shot commands keep stdout for reports.
        level = config.logging.level if args.verbose or args.command in ("run", "web") else "warning"
        stream = sys.stdout if args.command in ("run", "web") else sys.stderr
        logs.configure("console" if stream.isatty() else config.logging.format, level, stream)
        return int(args.handler(args, config, clock))
    except AgentError as error:
        # The core's messages suggest commands too: pasteable, with the --config given.
        print(f"hwb-agent: {pasteable(args, str(error))}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("hwb-agent: interrupted", file=sys.stderr)
        return int(ExitCode.FAILED)
