"""A private 389 Directory Server for tests (389ds flavour).

dscreate only works without systemd from a private prefix: PREFIX=workdir, a
copy of defaults.inf with with_systemd = 0 and every state path under the
prefix, parent directories created 0755 first (the server runs as the
dirsrv user and must traverse them). The template dse.ldif is copied into the
prefix too and patched before dscreate runs, so that the very first start
already listens on 127.0.0.1 only, with a low size limit (paging proofs), an
unbuffered access log (operation counts) and dynamic plugins.
deploy/389ds/99hwb.ldif goes into the schema template; after the start the
fixture applies deploy/389ds/account-policy.ldif (lastLoginTime on every bind)
and deploy/389ds/agent.ldif, as the deployment guide says.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import ldap3

from agent.settings.attributes import Flavour
from tests.servers.base import (
    ServerError,
    TestServer,
    TlsFiles,
    assert_port_free,
    free_port,
    log_tail,
    make_tls_files,
    make_workdir,
    run,
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "389ds"
SCHEMA_LDIF = DEPLOY / "99hwb.ldif"
INSTANCE = "hwb"
SUFFIX = "dc=example,dc=org"
BASE_DN = f"ou=people,{SUFFIX}"
ADMIN_DN = "cn=Directory Manager"
AGENT_DN = f"cn=hwb-agent,ou=services,{SUFFIX}"
ADMIN_PASSWORD = "Directory-Secret-1"
AGENT_PASSWORD = "Agent-Secret-1"
SIZE_LIMIT = 50

SYSTEM_DATA = Path("/usr/share/dirsrv")
SYSTEM_TEMPLATES = Path("/etc/dirsrv")

# defaults.inf keys that name state (not the installed binaries and libraries): moved under the prefix.
STATE_PATHS = {
    "sysconf_dir": "etc", "initconfig_dir": "etc/default", "config_dir": "etc/dirsrv/slapd-{instance_name}",
    "local_state_dir": "var", "run_dir": "run/dirsrv", "ldapi": "run/slapd-{instance_name}.socket",
    "pid_file": "run/dirsrv/slapd-{instance_name}.pid", "inst_dir": "lib/dirsrv/slapd-{instance_name}",
    "tmpfiles_d": "etc/tmpfiles.d", "schema_dir": "etc/dirsrv/slapd-{instance_name}/schema",
    "cert_dir": "etc/dirsrv/slapd-{instance_name}", "lock_dir": "run/lock/dirsrv/slapd-{instance_name}",
    "log_dir": "var/log/dirsrv/slapd-{instance_name}",
    "access_log": "var/log/dirsrv/slapd-{instance_name}/access",
    "audit_log": "var/log/dirsrv/slapd-{instance_name}/audit",
    "error_log": "var/log/dirsrv/slapd-{instance_name}/errors",
    "security_log": "var/log/dirsrv/slapd-{instance_name}/security",
    "db_dir": "var/lib/dirsrv/slapd-{instance_name}/db",
    "db_home_dir": "var/lib/dirsrv/slapd-{instance_name}/dbhome",
    "backup_dir": "var/lib/dirsrv/slapd-{instance_name}/bak",
    "ldif_dir": "var/lib/dirsrv/slapd-{instance_name}/ldif",
    # Our patched template-dse.ldif lives under PREFIX/share/dirsrv/data.
    "data_dir": "share",
}
PARENT_DIRS = ["etc", "etc/default", "etc/tmpfiles.d", "etc/dirsrv", "run", "run/dirsrv", "run/lock",
               "run/lock/dirsrv", "var", "var/log", "var/log/dirsrv", "var/lib", "var/lib/dirsrv", "lib",
               "lib/dirsrv", "share", "share/dirsrv"]

# Access log: "conn=1 op=2 MOD dn=..." one request line per operation.
ACCESS_LINE = re.compile(r"conn=\d+ op=\d+ (BIND|SRCH|ADD|MOD|DEL|MODRDN|CMP|EXT|ABANDON|UNBIND)\b")
OPERATION_NAMES = {
    "BIND": "bind", "SRCH": "search", "ADD": "add", "MOD": "modify", "DEL": "delete",
    "MODRDN": "modrdn", "CMP": "compare", "EXT": "extended", "ABANDON": "abandon", "UNBIND": "unbind",
}


def dscreate_binary() -> str | None:
    found = shutil.which("dscreate") or shutil.which("dscreate", path="/usr/sbin:/usr/local/sbin")
    server = shutil.which("ns-slapd") or shutil.which("ns-slapd", path="/usr/sbin:/usr/local/sbin")
    if found and server and shutil.which("ldapmodify"):
        return found
    return None


def _ns_slapd() -> str:
    found = shutil.which("ns-slapd") or shutil.which("ns-slapd", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise ServerError("ns-slapd not found (Debian: 389-ds-base)")
    return found


def _patch_template_dse(text: str) -> str:
    """Settings every start must have, put into the template before the instance first starts."""
    config = (
        "nsslapd-listenhost: 127.0.0.1\n"  # never 0.0.0.0, not even during dscreate's own start
        f"nsslapd-sizelimit: {SIZE_LIMIT}\n"  # low, so that only paged searches see everything
        "nsslapd-accesslog-logbuffering: off\n"  # operation_counts() reads the log as it happens
        "nsslapd-dynamic-plugins: on\n"
    )
    text = text.replace("dn: cn=config\ncn: config\n", "dn: cn=config\ncn: config\n" + config, 1)
    return text


def _prepare_prefix(prefix: Path, *, hwb_schema: bool = True) -> None:
    os.chmod(prefix, 0o755)  # mkdtemp makes it 0700; the dirsrv user must traverse it
    for name in PARENT_DIRS:
        (prefix / name).mkdir(mode=0o755, exist_ok=True)
        os.chmod(prefix / name, 0o755)
    defaults = (SYSTEM_DATA / "inf" / "defaults.inf").read_text()
    defaults, count = re.subn(r"(?m)^with_systemd = .*$", "with_systemd = 0", defaults)
    for key, relative in STATE_PATHS.items():
        defaults, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {prefix / relative}", defaults)
        if count != 1:
            raise ServerError(f"389-DS defaults.inf has no single '{key} =' line; update this fixture")
    (prefix / "share" / "dirsrv" / "inf").mkdir(mode=0o755)
    (prefix / "share" / "dirsrv" / "inf" / "defaults.inf").write_text(defaults)
    shutil.copytree(SYSTEM_DATA / "data", prefix / "share" / "dirsrv" / "data")
    template = prefix / "share" / "dirsrv" / "data" / "template-dse.ldif"
    template.write_text(_patch_template_dse(template.read_text()))
    for name in ("schema", "config"):
        shutil.copytree(SYSTEM_TEMPLATES / name, prefix / "etc" / "dirsrv" / name)
    if hwb_schema:
        shutil.copy(SCHEMA_LDIF, prefix / "etc" / "dirsrv" / "schema" / "99hwb.ldif")
    for root, dirs, files in os.walk(prefix):
        for name in dirs:
            os.chmod(Path(root) / name, 0o755)
        for name in files:
            os.chmod(Path(root) / name, 0o644)


_STARTED: set[Ds389Server] = set()


@atexit.register
def _stop_leftovers() -> None:
    """ns-slapd daemonizes, so a crashed test run would leave it running: stop what we started."""
    for server in list(_STARTED):
        server.stop()


class Ds389Server(TestServer):
    """389-DS; ns-slapd daemonizes, so it is tracked and stopped by the PID in its pid file."""

    prefix: Path
    pid: int | None = None

    @property
    def config_dir(self) -> Path:
        return self.prefix / "etc" / "dirsrv" / f"slapd-{INSTANCE}"

    @property
    def pid_file(self) -> Path:
        return self.prefix / "run" / "dirsrv" / f"slapd-{INSTANCE}.pid"

    @property
    def log_path(self) -> Path:
        return self.prefix / "var" / "log" / "dirsrv" / f"slapd-{INSTANCE}" / "errors"

    @property
    def access_log(self) -> Path:
        return self.prefix / "var" / "log" / "dirsrv" / f"slapd-{INSTANCE}" / "access"

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        began = time.monotonic()
        assert_port_free("127.0.0.1", self._host_port()[1])
        self.pid_file.unlink(missing_ok=True)  # so that a stale one cannot pass for the new server
        run([_ns_slapd(), "-D", str(self.config_dir), "-i", str(self.pid_file)], what="ns-slapd",
            env={"PREFIX": str(self.prefix)}, timeout=60)
        # ns-slapd forks; the child writes the pid file once it has started.
        deadline = time.monotonic() + 30
        while (pid := self._running_pid()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if pid is None:
            raise ServerError(
                f"ns-slapd did not come up; last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )
        self.pid = pid
        _STARTED.add(self)
        self.wait_until_answering(30, self.log_path)
        self.timings["start"] = time.monotonic() - began

    def stop(self) -> None:
        began = time.monotonic()
        pid = self._running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.02)
            else:
                os.kill(pid, signal.SIGKILL)
        self.pid = None
        _STARTED.discard(self)
        self.timings["stop"] = time.monotonic() - began

    def destroy(self) -> None:
        """The data goes away, so skip the graceful shutdown (~4 s of database checkpointing)."""
        pid = self._running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self.timings["stop"] = 0.0
        super().destroy()

    # ---- counting and ageing -----------------------------------------------------------------

    def operation_counts(self) -> Counter[str]:
        """From the access log (unbuffered in this fixture): one request line per operation."""
        return self._count_log(self.access_log, ACCESS_LINE, OPERATION_NAMES)

    def age(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Overwrite lastLoginTime (Directory Manager may). createTimestamp cannot be written over
        LDAP on 389-DS and is refused here rather than silently ignored."""
        with self.connect(check_names=False) as connection:
            for dn, attributes in changes.items():
                if "createTimestamp" in attributes:
                    raise ServerError("389-DS: createTimestamp is not writable; age lastLoginTime instead")
                connection.modify(
                    dn, {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in attributes.items()}
                )


