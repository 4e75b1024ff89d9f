"""Shared fixtures: real directory servers started by the test session (tests/servers/).

Each server fixture is session-scoped and skipped with the reason when its
binary is missing, except under CI (the environment variable CI is set), where
a missing server fails the run: CI must prove every flavour.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.servers.base import TestServer

# (fixture name, timings) of every server started in this session, for the summary.
_SERVER_TIMINGS: list[tuple[str, dict[str, float]]] = []

# Servers being started in the background since collection (fixture name -> future).
_WARMING: dict[str, Future[TestServer]] = {}
_EXECUTOR: ThreadPoolExecutor | None = None


def _starters() -> dict[str, tuple[Callable[[], str | None], Callable[[], TestServer]]]:
    """fixture name -> (binary finder, starter)."""
    from tests.servers import ds389, samba, slapd

    return {
        "slapd_server": (slapd.slapd_binary, slapd.start_slapd),
        "samba_server": (samba.samba_binary, samba.start_samba),
        "ds389_server": (ds389.dscreate_binary, ds389.start_ds389),
    }


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the slow servers the selected tests need at once and side by side: Samba's provisioning
    and 389-DS's dscreate take seconds each, mostly waiting, so overlapping them saves wall time.
    Not on a pytest-xdist worker: every worker collects every test but runs only some, so each
    starts a server when a test of its share first needs it (a Samba DC takes its address under a
    lock shared by all processes: tests/servers/samba.py)."""
    global _EXECUTOR
    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    starters = _starters()
    needed = set()
    for item in session.items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            names |= {value for value in callspec.params.values() if isinstance(value, str)}
        needed |= names & {"samba_server", "ds389_server"}
    needed = {name for name in needed if starters[name][0]() and os.geteuid() == 0}
    if len(needed) < 2:
        return  # nothing to overlap; the fixture starts its server when first used
    _EXECUTOR = ThreadPoolExecutor(max_workers=len(needed), thread_name_prefix="test-server")
    for name in sorted(needed):
        _WARMING[name] = _EXECUTOR.submit(starters[name][1])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Servers started in the background whose fixture never ran (deselected, -x) are stopped too."""
    if _EXECUTOR is not None:
        _EXECUTOR.shutdown(wait=True)  # a start still running must finish before it can be stopped
    for name, future in list(_WARMING.items()):
        _WARMING.pop(name)
        if future.exception() is None:
            future.result().destroy()


def _require(available: str | None, reason: str, *, root: bool = False) -> None:
    if available and root and os.geteuid() != 0:
        available, reason = None, "needs root (a Samba DC binds port 389; 389-DS runs as the dirsrv user)"
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the real-server tests (run .ci/install-servers.sh)",
                    pytrace=False)
    pytest.skip(reason)


def _serve(name: str, starter: Callable[[], TestServer]) -> Iterator[TestServer]:
    warming = _WARMING.pop(name, None)
    server = warming.result() if warming is not None else starter()
    try:
        yield server
    finally:
        server.destroy()
        _SERVER_TIMINGS.append((name, dict(server.timings)))


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[TestServer]:
    """OpenLDAP slapd, set up with deploy/openldap (see tests/servers/slapd.py)."""
    from tests.servers import slapd

    _require(slapd.slapd_binary(), "slapd is not installed (Debian: slapd ldap-utils)")
    yield from _serve("slapd_server", slapd.start_slapd)


@pytest.fixture(scope="session")
def samba_server() -> Iterator[TestServer]:
    """Samba AD DC on 127.0.0.2:389 with the hwb schema (see tests/servers/samba.py)."""
    from tests.servers import samba

    _require(samba.samba_binary(), "Samba AD DC is not installed (Debian: samba-ad-dc samba-ad-provision "
             "krb5-user ldb-tools ldap-utils)", root=True)
    yield from _serve("samba_server", samba.start_samba)


@pytest.fixture(scope="session")
def samba_second_dc(samba_server: TestServer) -> Iterator[TestServer]:
    """A second DC of the same domain on another loopback address: a copy of the same provisioned
    domain, not a replica. Nothing replicates between the two, which is how the per-DC lastLogon
    behaves anyway: create the accounts a test needs on both."""
    from tests.servers import samba

    yield from _serve("samba_second_dc", samba.start_samba)


@pytest.fixture(scope="session")
def ds389_server() -> Iterator[TestServer]:
    """389 Directory Server with Account Policy and the hwb schema (see tests/servers/ds389.py)."""
    from tests.servers import ds389

    _require(ds389.dscreate_binary(), "389-DS is not installed (Debian: 389-ds-base ldap-utils)", root=True)
    yield from _serve("ds389_server", ds389.start_ds389)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say what the real servers cost this run (wall time per phase)."""
    if not _SERVER_TIMINGS:
        return
    terminalreporter.section("real test servers (wall time, s)")
    for name, timings in _SERVER_TIMINGS:
        phases = ", ".join(f"{phase} {seconds:.2f}" for phase, seconds in timings.items())
        terminalreporter.write_line(f"{name}: {phases}")


@pytest.fixture
def private_slapd() -> Iterator[TestServer]:
    """A slapd of this test's own (not the session's shared one), for tests that kill, freeze or
    restart it; removed afterwards. Skipped when slapd is missing, except under CI."""
    from tests.servers import slapd

    if not slapd.slapd_binary():
        if os.environ.get("CI"):
            pytest.fail("slapd is required in CI (run .ci/install-servers.sh)", pytrace=False)
        pytest.skip("slapd is not installed (Debian: slapd ldap-utils)")
    started = slapd.start_slapd()
    try:
        yield started
    finally:
        started.destroy()
