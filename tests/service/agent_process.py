"""`hwb-agent run` as a real child process, for the end-to-end service tests.

`AgentProcess` starts `python -m agent --config FILE run` with its JSON log on
stderr, reads every line in a background thread (each with the monotonic time it
arrived) and lets a test wait for events by name. The process is stopped by its
PID only (SIGTERM, or SIGKILL when a test plays a crash).

Also here: helpers for a private slapd loaded with thousands of due accounts, and
for reading back what the server and the audit file say happened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
# Bounds waits for things that normally take a second; only a failing test waits this long.
PATIENCE_SECONDS = 30.0

Event = dict[str, Any]


class AgentProcess:
    """One `hwb-agent run` child process and the log events it printed."""

    def __init__(self, config: Path, *, env: dict[str, str] | None = None, name: str = "agent",
                 command: str = "run"):
        self.config = config
        self.env = env or {}
        self.name = name
        self.command = command
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self._lock = threading.Lock()
        self._events: list[tuple[float, Event]] = []  # (monotonic arrival, JSON record)
        self._other: list[str] = []  # lines that were not JSON (tracebacks, stdout text)
        self._readers: list[threading.Thread] = []

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> AgentProcess:
        environment = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **self.env}
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent", "--config", str(self.config), self.command],
            cwd=REPO, env=environment, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        for stream in (self.process.stdout, self.process.stderr):
            reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
            reader.start()
            self._readers.append(reader)
        return self

    def _read(self, stream: Any) -> None:
        for line in stream:
            arrived = time.monotonic()
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            with self._lock:
                if isinstance(record, dict) and "event" in record:
                    self._events.append((arrived, record))
                else:
                    self._other.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, signum: int) -> float:
        """Send a signal to this process (by PID); returns the monotonic time it was sent."""
        sent = time.monotonic()
        os.kill(self.pid, signum)
        return sent

    def wait(self, timeout: float = PATIENCE_SECONDS) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit (the exit code)."""
        if not self.alive():
            return self.wait()
        self.send(signal.SIGTERM)
        return self.wait()

    def __enter__(self) -> AgentProcess:
        """Does not start the process (call start(), perhaps later); kills it on leaving the block."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    # --- events ------------------------------------------------------------------------------

    def events(self, name: str | None = None, **match: Any) -> list[tuple[float, Event]]:
        with self._lock:
            found = list(self._events)
        return [(arrived, record) for arrived, record in found
                if (name is None or record.get("event") == name)
                and all(record.get(key) == value for key, value in match.items())]

    def count(self, name: str, **match: Any) -> int:
        return len(self.events(name, **match))

    def wait_for(self, name: str, *, count: int = 1, timeout: float = PATIENCE_SECONDS,
                 where: Callable[[Event], bool] | None = None, **match: Any) -> tuple[float, Event]:
        """Wait until `count` events called `name` (matching) arrived; the last one (time, record)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [item for item in self.events(name, **match) if where is None or where(item[1])]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline or (self.process is not None and self.process.poll() is not None
                                               and not found[count - 1:]):
                if self.process is not None and self.process.poll() is not None:
                    time.sleep(0.2)  # let the readers drain what the process wrote before it exited
                    found = [item for item in self.events(name, **match) if where is None or where(item[1])]
                    if len(found) >= count:
                        return found[count - 1]
                raise AssertionError(
                    f"{self.name}: waited {timeout:.0f}s for {count} x {name!r} {match or ''}, saw"
                    f" {len(found)}; exit code {self.process.poll() if self.process else None};"
                    f" last output:\n{self.tail()}"
                )
            time.sleep(0.01)

    def tail(self, lines: int = 20) -> str:
        """The last service events (audit lines left out: thousands look alike) and other output."""
        with self._lock:
            events = [record for _, record in self._events if not str(record["event"]).startswith("account_")]
            text = [json.dumps(record) for record in events[-lines:]] + self._other[-lines:]
        return "\n".join(text)


# --- a private slapd with due accounts ---------------------------------------------------------

LEAVER_DATE = "20260701000000Z"  # in the past: every account below is due for MIS-2 (disable, `left`)
STATE_ATTRIBUTES = ("pwdAccountLockedTime", "hwbDisabledReason", "hwbDisabledAt")


def load_due_learners(server: Any, count: int) -> list[str]:
    """Bulk-load `count` learners who left on 1 July 2026 under the server's base DN (offline slapadd,
    ~0.2 s for thousands); returns their DNs."""
    from tests.servers.base import run

    slapadd = shutil.which("slapadd") or shutil.which("slapadd", path="/usr/sbin:/usr/local/sbin")
    assert slapadd, "slapadd not found (Debian: slapd)"
    dns = [f"uid=leaver{index:05d},{server.base_dn}" for index in range(count)]
    records = [
        f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: hwbAccount\nuid: leaver{index:05d}\n"
        f"cn: Leaver {index}\nsn: Leaver\nhwbCategory: mis\nhwbRole: learner\n"
        f"hwbMisId: A{index:012d}\nhwbSchool: 6812001\nhwbLocalAuthority: 681\n"
        f"hwbLeavingDate: {LEAVER_DATE}\n"
        for index, dn in enumerate(dns)
    ]
    path = server.workdir / "due-learners.ldif"
    path.write_text("\n".join(records))
    server.stop()
    try:
        run([slapadd, "-q", "-n1", "-F", str(server.config_dir), "-l", str(path)],
            what="slapadd (due learners)")
    finally:
        server.start()
    return dns


