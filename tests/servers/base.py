"""What every real test server offers: where it listens, who may bind, and helpers.

A fixture returns one of the subclasses (slapd, Samba AD DC, 389-DS); tests
talk to it with plain ldap3. Every server lives in a private temporary
directory, listens on loopback only and is stopped by PID.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import parse_dn

# Servers write their logs here; this many lines go into a start-up error.
LOG_TAIL_LINES = 40


class ServerError(RuntimeError):
    """A test server could not be set up, started or changed."""


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log at {path}: {error})"
    return "\n".join(text.splitlines()[-lines:])


def run(command: Sequence[str], *, input_text: str | None = None, env: Mapping[str, str] | None = None,
        timeout: float = 120, what: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise ServerError with its output (never silently)."""
    try:
        completed = subprocess.run(
            list(command), input=input_text, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **env} if env else None, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ServerError(f"{what or command[0]}: {error}") from error
    if completed.returncode != 0:
        raise ServerError(
            f"{what or command[0]} failed with exit {completed.returncode}: {' '.join(command)}\n"
            f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-4000:]}"
        )
    return completed


def _unescape_dn_value(value: str) -> str:
    """An RDN value without RFC 4514 escapes (\\, and \\2C alike; hex pairs may spell UTF-8)."""
    out = bytearray()
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            pair = value[index + 1:index + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                index += 3
                continue
            out += value[index + 1].encode()
            index += 2
            continue
        out += char.encode()
        index += 1
    return out.decode()


def dn_key(dn: str) -> tuple[tuple[str, str], ...]:
    """A DN in a form to compare: servers return DNs escaped their own way (\\, or \\2C) and in
    their own case, so compare attribute types and unescaped values case-insensitively."""
    return tuple(
        (attribute.lower(), _unescape_dn_value(value).lower()) for attribute, value, _ in parse_dn(dn)
    )


def replace_ldif(changes: Mapping[str, Mapping[str, str]]) -> str:
    """LDIF modify records that replace each named attribute of each DN (for offline ageing)."""
    records = []
    for dn, attributes in changes.items():
        lines = [f"dn: {dn}", "changetype: modify"]
        for name, value in attributes.items():
            lines += [f"replace: {name}", f"{name}: {value}", "-"]
        records.append("\n".join(lines))
    return "\n\n".join(records) + "\n"


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate signed by it (PEM files), for LDAPS and StartTLS."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path, ip_addresses: Sequence[str] = ("127.0.0.1",)) -> TlsFiles:
    """A CA and a server certificate for localhost and ip_addresses (subject alternative names), with
    openssl; EC P-256 keys, so it takes tens of milliseconds. The key is private to the owner (Samba
    refuses a key file that others may read)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca_key = directory / "ca.key"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(files.ca_file), "-days", "2",
         "-subj", "/CN=hwb test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], what="openssl (test CA)")
    request = directory / "server.csr"
    run(["openssl", "req", "-new", *ec, "-keyout", str(files.key_file), "-out", str(request),
         "-subj", "/CN=localhost"], what="openssl (server key)")
    names = ",".join(["DNS:localhost", *(f"IP:{address}" for address in ip_addresses)])
    extensions = directory / "server.ext"
    extensions.write_text(f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(files.ca_file), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(files.cert_file), "-days", "2", "-extfile", str(extensions)],
        what="openssl (server certificate)")
    os.chmod(files.key_file, 0o600)
    return files


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def assert_port_free(host: str, port: int) -> None:
    """Refuse to start where something already listens: tests would talk to that instead."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            raise ServerError(f"something already listens on {host}:{port} (a leftover test server?)")


def make_workdir(prefix: str) -> Path:
    """A private directory for one server. Short on purpose: ldapi socket paths max out at 107 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def keep_workdirs() -> bool:
    """HWB_KEEP_TEST_SERVERS=1 leaves the servers' directories behind for a post-mortem."""
    return os.environ.get("HWB_KEEP_TEST_SERVERS", "") not in ("", "0")


_RUNNING: set[ManagedProcess] = set()


@atexit.register
def _stop_leftovers() -> None:
    """A crashed test run must not leave servers behind (the next run would talk to them)."""
    for process in list(_RUNNING):
        process.stop(timeout=5)


@dataclass(eq=False)
class ManagedProcess:
    """A server process we started ourselves, stopped by its PID (never by name)."""

    command: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env} if self.env else None,
                # Its own process group, so a Ctrl-C in pytest does not hit it before we stop it.
                start_new_session=True,
            )
        finally:
            log.close()
        _RUNNING.add(self)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return self.process.poll() if self.process else None

    def stop(self, timeout: float = 20) -> None:
        _RUNNING.discard(self)
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@dataclass(eq=False)  # a server is itself, not equal to another with the same fields
class TestServer:
    """A running directory server for tests.

    Fields: ``flavour`` (an agent Flavour value), ``url`` (ldap://127.x.x.x:PORT),
    ``ldapi_url`` (slapd only), ``suffix`` (naming context), ``base_dn`` (where
    accounts live, an OU that exists and is empty at start), ``admin_dn`` /
    ``admin_password`` (may do anything), ``agent_dn`` / ``agent_password``
    (the agent's service account with the rights the deployment guide gives
    it), ``workdir``, ``ldaps_url`` and ``tls`` (LDAPS, and StartTLS on ``url``, with a
    certificate from a CA of the fixture's own: ``tls.ca_file``; None where a fixture has no TLS),
    ``size_limit`` (the server's limit for unpaged searches, or
    None when it does not enforce one) and ``timings`` (seconds per phase).
    """

    __test__ = False  # not a pytest test class, despite the name

    flavour: str
    url: str
    suffix: str
    base_dn: str
    admin_dn: str
    admin_password: str
    agent_dn: str
    agent_password: str
    workdir: Path
    ldapi_url: str | None = None
    size_limit: int | None = None
    ldaps_url: str | None = None
    tls: TlsFiles | None = None
    timings: dict[str, float] = field(default_factory=dict)
    process: ManagedProcess | None = field(default=None, repr=False)
    # Running totals of operation_counts() and how far into the log they go.
    _operation_totals: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _log_position: int = field(default=0, init=False, repr=False)

    # ---- connections -------------------------------------------------------------------------

    def connect(self, dn: str | None = None, password: str | None = None, **options) -> ldap3.Connection:
        """A SYNC connection as the admin (or dn/password), not yet bound: use it as
        ``with server.connect() as connection:``, which binds (raising on failure) and unbinds at the
        end. (ldap3 only unbinds on leaving a with block that did the bind itself.)"""
        server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=5)
        return ldap3.Connection(
            server,
            user=self.admin_dn if dn is None else dn,
            password=self.admin_password if password is None else password,
            raise_exceptions=True, receive_timeout=30, **options,
        )

    def can_bind(self, dn: str, password: str) -> bool:
        """True when a simple bind as dn succeeds; False on invalidCredentials and kin."""
        server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(server, user=dn, password=password, receive_timeout=30)
        try:
            return bool(connection.bind())
        finally:
            connection.unbind()

    def bind_result(self, dn: str, password: str) -> dict:
        """The raw result of a simple bind (result code, message) for tests of refusals."""
        server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(server, user=dn, password=password, receive_timeout=30)
        try:
            connection.bind()
            return dict(connection.result)
        finally:
            connection.unbind()

    def _host_port(self) -> tuple[str, int]:
        rest = self.url.split("://", 1)[1].rstrip("/")
        host, _, port = rest.rpartition(":")
        return (host, int(port)) if host else (rest, 636 if self.url.startswith("ldaps") else 389)

    def wait_until_answering(self, timeout: float, log_path: Path) -> None:
        """Poll with an admin bind until the server answers; on timeout show its log."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.exited() is not None:
                raise ServerError(
                    f"{self.flavour} server exited with {self.process.exited()} while starting;"
                    f" last log lines of {log_path}:\n{log_tail(log_path)}"
                )
            try:
                # Probe the port with a plain socket first: ldap3 leaves the socket of a refused
                # connection for the garbage collector, whose ResourceWarning would then fail
                # whichever test happens to be running.
                host, port = self._host_port()
                with socket.create_connection((host, port), timeout=1):
                    pass
                with self.connect():
                    return
            except (LDAPException, OSError) as error:
                last_error = error
                time.sleep(0.01)
        raise ServerError(
            f"{self.flavour} server did not answer on {self.url} within {timeout:.0f} s"
            f" (last error: {last_error!r}); last log lines of {log_path}:\n{log_tail(log_path)}"
        )

    # ---- data --------------------------------------------------------------------------------

    def add_ldif(self, text: str) -> None:
        """Apply LDIF as the admin with ldapmodify -a: plain entries are added, changetype records applied."""
        run(
            ["ldapmodify", "-a", "-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password],
            input_text=text, what="ldapmodify (add_ldif)",
        )

    def add_user(self, uid: str, password: str, *, given_name: str = "Test", surname: str | None = None,
                 cn: str | None = None, attributes: Mapping[str, object] | None = None,
                 parent_dn: str | None = None) -> str:
        """Create an enabled account (login uid) that can bind with password; returns its DN.
        attributes may include hwb* lifecycle attributes (the fixture adds what the flavour needs
        to hold them). On AD cn names the entry (its RDN); elsewhere the RDN is uid."""
        dn = self.user_dn(uid, parent_dn)
        extra = dict(attributes or {})
        object_classes = ["inetOrgPerson"]
        if any(name.startswith("hwb") for name in extra):
            object_classes.append("hwbAccount")
        with self.connect() as connection:
            connection.add(dn, object_classes, {
                "uid": uid, "cn": cn or f"{given_name} {surname or uid}", "sn": surname or uid,
                "givenName": given_name, "userPassword": password, **extra,
            })
        return dn

    def child_ldif(self, parent_dn: str, name: str) -> str:
        """An LDIF record of an entry that may sit below parent_dn (an account or another child),
        for purge tests."""
        return f"dn: ou={name},{parent_dn}\nobjectClass: organizationalUnit\nou: {name}"

    def time_value(self, generalized_time: str) -> str:
        """GeneralizedTime as this server accepts it in values and filters ("YYYYMMDDHHMMSSZ")."""
        return generalized_time

    def user_dn(self, uid: str, parent_dn: str | None = None) -> str:
        """The DN add_user gives an account with this uid (RDN value escaped)."""
        from ldap3.utils.dn import escape_rdn

        return f"uid={escape_rdn(uid)},{parent_dn or self.base_dn}"

    # Filter matching the accounts add_user and user_ldif create.
    person_filter = "(objectClass=inetOrgPerson)"

    def user_ldif(self, uid: str, parent_dn: str | None = None) -> str:
        """An LDIF record of a minimal account (no password), for bulk loads through add_ldif."""
        return (f"dn: {self.user_dn(uid, parent_dn)}\nobjectClass: inetOrgPerson\n"
                f"uid: {uid}\ncn: {uid}\nsn: {uid}")

    def purge(self, connection: ldap3.Connection, dn: str) -> None:
        """Delete dn and everything below it over connection, the way this flavour must: here leaves
        first, since slapd and 389-DS have no subtree-delete control and refuse non-leaves (66)."""
        entries = connection.extend.standard.paged_search(
            dn, "(objectClass=*)", search_scope=ldap3.SUBTREE, attributes=[], paged_size=500, generator=False,
        )
        names = [entry["dn"] for entry in entries if entry.get("type") == "searchResEntry"]
        # Deepest first: a parent can only go once its children are gone.
        for name in sorted(names, key=lambda value: len(parse_dn(value)), reverse=True):
            connection.delete(name)

    def delete_subtree(self, dn: str) -> None:
        """purge() as the admin."""
        with self.connect() as connection:
            self.purge(connection, dn)

    def clear_base(self) -> None:
        """Delete every entry below base_dn (keeping base_dn itself), for tests that need it empty."""
        with self.connect() as connection:
            entries = connection.extend.standard.paged_search(
                self.base_dn, "(objectClass=*)", search_scope=ldap3.LEVEL, attributes=[], paged_size=500,
                generator=False,
            )
            children = [entry["dn"] for entry in entries if entry.get("type") == "searchResEntry"]
            # One connection for all of them: a connection per child cost ~10 ms each.
            for child in children:
                self.purge(connection, child)

    # ---- counting and ageing -----------------------------------------------------------------

    def operation_counts(self) -> Counter[str]:
        """Operations the server has received since the fixture created it (restarts included), by
        kind (add, modify, delete, modrdn, search, bind, ...). Take two readings and subtract them to
        count what a piece of code did."""
        raise NotImplementedError(f"{self.flavour} test server cannot count operations")

    def _count_log(self, path: Path, pattern: re.Pattern[str], names: Mapping[str, str]) -> Counter[str]:
        """Add the request lines appended to an operation log since the last call to the running
        totals (read incrementally: a benchmark's log can grow large)."""
        with path.open("rb") as log:
            log.seek(self._log_position)
            chunk = log.read()
        # Only whole lines: the server may be writing the last one right now.
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._log_position += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            match = pattern.search(line)
            if match:
                self._operation_totals[names[match.group(1)]] += 1
        return Counter(self._operation_totals)

    def write_count(self) -> int:
        """A counter that grows with every write the server accepted (add, modify, delete, modrdn)."""
        counts = self.operation_counts()
        return counts["add"] + counts["modify"] + counts["delete"] + counts["modrdn"]

    def age(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Overwrite server-maintained attributes ({dn: {attribute: value}}), such as the last
        sign-in and the creation time, to make accounts look old."""
        raise NotImplementedError

    # ---- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server (same data directory stays; start() brings it back)."""
        began = time.monotonic()
        if self.process is not None:
            self.process.stop()
        self.timings["stop"] = time.monotonic() - began

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop for good and remove the data (unless HWB_KEEP_TEST_SERVERS is set)."""
        self.stop()
        if not keep_workdirs():
            shutil.rmtree(self.workdir, ignore_errors=True)
