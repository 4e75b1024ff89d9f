"""The bounded window of writes (directory.max_writes_in_flight) end to end over StartTLS and LDAPS,
on slapd, Samba AD DC and 389-DS (issue 10): requests built by ldap3's encoder and sent through its
strategy, inside TLS.

Values of 128 bytes and more (BER long lengths) and non-ASCII values reach the server intact; a
refused write in the middle of a window is reported and the others applied; a server killed (or
frozen) mid-window gives DirectoryUnavailable within timeout_seconds and a small margin, and every
write reported as done was really applied.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
import uuid
from dataclasses import replace

import ldap3
import pytest

from agent.actions.session import open_directory
from agent.core import changes
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError
from agent.settings import config as config_module
from tests.servers.base import TestServer
from tests.servers.ds389 import Ds389Server
from tests.servers.samba import SambaServer

# ldap3 2.9.1 checks the server's name with ssl.match_hostname (deprecated since Python 3.7, gone in
# 3.12: LDAP-NOTES.md); pyproject's filterwarnings = error would turn that into a failed StartTLS.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")

SERVERS = [
    pytest.param("slapd_server", marks=pytest.mark.slapd, id="openldap"),
    pytest.param("samba_server", marks=pytest.mark.samba, id="active-directory"),
    pytest.param("ds389_server", marks=pytest.mark.ds389, id="389ds"),
]
TRANSPORTS = ["starttls", "ldaps"]
WINDOW = 4
TIMEOUT = 2  # directory.timeout_seconds for the failure tests
MARGIN = 3.0  # seconds beyond TIMEOUT that a lost connection may take to surface
# Non-ASCII (Welsh, two-byte and three-byte UTF-8) and long: 209 bytes, so BER needs a long length.
LONG = "Siân ap Llŷr – ŵyr Ŷr " * 7
assert len(LONG.encode()) >= 128


@pytest.fixture(params=SERVERS)
def server(request) -> TestServer:
    return request.getfixturevalue(request.param)


def _config(server: TestServer, tmp_path, transport: str, *, window: int = WINDOW, timeout: int = 10):
    assert server.tls is not None and server.ldaps_url is not None, "fixture without TLS"
    password = tmp_path / "agent-password"
    password.write_text(server.agent_password + "\n")
    url = server.ldaps_url if transport == "ldaps" else server.url
    return config_module.parse({
        "local_authority": {"code": "681", "name": "Test"},
        "directory": {"url": url, "start_tls": transport == "starttls", "ca_file": str(server.tls.ca_file),
                      "bind_dn": server.agent_dn, "password_file": str(password),
                      "base_dn": server.base_dn, "flavour": server.flavour,
                      "max_writes_in_flight": window, "timeout_seconds": timeout},
        "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
    })


def _read(server: TestServer, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
    """An entry's values as the server keeps them (admin, plain ldap3), or None if it is missing."""
    with server.connect(check_names=False) as connection:
        try:
            connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return None
        if not connection.entries:
            return None
        raw = connection.response[0]["raw_attributes"]
        return {name: [value.decode() for value in values] for name, values in raw.items()}