def _setup_ldif() -> str:
    """ou=people, then deploy/389ds/agent.ldif (agent, lease, ACIs) with the fixture's password."""
    agent = (DEPLOY / "agent.ldif").read_text().replace(
        "userPassword: {SSHA}invalid-until-ldappasswd-sets-one", f"userPassword: {AGENT_PASSWORD}"
    )
    return f"dn: {BASE_DN}\nobjectClass: organizationalUnit\nou: people\n\n{agent}"


def _install_tls(config_dir: Path, tls: TlsFiles, tls_port: int) -> None:
    """Put the fixture's server certificate (as Server-Cert, the name cn=RSA,cn=encryption expects) and
    CA into the instance's NSS database, and turn LDAPS on at tls_port in dse.ldif (before the first
    start, so no restart; StartTLS comes with nsslapd-security too)."""
    token = (config_dir / "pwdfile.txt").read_text().strip()
    bundle = tls.key_file.parent / "server.p12"
    run(["openssl", "pkcs12", "-export", "-in", str(tls.cert_file), "-inkey", str(tls.key_file),
         "-name", "Server-Cert", "-out", str(bundle), "-passout", f"pass:{token}"], what="openssl pkcs12")
    database = f"sql:{config_dir}"
    password = ["-f", str(config_dir / "pwdfile.txt")]
    run(["pk12util", "-i", str(bundle), "-d", database, "-k", str(config_dir / "pwdfile.txt"), "-W", token],
        what="pk12util (server certificate)")
    run(["certutil", "-A", "-d", database, *password, "-n", "hwb test CA", "-t", "CT,,", "-a",
         "-i", str(tls.ca_file)], what="certutil (test CA)")
    for name in ("cert9.db", "key4.db"):
        shutil.chown(config_dir / name, user="dirsrv")
    dse = config_dir / "dse.ldif"
    text, count = re.subn(r"(?mi)^nsslapd-securePort: .*$",
                          f"nsslapd-securePort: {tls_port}\nnsslapd-security: on", dse.read_text())
    if count != 1:
        raise ServerError("389-DS dse.ldif has no single nsslapd-securePort line; update this fixture")
    dse.write_text(text)


