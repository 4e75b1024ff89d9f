"""systemd's sd_notify protocol in a few lines of stdlib.

A `Type=notify` unit gives the service a datagram socket in NOTIFY_SOCKET; the
service writes newline-separated KEY=value assignments to it (READY=1,
STATUS=..., WATCHDOG=1, STOPPING=1). When NOTIFY_SOCKET is unset (a terminal,
the tests, another supervisor) every call is a silent no-op, so callers never
need to check. Modelled on gunicorn's `systemd.py`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class Notifier:
    """Sends state changes to the service manager named by NOTIFY_SOCKET (read once, at creation)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        environ = os.environ if environ is None else environ
        self.address = _socket_address(environ.get("NOTIFY_SOCKET", ""))
        self.watchdog_seconds = _watchdog_seconds(environ)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *assignments: str) -> bool:
        """Send KEY=value lines in one datagram; True when sent, False when silent or it failed.

        A failure is swallowed on purpose: losing a status line must never stop the service
        (the watchdog, if configured, is what notices a service that really cannot talk).
        """
        if self.address is None or not assignments:
            return False
        message = "\n".join(assignments).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError:
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status_line(status))

    def status(self, text: str) -> bool:
        return self.send(*_status_line(text))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        return self.send("RELOADING=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status_line(status))


def _status_line(text: str | None) -> tuple[str, ...]:
    # One line only: a newline would start a new (bogus) assignment.
    return (f"STATUS={' '.join(text.split())}",) if text else ()


def _socket_address(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("@"):
        # An abstract socket: '@' stands for the leading NUL byte of the Linux abstract namespace.
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock and other address families are not used by our units


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """The watchdog period systemd expects pings within (WATCHDOG_USEC), or None when not armed."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    # WATCHDOG_PID says which process the watchdog is meant for; a child must not answer for it.
    pid = environ.get("WATCHDOG_PID", "")
    if pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000
