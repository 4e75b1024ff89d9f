"""sd_notify against a real AF_UNIX datagram socket, as systemd provides it."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from agent.service.service import Service
from agent.service.systemd_notify import Notifier
from tests.service.conftest import FakeJobFactory, ServiceThread, fast_timetable, make_config, wait_until


@pytest.fixture
def manager_socket(tmp_path):
    """A bound datagram socket standing in for systemd's notify socket; yields (socket, path)."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        yield sock, str(path)


def receive_all(sock: socket.socket) -> list[str]:
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        return messages
    finally:
        sock.settimeout(10)


def test_ready_with_status_arrives_as_one_datagram(manager_socket):
    sock, path = manager_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("idle; next sweep at 02:00")
    assert sock.recv(4096).decode() == "READY=1\nSTATUS=idle; next sweep at 02:00"


def test_a_status_with_a_newline_cannot_inject_another_assignment(manager_socket):
    sock, path = manager_socket
    Notifier({"NOTIFY_SOCKET": path}).status("bad\nREADY=1")
    assert sock.recv(4096).decode() == "STATUS=bad READY=1"


def test_watchdog_and_stopping(manager_socket):
    sock, path = manager_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.watchdog()
    notifier.stopping()
    assert [sock.recv(4096).decode() for _ in range(2)] == ["WATCHDOG=1", "STOPPING=1"]


def test_an_abstract_socket_name_starting_with_at_is_reached():
    name = f"hwb-agent-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"


def test_silent_when_notify_socket_is_unset():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("x") is False
    assert notifier.watchdog() is False


def test_a_vanished_socket_is_not_an_error(tmp_path):
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).ready() is False


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": str(os.getpid())}, 2.5),
        ({"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ],
)
def test_the_watchdog_interval_comes_from_watchdog_usec(environ, expected):
    assert Notifier(environ).watchdog_seconds == expected


def test_the_service_reports_ready_pets_the_watchdog_and_says_stopping(manager_socket):
    sock, path = manager_socket
    factory = FakeJobFactory()
    config = make_config()
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    service = Service(lambda: config, factory, notifier=notifier, timetable=fast_timetable(poll=0.05),
                      tick_seconds=0.02, install_signal_handlers=False)
    received: list[str] = []
    with ServiceThread(service):
        wait_until(lambda: received.extend(receive_all(sock)) or "WATCHDOG=1" in received,
                   "a watchdog ping")
    received.extend(receive_all(sock))
    assert received[0].startswith("READY=1\nSTATUS=")
    assert any(message.startswith("STATUS=running sweep") for message in received)
    assert received[-1].startswith("STOPPING=1")
