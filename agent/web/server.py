"""`hwb-agent web`: the console served by waitress on `web.listen` (pure Python, threads, no fork:
one process per authority, beside `hwb-agent run`).

Plain HTTP: off loopback (`web.allow_non_loopback: true`) a TLS reverse proxy must be in front
(README, "The administrators' console"; `web.trusted_proxies` for its X-Forwarded-For).
"""

from __future__ import annotations

import signal
from typing import Any

import waitress

from agent.core.clock import Clock
from agent.core.errors import UsageError
from agent.logs import get_logger
from agent.settings.config import Config
from agent.settings.service import is_loopback
from agent.web.app import console_of, create_app

log = get_logger("hwb-agent.web.server")


def serve(config: Config, clock: Clock, *, threads: int = 8, **options: Any) -> None:
    listen = config.web.listen
    if not is_loopback(listen.host) and not config.web.allow_non_loopback:
        raise UsageError(f"web.listen {listen} is not a loopback address: the console speaks plain HTTP,"
                         " so put a TLS reverse proxy in front and set web.allow_non_loopback: true")
    app = create_app(config, clock)
    console = console_of(app)
    console.warm()
    audit = console.audit
    # SIGHUP (systemctl reload, after log rotation): the next record opens the audit file again.
    # The handler only closes the stream, under the trail's own lock.
    signal.signal(signal.SIGHUP, lambda *_: audit.reopen())
    log.info("console_listening", listen=str(listen), base_url=config.web.base_url,
             tls_in_front=config.web.cookies_secure)
    try:
        waitress.serve(app, host=listen.host, port=listen.port, threads=threads, ident="hwb-agent",
                       **options)
    finally:
        audit.close()
