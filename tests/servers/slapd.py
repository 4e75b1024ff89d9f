"""A private OpenLDAP slapd for tests, set up the way deploy/openldap/README.md says.

The fixture builds a cn=config that looks like a fresh Debian install (back_mdb,
core/cosine/nis/inetorgperson, Debian's default ACLs and indexes) with
slapadd -n0, starts slapd on a free loopback port plus an ldapi socket, and
then applies the deployment LDIFs of deploy/openldap/ over ldapi with
ldapadd/ldapmodify -Y EXTERNAL, in the README's order. So every test run also
proves the deployment guide on a real server. Test-only settings on top: a low
size limit (50) so paging is exercised, olcDbNoSync, a large olcDbMaxSize.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import ldap3

from agent.settings.attributes import Flavour
from tests.servers.base import (
    ManagedProcess,
    ServerError,
    TestServer,
    TlsFiles,
    free_port,
    make_tls_files,
    make_workdir,
    replace_ldif,
    run,
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "openldap"
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
AGENT_DN = f"cn=hwb-agent,ou=services,{SUFFIX}"
BASE_DN = f"ou=people,{SUFFIX}"
SIZE_LIMIT = 50

# The deployment guide's steps, in order: (file, how it is loaded).
# "config" = ldapmodify -a -Y EXTERNAL over ldapi (cn=config), "data" = as the admin.
DEPLOY_STEPS = [
    ("hwb-schema.ldif", "config"),
    ("ppolicy-module.ldif", "config"),
    ("ppolicy-overlay.ldif", "config"),
    ("ppolicy-default.ldif", "data"),
    ("lastbind.ldif", "config"),
    ("indexes.ldif", "config"),
    ("service-account.ldif", "data"),
    ("agent-acl.ldif", "config"),
    ("limits.ldif", "config"),
]

RELAX = ("1.3.6.1.4.1.4203.666.5.12", True, None)  # lets the rootdn set NO-USER-MODIFICATION attributes
RELAX_WRITABLE = {"createtimestamp", "modifytimestamp", "creatorsname", "modifiersname"}
# One request line per operation; "SRCH attr=" and "MOD attr=" are second lines of the same one.
STATS_LINE = re.compile(r"conn=\d+ op=\d+ (BIND|SRCH|ADD|MOD|DEL|MODRDN|CMP|EXT|ABANDON|UNBIND)\b(?! attr=)")
OPERATION_NAMES = {
    "BIND": "bind", "SRCH": "search", "ADD": "add", "MOD": "modify", "DEL": "delete",
    "MODRDN": "modrdn", "CMP": "compare", "EXT": "extended", "ABANDON": "abandon", "UNBIND": "unbind",
}


def slapd_binary() -> str | None:
    """slapd's path, or None; Debian keeps it in /usr/sbin, often not on a user's PATH."""
    if not shutil.which("ldapmodify"):  # ldap-utils: the fixture loads LDIF with it
        return None
    return shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/sbin")


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise ServerError(f"{name} not found (install slapd and ldap-utils)")
    return found


def schema_dir() -> Path:
    """The distribution's schema LDIFs (Debian: /etc/ldap/schema); HWB_SLAPD_SCHEMA_DIR overrides."""
    candidates = [os.environ.get("HWB_SLAPD_SCHEMA_DIR", ""), "/etc/ldap/schema", "/etc/openldap/schema",
                  "/usr/local/etc/openldap/schema"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "core.ldif").is_file():
            return Path(candidate)
    raise ServerError("no OpenLDAP schema directory with core.ldif found; set HWB_SLAPD_SCHEMA_DIR")


def module_dir() -> Path:
    candidates = [os.environ.get("HWB_SLAPD_MODULE_DIR", ""), "/usr/lib/ldap", "/usr/lib64/openldap",
                  "/usr/lib/openldap", "/usr/local/libexec/openldap"]
    for candidate in candidates:
        if candidate and list(Path(candidate).glob("back_mdb*")):
            return Path(candidate)
    raise ServerError("no OpenLDAP module directory with back_mdb found; set HWB_SLAPD_MODULE_DIR")


