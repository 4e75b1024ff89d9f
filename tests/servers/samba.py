"""A private Samba AD DC for tests (Active Directory flavour).

Provisioned into a temporary directory with --dns-backend=NONE, then, before
the first start and offline on sam.ldb (so no authentication dance is needed):
the smb.conf is confined to one loopback address and to the workdir, the password policy
is relaxed, deploy/active-directory/hwb-schema-*.ldif (three parts, in order) extend the schema (same
attribute names as OpenLDAP, attached to the user class), and the OUs, the
agent's service account and its delegated rights on OU=people are created.
Samba's LDAP port is fixed at 389, hence a loopback address of its own
(127.0.0.2, or 127.0.2.x when another session holds that).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import ldap3
from ldap3.utils.dn import escape_rdn

from agent.settings.attributes import Flavour
from tests.servers.base import (
    ManagedProcess,
    ServerError,
    TestServer,
    TlsFiles,
    assert_port_free,
    make_tls_files,
    make_workdir,
    replace_ldif,
    run,
)

REPO = Path(__file__).resolve().parents[2]
# The schema extension in its three parts, applied in order (each ends with a schemaUpdateNow).
SCHEMA_LDIFS = sorted((REPO / "deploy" / "active-directory").glob("hwb-schema-*.ldif"))
# Samba's LDAP port is fixed at 389, so each DC needs a loopback address of its own: 127.0.0.2
# unless taken (another test session), else the first free one of 127.0.2.x.
PREFERRED_HOSTS = ["127.0.0.2"] + [f"127.0.2.{number}" for number in range(1, 255)]
REALM = "SCHOOL.TEST"
DOMAIN = "SCHOOL"
SUFFIX = "DC=school,DC=test"
BASE_DN = f"OU=people,{SUFFIX}"
ADMIN_DN = f"CN=Administrator,CN=Users,{SUFFIX}"
AGENT_DN = f"CN=hwb-agent,OU=services,{SUFFIX}"
ADMIN_PASSWORD = "Admin-Secret-1"
AGENT_PASSWORD = "Agent-Secret-1"
SYSTEM_PYTHON = "/usr/bin/python3"  # Samba's Python bindings are built for the distribution's Python

TREE_DELETE = "1.2.840.113556.1.4.805"
USER_ENABLED = 512  # NORMAL_ACCOUNT
USER_DISABLED = 514  # NORMAL_ACCOUNT | ACCOUNTDISABLE

# Runs under the system Python with Samba's bindings: everything that needs the
# database before the first start, in one process (each samba-tool call would
# cost a second of start-up).
OFFLINE_SETUP = r"""
import sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils

smb_conf, agent_password, *schema_ldifs = sys.argv[1:]
lp = LoadParm()
lp.load(smb_conf)
lp.set("dsdb:schema update allowed", "true")
samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
domain_dn = str(samdb.domain_dn())

# Test passwords need no complexity, history or age.
samdb.modify_ldif(f'''dn: {domain_dn}
changetype: modify
replace: pwdProperties
pwdProperties: 0
-
replace: minPwdLength
minPwdLength: 0
-
replace: pwdHistoryLength
pwdHistoryLength: 0
-
replace: minPwdAge
minPwdAge: 0
-
replace: maxPwdAge
maxPwdAge: 0
-
''')

# The schema files are ldifde-style (DC=X placeholder, changetype records).
text = "\n\n".join(open(path).read() for path in schema_ldifs).replace("DC=X\n", domain_dn + "\n")
for record in text.split("\n\n"):
    lines = [line for line in record.splitlines() if line and not line.startswith("#")]
    if not lines:
        continue
    body = "\n".join(lines) + "\n"
    if "changetype: add" in body:
        samdb.add_ldif(body.replace("changetype: add\n", ""))
    else:
        samdb.modify_ldif(body)

