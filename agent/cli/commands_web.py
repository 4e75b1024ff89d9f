"""`hwb-agent web`: the administrators' console (issue 13), served until interrupted."""

from __future__ import annotations

import argparse

from agent.cli.output import emit
from agent.core.clock import Clock
from agent.core.errors import ExitCode
from agent.settings.config import Config


def cmd_web(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from agent.web.server import serve  # Flask is loaded only by this command

    listen = config.web.listen
    emit(f"hwb-agent console on http://{listen}/ (Ctrl-C stops it)"
         + ("" if config.web.cookies_secure else "; plain HTTP: keep it on loopback or behind TLS"))
    serve(config, clock)
    return ExitCode.OK