def _base_config(workdir: Path, tls: TlsFiles) -> str:
    """cn=config of a fresh Debian install, plus the test-only settings."""
    uid, gid = os.getuid(), os.getgid()
    # Whoever runs the tests manages cn=config and the data over ldapi, as root does on Debian.
    external = f"gidNumber={gid}+uidNumber={uid},cn=peercred,cn=external,cn=auth"
    schemas = "\n".join(
        (schema_dir() / f"{name}.ldif").read_text() for name in ("core", "cosine", "nis", "inetorgperson")
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {workdir}/slapd.pid
olcArgsFile: {workdir}/slapd.args
olcTLSCACertificateFile: {tls.ca_file}
olcTLSCertificateFile: {tls.cert_file}
olcTLSCertificateKeyFile: {tls.key_file}
# stats: one line per operation, read by operation_counts().
olcLogLevel: stats

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {module_dir()}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcAccess: {{0}}to * by dn.exact={external} manage by * break
olcAccess: {{1}}to dn.exact="" by * read
olcAccess: {{2}}to dn.base="cn=Subschema" by * read

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact={external} manage by * break

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcDbDirectory: {workdir}/data
olcRootDN: {ADMIN_DN}
olcRootPW: admin-secret
olcDbIndex: objectClass eq
olcDbIndex: cn,uid eq
olcDbIndex: uidNumber,gidNumber eq
olcDbIndex: member,memberUid eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to attrs=shadowLastChange by self write by * read
olcAccess: {{2}}to * by * read
# Test-only: fast throwaway writes, room for 100k-entry benchmarks, and a low
# size limit so that only paged searches can see every account.
olcDbNoSync: TRUE
olcDbMaxSize: 4294967296
olcSizeLimit: {SIZE_LIMIT}
"""


class SlapdServer(TestServer):
    """slapd with the hwb schema, ppolicy, last-bind tracking, indexes and the agent's ACL."""

    config_dir: Path
    binary: str

    def _command(self) -> list[str]:
        # -d stats keeps slapd in the foreground (so the PID is slapd's) and sends the
        # per-operation log lines to stderr, which goes to slapd.log.
        socket_path = self.workdir / "ldapi"
        listen = f"{self.url}/ {self.ldaps_url}/ ldapi://{urllib.parse.quote(str(socket_path), safe='')}"
        return [self.binary, "-h", listen,
                "-F", str(self.config_dir), "-d", "stats"]

    def start(self) -> None:
        began = time.monotonic()
        self.process = ManagedProcess(self._command(), self.log_path)
        self.process.start()
        self.wait_until_answering(15, self.log_path)
        self.timings["start"] = time.monotonic() - began

    @property
    def log_path(self) -> Path:
        return self.workdir / "slapd.log"

    # ---- data --------------------------------------------------------------------------------

    def ldapi_config(self, ldif: str) -> None:
        """Apply LDIF to cn=config as the local administrator (SASL EXTERNAL over ldapi)."""
        run([_tool("ldapmodify"), "-a", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_url], input_text=ldif,
            what="ldapmodify -Y EXTERNAL")

    # ---- counting and ageing -----------------------------------------------------------------

    def operation_counts(self) -> Counter[str]:
        """From slapd's stats log (-d stats to slapd.log): one request line per operation."""
        return self._count_log(self.log_path, STATS_LINE, OPERATION_NAMES)

    def age(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Set server-maintained attributes ({dn: {attribute: GeneralizedTime}}).

        createTimestamp: over LDAP with the relax control (slapmodify silently keeps the old value).
        pwdLastSuccess and other ppolicy state: no LDAP client may write them, not even with the relax
        control, so stop slapd, slapmodify -n1 offline, start again (~50 ms)."""
        relaxed: dict[str, dict[str, str]] = {}
        offline: dict[str, dict[str, str]] = {}
        for dn, attributes in changes.items():
            for name, value in attributes.items():
                target = relaxed if name.lower() in RELAX_WRITABLE else offline
                target.setdefault(dn, {})[name] = value
        # Offline first: slapmodify rewrites the whole entry, createTimestamp included.
        if offline:
            self._slapmodify(offline)
        with self.connect() as connection:
            for dn, attributes in relaxed.items():
                replacements = {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in attributes.items()}
                connection.modify(dn, replacements, controls=[RELAX])

    def _slapmodify(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        ldif_path = self.workdir / "age.ldif"
        ldif_path.write_text(replace_ldif(changes))
        self.stop()
        try:
            run([_tool("slapmodify"), "-n1", "-F", str(self.config_dir), "-l", str(ldif_path)],
                what="slapmodify (age)")
            # slapmodify leaves the eq index with the old key: without a reindex, an indexed filter
            # such as (pwdLastSuccess<=...) silently misses the aged entries.
            names = sorted({name for attributes in changes.values() for name in attributes})
            run([_tool("slapindex"), "-q", "-n1", "-F", str(self.config_dir), *names], what="slapindex (age)")
        finally:
            self.start()


def start_slapd(binary: str | None = None, *, deploy: bool = True) -> SlapdServer:
    """Build, start and deploy a slapd; the caller calls destroy() when done.

    deploy=False leaves it as a fresh Debian install with only the suffix entry (no hwb schema,
    ppolicy, indexes, agent or ACL), for tests that follow deploy/openldap/README.md themselves."""
    binary = binary or slapd_binary()
    if not binary:
        raise ServerError("slapd not found (Debian: apt-get install slapd ldap-utils)")
    began = time.monotonic()
    workdir = make_workdir("hwb-slapd-")
    config_dir = workdir / "slapd.d"
    config_dir.mkdir()
    (workdir / "data").mkdir()
    config_ldif = workdir / "config.ldif"
    tls = make_tls_files(workdir / "tls")
    config_ldif.write_text(_base_config(workdir, tls))
    run([_tool("slapadd"), "-n0", "-F", str(config_dir), "-l", str(config_ldif)], what="slapadd -n0")

    port, tls_port = free_port(), free_port()
    server = SlapdServer(
        flavour=Flavour.OPENLDAP.value,
        url=f"ldap://127.0.0.1:{port}", ldaps_url=f"ldaps://127.0.0.1:{tls_port}", tls=tls,
        ldapi_url="ldapi://" + urllib.parse.quote(str(workdir / "ldapi"), safe=""),
        suffix=SUFFIX, base_dn=BASE_DN, admin_dn=ADMIN_DN, admin_password="admin-secret",
        agent_dn=AGENT_DN, agent_password="agent-secret", workdir=workdir, size_limit=SIZE_LIMIT,
    )
    server.config_dir = config_dir
    server.binary = binary
    server.timings["config"] = time.monotonic() - began
    try:
        server.start()
        began = time.monotonic()
        server.add_ldif(f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
                        "dc: example\no: Example\n")
        if not deploy:
            return server
        for name, how in DEPLOY_STEPS:
            text = (DEPLOY / name).read_text()
            if how == "config":
                server.ldapi_config(text)
            else:
                server.add_ldif(text)
        server.add_ldif(f"dn: {BASE_DN}\nobjectClass: organizationalUnit\nou: people\n")
        with server.connect() as connection:
            connection.modify(AGENT_DN, {"userPassword": [("MODIFY_REPLACE", [server.agent_password])]})
        server.timings["deploy"] = time.monotonic() - began
    except BaseException:
        server.destroy()
        raise
    return server
