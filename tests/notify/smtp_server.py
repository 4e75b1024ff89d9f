"""A real SMTP server in the test process (aiosmtpd), plain, STARTTLS-only or implicit TLS, with an
optional login, that keeps every message it accepted (issue 14)."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.base import TlsFiles


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        """Parsed as a mail client parses it."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


class SmtpServer:
    """`mode` none | starttls | implicit; `login` (user, password) makes AUTH required."""

    def __init__(self, *, mode: str = "none", tls: TlsFiles | None = None,
                 login: tuple[str, str] | None = None, port: int | None = None):
        self.mode = mode
        self.port = port or free_port()
        self.handler = Handler()
        self.tls = tls
        self.login = login
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def _context(self) -> ssl.SSLContext:
        assert self.tls is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
        return context

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.login is not None and (
            data.login.decode(), data.password.decode()) == self.login
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self.mode == "starttls":
            options.update(tls_context=self._context(), require_starttls=True)
        elif self.mode == "implicit":
            options.update(ssl_context=self._context(), server_hostname="localhost")
        if self.login is not None:
            # Implicit TLS: the whole session is encrypted, though aiosmtpd only counts STARTTLS.
            options.update(authenticator=self._authenticate, auth_require_tls=self.mode == "starttls")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def notifications(server: SmtpServer, *, ca_file: Path | None = None, credential_file: Path | None = None,
                  **extra: Any) -> dict[str, Any]:
    """The `notifications:` section for `server` (host 127.0.0.1: plain SMTP is allowed to loopback)."""
    section: dict[str, Any] = {"host": "127.0.0.1", "port": server.port, "tls": server.mode,
                               "from": "Hwb Caerdydd <hwb-agent@test.example>", "timeout_seconds": 5}
    if ca_file is not None:
        section["ca_file"] = str(ca_file)
    if credential_file is not None:
        section["credential_file"] = str(credential_file)
    return {**section, **extra}
