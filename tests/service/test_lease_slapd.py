"""The lease race on a real OpenLDAP slapd: only the server makes a modify atomic.

A private slapd (cn=config built with slapadd, back_mdb, core schema plus the lease
attributes exactly as deploy/openldap's hwb schema defines them) on a free loopback
port. Skipped where slapd is not installed, required when env CI is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ldap3 import Connection, Server

from agent.actions.lease import LeaseKeeper
from agent.core.lease import LeaseState
from agent.directory.lease_store import LdapLeaseStore
from tests.service.racing import race

pytestmark = pytest.mark.slapd

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
LEASE_DN = f"cn=hwb-agent-lease,ou=services,{SUFFIX}"
NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
PERIOD = timedelta(seconds=60)

# Same definitions (and OIDs) as the hwb schema in deploy/openldap: SINGLE-VALUE matters here.
LEASE_SCHEMA = """dn: cn=hwblease,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: hwblease
olcAttributeTypes: ( 2.25.217864779204001762096724465836728287125.1.20 NAME 'hwbLeaseHolder'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} SINGLE-VALUE )
olcAttributeTypes: ( 2.25.217864779204001762096724465836728287125.1.21 NAME 'hwbLeaseExpiry'
  EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
olcObjectClasses: ( 2.25.217864779204001762096724465836728287125.2.2 NAME 'hwbLease'
  SUP top STRUCTURAL MUST cn MAY ( hwbLeaseHolder $ hwbLeaseExpiry ) )
"""


def _find(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def _module_dir() -> Path | None:
    for candidate in ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap"):
        if list(Path(candidate).glob("back_mdb*")):
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def slapd_url(tmp_path_factory):
    slapd, slapadd, modules = _find("slapd"), _find("slapadd"), _module_dir()
    schema = Path("/etc/ldap/schema/core.ldif")
    if not (slapd and slapadd and modules and schema.is_file()):
        if os.environ.get("CI"):
            pytest.fail("slapd, slapadd, back_mdb and /etc/ldap/schema are required in CI")
        pytest.skip("OpenLDAP slapd is not installed")
    workdir = tmp_path_factory.mktemp("slapd")
    (workdir / "data").mkdir()
    (workdir / "slapd.d").mkdir()
    config = f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {workdir}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {modules}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schema.read_text()}
{LEASE_SCHEMA}
dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcDbDirectory: {workdir}/data
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbNoSync: TRUE
"""
    (workdir / "config.ldif").write_text(config)
    subprocess.run([slapadd, "-n0", "-F", str(workdir / "slapd.d"), "-l", str(workdir / "config.ldif")],
                   check=True, capture_output=True, timeout=60)
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    log_path = workdir / "slapd.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([slapd, "-d", "0", "-F", str(workdir / "slapd.d"), "-h", url + "/"],
                                   stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        # Wait for the port with a plain socket: a failed ldap3 bind would leak its socket.
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {log_path.read_text()}") from None
                time.sleep(0.1)
        connection = admin_connection(url)
        connection.add(SUFFIX, ["top", "dcObject", "organization"], {"dc": "example", "o": "Example"})
        connection.add(f"ou=services,{SUFFIX}", ["top", "organizationalUnit"], {"ou": "services"})
        connection.unbind()
        yield url
    finally:
        process.terminate()
        process.wait(30)


def admin_connection(url: str) -> Connection:
    return Connection(Server(url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)


@pytest.fixture
def fresh_lease(slapd_url):
    """A lease entry without holder, as the deployment creates it."""
    connection = admin_connection(slapd_url)
    connection.raise_exceptions = False
    connection.delete(LEASE_DN)
    connection.raise_exceptions = True
    connection.add(LEASE_DN, ["top", "hwbLease"], {"cn": "hwb-agent-lease"})
    connection.unbind()
    return slapd_url


@pytest.fixture
def store_for():
    """Makes stores, each on its own connection (as two hosts have); unbinds them all after."""
    connections: list[Connection] = []

    def make(url: str) -> LdapLeaseStore:
        connection = admin_connection(url)
        connections.append(connection)
        return LdapLeaseStore(lambda: connection, LEASE_DN)

    yield make
    for connection in connections:
        connection.unbind()


def test_two_hosts_taking_a_never_held_lease_on_slapd_one_wins(fresh_lease, store_for):
    first, second = store_for(fresh_lease), store_for(fresh_lease)
    assert first.read() == second.read() == LeaseState(None, None)
    assert first.swap(None, None, "host-a", NOW + PERIOD) is True
    # SINGLE-VALUE: the second add is refused whole (constraintViolation), nothing half-written.
    assert second.swap(None, None, "host-b", NOW + PERIOD + timedelta(seconds=5)) is False
    assert store_for(fresh_lease).read() == LeaseState("host-a", NOW + PERIOD)


def test_two_standbys_taking_an_expired_lease_on_slapd_one_wins(fresh_lease, store_for):
    holder = store_for(fresh_lease)
    holder.read()
    holder.swap(None, None, "host-dead", NOW)
    first, second = store_for(fresh_lease), store_for(fresh_lease)
    assert first.read() == second.read() == LeaseState("host-dead", NOW)
    assert first.swap("host-dead", NOW, "host-a", NOW + PERIOD) is True
    # The value to delete is gone: noSuchAttribute, the whole modify refused.
    assert second.swap("host-dead", NOW, "host-b", NOW + PERIOD) is False
    assert store_for(fresh_lease).read() == LeaseState("host-a", NOW + PERIOD)


def test_renewal_and_release_on_slapd(fresh_lease, store_for):
    clock = [NOW]
    keeper = LeaseKeeper(store_for(fresh_lease), "host-a", PERIOD, clock=lambda: clock[0])
    assert keeper.refresh()
    clock[0] = NOW + timedelta(seconds=40)
    assert keeper.refresh()  # delete host-a + add host-a in one modify
    assert store_for(fresh_lease).read() == LeaseState("host-a", NOW + timedelta(seconds=100))
    keeper.release()
    standby = LeaseKeeper(store_for(fresh_lease), "host-b", PERIOD, clock=lambda: clock[0])
    assert standby.refresh()


def test_many_keepers_racing_on_slapd_leave_exactly_one_holder(fresh_lease, store_for):
    keepers = [LeaseKeeper(store_for(fresh_lease), f"host-{index}", PERIOD, clock=lambda: NOW)
               for index in range(6)]
    results = race(keepers, join_seconds=60)
    winners = [name for name, held in results.items() if held]
    assert len(results) == len(keepers)
    assert len(winners) == 1
    assert store_for(fresh_lease).read().holder == winners[0]