def start_ds389(binary: str | None = None, *, bare: bool = False) -> Ds389Server:
    """A private 389-DS set up as deploy/389ds says; destroy() when done.

    bare=True stops after dscreate (and the test-only settings of _patch_template_dse: loopback,
    size limit, dynamic plugins) with only the suffix entry: no hwb schema, no Account Policy, no
    agent, for tests that follow deploy/389ds/README.md themselves."""
    binary = binary or dscreate_binary()
    if not binary:
        raise ServerError("dscreate/ns-slapd not found (Debian: 389-ds-base)")
    began = time.monotonic()
    prefix = make_workdir("hwb-389-")
    _prepare_prefix(prefix, hwb_schema=not bare)
    port, tls_port = free_port(), free_port()
    inf = prefix / "instance.inf"
    inf.write_text(f"""[general]
full_machine_name = localhost
start = False
strict_host_checking = False
[slapd]
instance_name = {INSTANCE}
port = {port}
root_password = {ADMIN_PASSWORD}
self_sign_cert = False
[backend-userroot]
sample_entries = no
suffix = {SUFFIX}
create_suffix_entry = True
""")
    server = Ds389Server(
        flavour=Flavour.DS389.value, url=f"ldap://127.0.0.1:{port}", suffix=SUFFIX, base_dn=BASE_DN,
        ldaps_url=f"ldaps://127.0.0.1:{tls_port}", tls=make_tls_files(prefix / "tls"),
        admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD, agent_dn=AGENT_DN, agent_password=AGENT_PASSWORD,
        workdir=prefix, size_limit=SIZE_LIMIT,
    )
    server.prefix = prefix
    try:
        run([binary, "from-file", str(inf)], env={"PREFIX": str(prefix)}, what="dscreate from-file",
            timeout=300)
        assert server.tls is not None
        _install_tls(server.config_dir, server.tls, tls_port)
        server.timings["create"] = time.monotonic() - began
        server.start()
        if bare:
            return server
        began = time.monotonic()
        # As the deployment guide says: Account Policy over LDAP (dynamic plugins), then the agent.
        server.add_ldif((DEPLOY / "account-policy.ldif").read_text())
        server.add_ldif(_setup_ldif())
        server.timings["setup"] = time.monotonic() - began
    except BaseException:
        server.destroy()
        raise
    return server