samdb.add_ldif(f'''dn: OU=people,{domain_dn}
objectClass: organizationalUnit
ou: people

dn: OU=services,{domain_dn}
objectClass: organizationalUnit
ou: services
''')
samdb.newuser("hwb-agent", agent_password, userou="OU=services", useusernameascn=True)
agent = samdb.search(base=f"CN=hwb-agent,OU=services,{domain_dn}", scope=ldb.SCOPE_BASE, attrs=["objectSid"])
sid = samdb.schema_format_value("objectSid", agent[0]["objectSid"][0]).decode()
# Delegated full control over OU=people and below (CI: inherited by children), which
# covers reading, writing lifecycle attributes and userAccountControl, creating
# users and tree deletes. A real domain would delegate narrower rights; see
# deploy/active-directory/README.md.
SDUtils(samdb).dacl_add_ace(f"OU=people,{domain_dn}", f"(A;CI;GA;;;{sid})")
print("offline setup done")
"""


def samba_binary() -> str | None:
    found = shutil.which("samba") or shutil.which("samba", path="/usr/sbin:/usr/local/sbin")
    tools = ("samba-tool", "ldbmodify", "ldapmodify", "kinit")
    if found and all(shutil.which(tool) for tool in tools) and Path(SYSTEM_PYTHON).exists():
        return found
    return None


# Serialises choosing an address and starting on it: threads of one session, then processes.
_ADDRESS_LOCK = threading.Lock()
_ADDRESS_LOCK_FILE = Path("/tmp/hwb-samba-address.lock")

# Ports a DC binds on its address (TCP; 88 and 389 also UDP for the KDC and CLDAP). A DC still
# shutting down may hold some after its LDAP port is closed, and a stopped DC leaves connections it
# closed itself in TIME_WAIT on its ports, which refuse a new bind for a minute (seen in CI under
# pytest-xdist: "Failed to listen on 127.0.0.2:135 - NT_STATUS_ADDRESS_ALREADY_ASSOCIATED").
_DC_TCP_PORTS = (389, 636, 135, 88, 445, 464, 3268, 3269)
_DC_UDP_PORTS = (88, 389, 464)
# Attempts on further addresses when a DC still finds one of its ports taken (another program may
# bind one between the probe and the DC's own bind).
_START_ATTEMPTS = 3


def _free_host(excluding: frozenset[str] = frozenset()) -> str:
    for host in PREFERRED_HOSTS:
        if host not in excluding and _can_bind_all(host):
            return host
    raise ServerError("no free loopback address for a Samba DC (its ports are taken on all of them)")


def _can_bind_all(host: str) -> bool:
    """Whether every DC port on host can be bound now. The probe binds without SO_REUSEADDR, which
    is stricter than the DC's own bind: a port in TIME_WAIT counts as taken."""
    ports = [(socket.SOCK_STREAM, port) for port in _DC_TCP_PORTS]
    ports += [(socket.SOCK_DGRAM, port) for port in _DC_UDP_PORTS]
    for kind, port in ports:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def _patch_smb_conf(path: Path, workdir: Path, host: str, tls: TlsFiles | None = None) -> None:
    """Confine the provisioned DC to 127.0.0.2 and to its workdir, without DNS or printing; LDAPS
    (port 636) and StartTLS with the fixture's certificate for host."""
    settings = {} if tls is None else {
        "tls enabled": "yes",
        "tls keyfile": str(tls.key_file),
        "tls certfile": str(tls.cert_file),
        "tls cafile": str(tls.ca_file),
    }
    settings |= {
        # The /8 is required: a /32 interface leaves Samba without a usable broadcast.
        "interfaces": f"{host}/8",
        "bind interfaces only": "yes",
        # Simple binds over plain LDAP on loopback; production uses LDAPS or StartTLS.
        "ldap server require strong auth": "no",
        # Explicit list: the default would start the internal DNS server and nbt.
        "server services": "s3fs, rpc, ldap, cldap, kdc, drepl, winbindd, kcc",
        "log file": f"{workdir}/log/log.%m",
        "log level": "1",
        "pid directory": f"{workdir}/run",
        "ncalrpc dir": f"{workdir}/run/ncalrpc",
        "winbindd socket directory": f"{workdir}/run/winbindd",
        # Throwaway data: skip fsync (as Samba's own test environments do); writes get several
        # times faster.
        "ldb:nosync": "true",
        "load printers": "no",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
    }
    lines = path.read_text().splitlines()
    out: list[str] = []
    in_global = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            if in_global:
                out += [f"\t{key} = {value}" for key, value in settings.items()]
            in_global = stripped.lower() == "[global]"
            out.append(line)
            continue
        key = stripped.split("=", 1)[0].strip().lower()
        if in_global and key in settings:
            continue
        out.append(line)
    if in_global:
        out += [f"\t{key} = {value}" for key, value in settings.items()]
    path.write_text("\n".join(out) + "\n")


