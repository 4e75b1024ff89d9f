"""`run`: the long-running service (agent.service.app wires it)."""

from __future__ import annotations

import argparse
import sys

from agent.core.clock import Clock
from agent.core.errors import ExitCode
from agent.service.app import run_service
from agent.settings import config as config_module
from agent.settings.config import Config


def cmd_run(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    try:
        return run_service(lambda: config_module.load(args.config), config)
    except OSError as error:
        print(f"hwb-agent: cannot start the service: {error}", file=sys.stderr)
        return ExitCode.FAILED