def _accounts(server: TestServer, prefix: str, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [server.add_user(f"{prefix}{tag}{index}", "Passw0rd!tls-1", attributes={
        "hwbCategory": "mis", "hwbRole": "learner"}) for index in range(count)]


def _sponsor_change(index: int) -> changes.Change:
    return changes.Change(None, {"sponsor": f"{index} {LONG}"})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_window_over_tls_writes_long_non_ascii_values_and_reports_the_refused_modify(
        server, tmp_path, transport):
    dns = _accounts(server, "tm", 6)
    with open_directory(_config(server, tmp_path, transport)) as directory:
        accounts = [directory.read(dn) for dn in dns]
        assert all(account is not None for account in accounts)
        ghost = replace(accounts[0], dn=server.user_dn(f"ghost{uuid.uuid4().hex[:6]}"))  # no such entry
        targets = accounts[:3] + [ghost] + accounts[3:]  # refused in the middle of the first window
        results = list(directory.write_changes(
            (index, account, _sponsor_change(index)) for index, account in enumerate(targets)))
        assert isinstance(directory._writer.socket, ssl.SSLSocket)  # the window went inside TLS
    assert [key for key, _ in results] == list(range(7))
    errors = {key: error for key, error in results if error is not None}
    assert list(errors) == [3] and isinstance(errors[3], DirectoryWriteError)
    assert "noSuchObject" in str(errors[3])
    for index, dn in zip([0, 1, 2, 4, 5, 6], dns, strict=True):
        assert _read(server, dn, ["hwbSponsor"]) == {"hwbSponsor": [f"{index} {LONG}"]}


def _new_entry(server: TestServer, uid: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """(dn, object classes, attributes) of a new account with long non-ASCII values."""
    dn = server.user_dn(uid)
    if isinstance(server, SambaServer):
        return dn, ["user"], {"sAMAccountName": [uid], "sn": ["Llŷr"], "description": [LONG],
                              "hwbSponsor": [LONG]}
    return dn, ["inetOrgPerson", "hwbAccount"], {"uid": [uid], "cn": [f"Siân {uid}"], "sn": ["Llŷr"],
                                                 "description": [LONG], "hwbCategory": ["mis"],
                                                 "hwbSponsor": [LONG], "hwbSchool": []}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_window_over_tls_adds_long_non_ascii_entries_and_reports_the_refused_add(server, tmp_path, transport):
    tag = uuid.uuid4().hex[:6]
    taken = _accounts(server, "tt", 1)[0]
    entries = [_new_entry(server, f"ta{tag}{index}") for index in range(5)]
    taken_entry = (taken, entries[0][1], {**entries[0][2], "sAMAccountName": [f"tt{tag}x"]}
                   if isinstance(server, SambaServer) else entries[0][2])
    targets = entries[:2] + [taken_entry] + entries[2:]  # entryAlreadyExists mid-window
    with open_directory(_config(server, tmp_path, transport)) as directory:
        results = list(directory.write_adds(
            (index, dn, classes, attributes) for index, (dn, classes, attributes) in enumerate(targets)))
    assert [key for key, _ in results] == list(range(6))
    errors = {key: error for key, error in results if error is not None}
    assert list(errors) == [2] and "entryAlreadyExists" in str(errors[2])
    for dn, _, _ in entries:
        assert _read(server, dn, ["description", "hwbSponsor"]) == {"description": [LONG],
                                                                    "hwbSponsor": [LONG]}


# ---- the server lost mid-window ----------------------------------------------------------------


def _server_pids(server: TestServer) -> tuple[int, bool]:
    """(pid, whole process group?) of the server process the fixture started."""
    if isinstance(server, Ds389Server):
        pid = server._running_pid()
        assert pid is not None
        return pid, False
    assert server.process is not None and server.process.pid is not None
    # Samba forks helpers into its own session (ManagedProcess starts a new one): signal them all.
    return server.process.pid, isinstance(server, SambaServer)


def _signal(server: TestServer, number: int) -> None:
    pid, group = _server_pids(server)
    (os.killpg if group else os.kill)(pid, number)


def _restart_after_kill(server: TestServer, pid: int) -> None:
    if server.process is not None:
        server.process.stop(timeout=5)  # reaps what is left of it
    if isinstance(server, Ds389Server):
        server.pid = None
    # A killed ns-slapd is not our child to wait for: until its PID is gone, a new one refuses to
    # start ("already running"), and its port may still be taken.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    host, port = server._host_port()
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) != 0:
                break
        time.sleep(0.02)
    server.start()


def _write_until_lost(directory, targets, lose) -> tuple[list[int], float]:
    """Write a sponsor change to each target; call lose() after the first confirmed result. Returns
    the keys confirmed as written and the seconds from lose() to DirectoryUnavailable."""
    confirmed: list[int] = []
    lost_at = None
    with pytest.raises(DirectoryUnavailable):
        for key, error in directory.write_changes(
                (index, account, _sponsor_change(index)) for index, account in enumerate(targets)):
            assert error is None, error
            confirmed.append(key)
            if lost_at is None:
                lose()
                lost_at = time.monotonic()
    assert lost_at is not None
    return confirmed, time.monotonic() - lost_at


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["killed", "frozen"])
def test_server_lost_mid_window_over_tls_raises_in_time_and_never_claims_an_unapplied_write(
        server, tmp_path, transport, how):
    dns = _accounts(server, "tk", 24)
    config = _config(server, tmp_path, transport, window=8, timeout=TIMEOUT)
    pid, _ = _server_pids(server)
    directory = open_directory(config)
    try:
        targets = [directory.read(dn) for dn in dns]
        if how == "killed":
            confirmed, seconds = _write_until_lost(
                directory, targets, lambda: _signal(server, signal.SIGKILL))
        else:
            try:
                confirmed, seconds = _write_until_lost(
                    directory, targets, lambda: _signal(server, signal.SIGSTOP))
            finally:
                _signal(server, signal.SIGCONT)
    finally:
        directory.close()
        if how == "killed":
            _restart_after_kill(server, pid)
    assert seconds < TIMEOUT + MARGIN
    assert len(confirmed) < len(dns)  # the loss came mid-window, not after the last result
    assert confirmed == list(range(len(confirmed)))  # in order
    for key in confirmed:  # every write reported as done is on the server
        assert _read(server, dns[key], ["hwbSponsor"]) == {"hwbSponsor": [f"{key} {LONG}"]}