class SambaServer(TestServer):
    """Samba AD DC; accounts are users under OU=people with sAMAccountName as their login."""

    smb_conf: Path
    binary: str
    person_filter = "(&(objectCategory=person)(objectClass=user))"

    @property
    def host(self) -> str:
        """The loopback address this DC has to itself (its LDAP port is always 389)."""
        return self._host_port()[0]

    @property
    def log_path(self) -> Path:
        return self.workdir / "samba.log"

    @property
    def sam_ldb(self) -> Path:
        return self.workdir / "private" / "sam.ldb"

    def start(self) -> None:
        began = time.monotonic()
        assert_port_free(self.host, 389)
        self.process = ManagedProcess(
            [self.binary, "-i", "-M", "single", "-s", str(self.smb_conf)], self.log_path,
        )
        self.process.start()
        self.wait_until_answering(60, self.log_path)
        self.timings["start"] = time.monotonic() - began

    # ---- data --------------------------------------------------------------------------------

    def user_dn(self, uid: str, parent_dn: str | None = None) -> str:
        return f"CN={escape_rdn(uid)},{parent_dn or self.base_dn}"

    def user_ldif(self, uid: str, parent_dn: str | None = None) -> str:
        return (f"dn: {self.user_dn(uid, parent_dn)}\nobjectClass: user\n"
                f"sAMAccountName: {uid}\nsn: {uid}")

    def add_user(self, uid: str, password: str, *, given_name: str = "Test", surname: str | None = None,
                 cn: str | None = None, attributes: Mapping[str, object] | None = None,
                 parent_dn: str | None = None) -> str:
        """A user CN=cn (default uid) with sAMAccountName uid. AD refuses " / \\ [ ] : ; | = , + * ? < >
        in sAMAccountName and caps it at 20 characters; the CN may hold anything."""
        dn = self.user_dn(cn or uid, parent_dn)
        with self.connect() as connection:
            connection.add(dn, ["user"], {
                "sAMAccountName": uid, "sn": surname or uid, "givenName": given_name,
                "displayName": f"{given_name} {surname or uid}", **dict(attributes or {}),
            })
            # Without a password AD creates the user disabled (546); set one, then enable.
            connection.extend.microsoft.modify_password(dn, password)
            connection.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(USER_ENABLED)])]})
        return dn

    def child_ldif(self, parent_dn: str, name: str) -> str:
        # AD's schema only lets a few classes sit below a user (possSuperiors); classStore is one
        # that may also nest in itself.
        return f"dn: CN={name},{parent_dn}\nobjectClass: classStore"

    def time_value(self, generalized_time: str) -> str:
        """Samba stores and compares GeneralizedTime only as YYYYMMDDHHMMSS.0Z: a value without the
        fraction is refused (21) and, worse, a filter without it silently matches nothing."""
        if generalized_time.endswith("Z") and "." not in generalized_time:
            return generalized_time[:-1] + ".0Z"
        return generalized_time

    def purge(self, connection: ldap3.Connection, dn: str) -> None:
        """AD deletes a subtree in one request with the tree-delete control (a plain delete of a
        non-leaf is refused with 66)."""
        connection.delete(dn, controls=[(TREE_DELETE, True, None)])

    def kerberos_sign_in(self, login: str, password: str) -> None:
        """A Kerberos sign-in (kinit) as login: unlike a simple LDAP bind, which on Samba writes
        only lastLogonTimestamp, it writes this DC's non-replicated lastLogon (and logonCount)."""
        krb5_conf = self.workdir / "krb5-client.conf"
        if not krb5_conf.exists():
            krb5_conf.write_text(
                f"[libdefaults]\n default_realm = {REALM}\n"
                " dns_lookup_kdc = false\n dns_lookup_realm = false\n"
                f"[realms]\n {REALM} = {{\n  kdc = {self.host}\n }}\n"
            )
        run(["kinit", f"{login}@{REALM}"], input_text=password + "\n", what="kinit", timeout=30,
            env={"KRB5_CONFIG": str(krb5_conf), "KRB5CCNAME": f"FILE:{self.workdir}/krb5cc-{login}"})

    # ---- counting and ageing -----------------------------------------------------------------

    def write_count(self) -> int:
        """highestCommittedUSN of the rootDSE: AD bumps it for every replicated write.

        Samba has no per-operation log we can read cheaply; a bind's lastLogonTimestamp update also
        counts when AD decides to write it (at most once per 9-14 days per account), lastLogon
        (not replicated) does not."""
        with self.connect() as connection:
            connection.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
            return int(connection.response[0]["attributes"]["highestCommittedUSN"][0])

    def age(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Overwrite attributes the DC maintains (whenCreated, lastLogon, lastLogonTimestamp) with
        ldbmodify on sam.ldb, which works while the DC runs; LDAP refuses whenCreated even to admins.
        Values: GeneralizedTime for whenCreated, FILETIME ticks for the logon attributes."""
        ldif = self.workdir / "age.ldif"
        ldif.write_text(replace_ldif(changes))
        run(["ldbmodify", "-H", str(self.sam_ldb), "--controls=relax:0", str(ldif)],
            what="ldbmodify (age)")


# The provisioned and set-up domain, made once per test session (per process) and copied for
# each DC started from it: provisioning is the slow part (seconds), a copy takes ~0.1 s.
_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: Path | None = None
TEMPLATE_HOST = "127.0.0.2"  # only written into smb.conf, which every copy rewrites


def _template_key() -> str:
    """Changes whenever what goes into the template changes (Samba, schema, setup)."""
    version = run(["samba", "-V"], what="samba -V").stdout.strip()
    digest = hashlib.sha256()
    for part in (version, *(path.read_text() for path in SCHEMA_LDIFS), OFFLINE_SETUP, ADMIN_PASSWORD,
                 AGENT_PASSWORD):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def _provision_domain(target: Path, host: str) -> None:
    """samba-tool domain provision into target: a new domain as Debian's packages make it."""
    run(["samba-tool", "domain", "provision", f"--targetdir={target}", f"--realm={REALM}",
         f"--domain={DOMAIN}", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
         f"--adminpass={ADMIN_PASSWORD}", f"--host-ip={host}", "--host-name=dc1",
         # No fsync for throwaway data: halves provisioning on a busy disk.
         "--option=ldb:nosync = true"],
        what="samba-tool domain provision", timeout=300)


def _provision(target: Path, timings: dict[str, float]) -> None:
    began = time.monotonic()
    _provision_domain(target, TEMPLATE_HOST)
    smb_conf = target / "etc" / "smb.conf"
    _patch_smb_conf(smb_conf, target, TEMPLATE_HOST)
    provisioned = time.monotonic()
    run([SYSTEM_PYTHON, "-c", OFFLINE_SETUP, str(smb_conf), AGENT_PASSWORD, *map(str, SCHEMA_LDIFS)],
        what="Samba offline setup (schema, OUs, agent account)", timeout=300)
    timings["provision"] = provisioned - began
    timings["setup"] = time.monotonic() - provisioned


def samba_template(timings: dict[str, float]) -> Path:
    """The provisioned template directory, made on first use.

    With HWB_TEST_CACHE_DIR set, the template is also kept there across sessions, keyed by the
    Samba version and by what the setup puts in (a developer's re-runs then skip provisioning);
    unset (as in CI), every session provisions afresh."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is not None:
            return _TEMPLATE
        cache_root = os.environ.get("HWB_TEST_CACHE_DIR")
        if cache_root:
            cached = Path(cache_root) / f"samba-template-{_template_key()}"
            if not (cached / "complete").exists():
                shutil.rmtree(cached, ignore_errors=True)
                cached.mkdir(parents=True)
                _provision(cached, timings)
                (cached / "complete").write_text("provisioned and set up\n")
            _TEMPLATE = cached
        else:
            template = make_workdir("hwb-samba-template-")
            atexit.register(shutil.rmtree, template, True)
            _provision(template, timings)
            _TEMPLATE = template
        return _TEMPLATE


def start_samba(binary: str | None = None, *, bare: bool = False) -> SambaServer:
    """A DC copied from the session's template, on a free loopback address; destroy() when done.

    bare=True provisions a new domain of its own instead (seconds) and leaves it as provisioning
    made it (default password policy, no hwb schema, no OUs, no agent account), for tests that follow
    deploy/active-directory/README.md themselves; only smb.conf is confined as for every DC here."""
    binary = binary or samba_binary()
    if not binary:
        raise ServerError("samba not found (Debian: samba-ad-dc samba-ad-provision krb5-user ldb-tools)")
    timings: dict[str, float] = {}
    began = time.monotonic()
    workdir = make_workdir("hwb-samba-")
    smb_conf = workdir / "etc" / "smb.conf"
    if bare:
        # Provisioned for the template's address, like the template: the address it will listen on
        # is chosen only after these seconds (another DC may take one meanwhile) and set below.
        _provision_domain(workdir, TEMPLATE_HOST)
        timings["provision"] = time.monotonic() - began
        began = time.monotonic()
    else:
        template = samba_template(timings)
        # The template is never started, so its databases are quiescent and a plain copy is consistent.
        shutil.copytree(template, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("complete"))
        # Only smb.conf names the directory (sam.ldb refers to its partitions by relative paths).
        smb_conf.write_text(smb_conf.read_text().replace(str(template), str(workdir)))
    # One DC at a time picks its address and starts, across processes (pytest-xdist workers, two
    # test sessions): a free address is only taken once the DC listens on it.
    with _ADDRESS_LOCK, open(_ADDRESS_LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _start_on_free_host(binary, workdir, smb_conf, timings, began)


def _start_on_free_host(binary: str, workdir: Path, smb_conf: Path, timings: dict[str, float],
                        began: float) -> SambaServer:
    taken: frozenset[str] = frozenset()
    while True:
        host = _free_host(excluding=taken)
        server = _configure_for(host, binary, workdir, smb_conf, timings, began)
        try:
            server.start()
            return server
        except ServerError as error:
            if "ADDRESS_ALREADY_ASSOCIATED" in str(error) and len(taken) + 1 < _START_ATTEMPTS:
                server.stop()  # it has exited; this only forgets the process
                taken |= {host}
                continue
            server.destroy()
            raise
        except BaseException:
            server.destroy()
            raise


def _configure_for(host: str, binary: str, workdir: Path, smb_conf: Path, timings: dict[str, float],
                   began: float) -> SambaServer:
    """The DC in workdir, set to listen on host (certificate, smb.conf), not started."""
    tls = make_tls_files(workdir / "tls", [host])
    _patch_smb_conf(smb_conf, workdir, host, tls)
    for sub in ("log", "run"):
        (workdir / sub).mkdir(exist_ok=True)
    timings["copy"] = time.monotonic() - began
    server = SambaServer(
        flavour=Flavour.ACTIVE_DIRECTORY.value, url=f"ldap://{host}:389", suffix=SUFFIX, base_dn=BASE_DN,
        ldaps_url=f"ldaps://{host}:636", tls=tls,
        admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD, agent_dn=AGENT_DN, agent_password=AGENT_PASSWORD,
        workdir=workdir, size_limit=None, timings=timings,
    )
    server.smb_conf = smb_conf
    server.binary = binary
    return server
