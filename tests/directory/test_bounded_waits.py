"""Bounded waits (issue 11, item 3): no network wait outlasts `directory.timeout_seconds` by more
than a small margin, the write window after a server crash included.

- A server that trickles a result a byte at a time never trips the per-read timeout; the write
  pipeline's deadline still ends the wait for that result.
- On a real slapd, a one-shot `sweep` with a window of 64 whose server is SIGKILLed mid-window and
  restarted at once on the same port, round after round, ends (exit 0 or 1) within the timeout
  plus 3 s of the kill; so does one whose server is frozen (SIGSTOP) mid-window.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import threading
import time
from pathlib import Path

import ldap3
import pytest
import yaml
from ldap3.core.exceptions import LDAPCommunicationError

from agent.directory.pipeline import ModifyPipeline
from tests.service.agent_process import (
    AgentProcess,
    account_states,
    complete_or_untouched,
    load_due_learners,
    outcome_count,
    restart_killed,
    slapd_config,
)

TIMEOUT = 3
MARGIN = 3.0
SEED = 1111


# ---- the pipeline's deadline, against a server that trickles -----------------------------------


class _Trickler:
    """A TCP server that accepts one connection, reads what comes and answers with the start of an
    LDAP message that never ends: one byte every `every` seconds."""

    def __init__(self, every: float):
        self.every = every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(0.05)
            # SEQUENCE, long form length: 2 bytes of length, 0x7fff bytes that never all come.
            head = b"\x30\x82\x7f\xff"
            sent = 0
            while not self.stop.is_set():
                with contextlib.suppress(TimeoutError, OSError):
                    conn.recv(65536)
                try:
                    conn.sendall(head[sent:sent + 1] if sent < len(head) else b"\x02")
                except OSError:
                    return
                sent += 1
                self.stop.wait(self.every)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


def test_a_result_trickled_a_byte_at_a_time_ends_at_the_deadline_not_never():
    trickler = _Trickler(every=0.2)
    connection = ldap3.Connection(ldap3.Server(f"ldap://127.0.0.1:{trickler.port}", get_info=ldap3.NONE,
                                               connect_timeout=1),
                                  client_strategy=ldap3.SYNC, receive_timeout=1, raise_exceptions=True)
    try:
        connection.open()
        pipeline = ModifyPipeline(connection)
        token = pipeline.send("uid=x,dc=example,dc=org", [("description", "replace", ("y",))])
        began = time.monotonic()
        with pytest.raises(LDAPCommunicationError, match="no result from the server within 1 s"):
            pipeline.result(token)
        waited = time.monotonic() - began
    finally:
        trickler.close()
        connection.strategy.close()
    print(f"trickled result: gave up after {waited:.2f} s (timeout 1 s)")
    assert waited < 1.5  # without the deadline: never (each read gets a byte within 0.2 s)
    assert connection.closed  # requests may be in flight on it: it is never used again


# ---- a real slapd, killed or frozen under a one-shot sweep -------------------------------------


@pytest.fixture
def server(private_slapd):
    """This module's slapd: its own, since its tests kill or stop it."""
    return private_slapd


def _config(server, tmp_path: Path) -> Path:
    path = slapd_config(tmp_path / "agent.yaml", server, audit=tmp_path / "audit.jsonl")
    data = yaml.safe_load(path.read_text())
    data["directory"].update(timeout_seconds=TIMEOUT, max_writes_in_flight=64)
    path.write_text(yaml.safe_dump(data))
    return path


def _sweep_until(config: Path, env: dict[str, str], audit: Path, more: int) -> AgentProcess:
    """A one-shot sweep, returned once it has recorded `more` outcomes (or ended)."""
    base = outcome_count(audit)
    agent = AgentProcess(config, env=env, command="sweep").start()
    deadline = time.monotonic() + 60
    while agent.alive() and outcome_count(audit) - base < more and time.monotonic() < deadline:
        time.sleep(0.005)
    return agent


def _ended_within(agent: AgentProcess, since: float, bound: float) -> tuple[int | None, float]:
    """(exit code or None when still running, seconds since `since`) after waiting up to `bound`."""
    assert agent.process is not None
    try:
        code: int | None = agent.process.wait(max(0.0, since + bound - time.monotonic()))
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: it hung
        code = None
    return code, time.monotonic() - since


def test_one_shot_sweep_ends_within_the_timeout_when_the_server_is_killed_or_frozen_mid_window(
        server, tmp_path: Path):
    due = load_due_learners(server, 3000)
    audit = tmp_path / "audit.jsonl"
    config = _config(server, tmp_path)
    env = {"HWB_TEST_AGENT_PASSWORD": server.agent_password}
    rng = random.Random(SEED)
    bound = TIMEOUT + MARGIN
    figures = []
    for round_number, how in enumerate(["kill"] * 6 + ["stop"] * 2):
        with _sweep_until(config, env, audit, rng.randint(1, 200)) as agent:
            if not agent.alive():
                figures.append((how, "finished before the fault", agent.wait()))
                continue
            assert server.process is not None and server.process.pid is not None
            pid = server.process.pid
            if how == "kill":
                faulted = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                restart_killed(server, pid)
                code, seconds = _ended_within(agent, faulted, bound + 2)
            else:
                faulted = time.monotonic()
                os.kill(pid, signal.SIGSTOP)
                try:
                    code, seconds = _ended_within(agent, faulted, bound + 2)
                finally:
                    os.kill(pid, signal.SIGCONT)
            figures.append((how, f"{seconds:.2f} s", code))
            print(f"round {round_number} (seed {SEED}): server {how} -> sweep exit {code} after"
                  f" {seconds:.2f} s (bound {bound:.0f} s)")
            assert code in (0, 1), f"round {round_number}: sweep still running {seconds:.1f} s after" \
                f" the server was {how}ed:\n{agent.tail()}"
            assert seconds < bound, f"round {round_number}: {seconds:.1f} s after {how}:\n{agent.tail()}"
    print(figures)
    assert sum(1 for figure in figures if figure[1].endswith(" s")) >= 6, figures
    # No account half-changed (C-4), whatever the moment of the fault.
    changed, untouched = complete_or_untouched(account_states(server))
    assert len(changed) + len(untouched) == len(due)
