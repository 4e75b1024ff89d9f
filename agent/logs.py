"""Logging set up in one place (STYLE.md): structlog, JSON under a service, console on a terminal.

ldap3 and other libraries log through the standard library; their records are
bridged through structlog's ProcessorFormatter so everything comes out alike.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def configure(format_name: str = "console", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to `stream` (stderr by default) as JSON or console lines."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if format_name == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # ldap3's own debug logging can include request contents: keep it quiet.
    logging.getLogger("ldap3").setLevel(logging.WARNING)
    structlog.configure(
        # filter_by_level first: an event below the level costs a level check, not the whole chain
        # (a sweep logs one audit event per change, mostly below a one-shot command's level).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.processors.format_exc_info,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "hwb-agent") -> structlog.stdlib.BoundLogger:
    """The project's logger; `configure()` makes every structlog logger a stdlib BoundLogger."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