def slapd_config(path: Path, server: Any, *, audit: Path, lease_holder: str | None = None,
                 metrics_port: int | None = None, lease_period: int = 4) -> Path:
    """A configuration for `run` against the slapd fixture, with short intervals."""
    data: dict[str, Any] = {
        "local_authority": {"code": "681", "name": "slapd"},
        "directory": {"url": server.url, "base_dn": server.base_dn, "bind_dn": server.agent_dn,
                      "password_env": "HWB_TEST_AGENT_PASSWORD", "flavour": "openldap",
                      "timeout_seconds": 5},
        # Thousands of leavers at once are the point here, not a truncated feed (C-8).
        "safety": {"max_disables": 100000, "max_purges": 100000, "max_change_percent": 100},
        "schedule": {"sweep": ["every 1 minutes"], "activation_poll_seconds": 1},
        "logging": {"format": "json", "level": "info", "audit_file": str(audit)},
        "service": {"retry": {"initial_seconds": 0.2, "max_seconds": 1.0}},
    }
    if metrics_port is not None:
        data["service"]["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    if lease_holder is not None:
        data["service"]["lease"] = {
            "enabled": True, "holder": lease_holder, "period_seconds": lease_period,
            # Where deploy/openldap/agent-acl.ldif lets the agent write (service-account.ldif adds it).
            "dn": f"cn=hwb-agent-lease,ou=services,{server.suffix}",
        }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def account_states(server: Any) -> dict[str, tuple[bool, bool, bool]]:
    """Every account under the base DN -> (locked, reason set, time set), read as the admin."""
    states = {}
    with server.connect() as connection:
        entries = connection.extend.standard.paged_search(
            server.base_dn, "(hwbCategory=*)", attributes=list(STATE_ATTRIBUTES), paged_size=1000,
            generator=True)
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            raw = {name.lower(): values for name, values in entry["raw_attributes"].items()}
            states[entry["dn"].lower()] = tuple(bool(raw.get(name.lower())) for name in STATE_ATTRIBUTES)
    return states


def complete_or_untouched(states: dict[str, tuple[bool, bool, bool]]) -> tuple[set[str], set[str]]:
    """(changed, untouched) DNs; fails on any account with only part of a change (C-4)."""
    partial = {dn: state for dn, state in states.items() if any(state) and not all(state)}
    assert not partial, f"half-changed accounts (C-4): {list(partial.items())[:5]}"
    changed = {dn for dn, state in states.items() if all(state)}
    return changed, set(states) - changed


_MOD = re.compile(r"conn=(\d+) op=(\d+) MOD dn=\"([^\"]*)\"")
_RESULT = re.compile(r"conn=(\d+) op=(\d+) RESULT tag=103 err=(\d+)")


def successful_modifies(server: Any) -> Counter[str]:
    """Modifies the server accepted, by DN (lower case), from slapd's stats log: what was really
    written, whoever wrote it and whether or not its client lived to see the reply."""
    text = server.log_path.read_text(errors="replace")
    pending: dict[tuple[str, str], str] = {}
    done: Counter[str] = Counter()
    for line in text.splitlines():
        if found := _MOD.search(line):
            pending[(found[1], found[2])] = found[3].lower()
        elif (found := _RESULT.search(line)) and found[3] == "0":
            dn = pending.pop((found[1], found[2]), None)
            if dn is not None:
                done[dn] += 1
    return done


def audit_records(*paths: Path) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    # Records of changes only: a write-ahead intent line (issue 11), and the outcome of an intent
    # the server did not apply (`change_not_applied`), are not records of a change.
    records = [record for record in records
               if record.get("phase") != "intent" and record.get("event") != "change_not_applied"]
    return records


def outcome_count(path: Path) -> int:
    """Outcome lines in an audit file so far (cheap enough to poll: a byte count, no JSON)."""
    try:
        return path.read_bytes().count(b'"phase": "outcome"')
    except OSError:
        return 0


def restart_killed(server: Any, pid: int, timeout: float = 15) -> None:
    """Start a SIGKILLed slapd fixture again on the same port, as soon as the old one is gone."""
    import socket

    if server.process is not None:
        server.process.stop(timeout=5)  # reaps what is left of it
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    host, port = server._host_port()
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) != 0:
                break
        time.sleep(0.01)
    server.start()
