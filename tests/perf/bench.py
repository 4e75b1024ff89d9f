"""Benchmarks of issue 7 against the directory's own floor, on throwaway slapd servers.

Run from the repository root:

    PYTHONPATH=$PWD python -m tests.perf.bench                       # 10k, 55k, 100k; 5 runs
    PYTHONPATH=$PWD python -m tests.perf.bench --sizes 10000,100000 --runs 7
    PYTHONPATH=$PWD python -m tests.perf.bench --smoke               # 1k accounts, one run, no verdicts

Every figure is the median of the runs (with min and max); every ratio is the
median of per-run ratios between the agent and its floor, the two measured
one after the other (alternating which goes first) against the same server in
the same run, because this machine is small and noisy. The exit status is 1
when a target fails (never with --smoke).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap3
import yaml

from agent import cli, logs
from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import import_feed
from agent.actions.mis.feed_reader import read_feed
from agent.actions.session import open_directory
from agent.actions.sweep import plan, sweep
from agent.cli.parser import build_parser
from agent.core import changes as change_module
from agent.core.dates import start_of_day
from agent.core.model import Action
from agent.directory.connection import mapper_for
from agent.directory.gateway import Directory
from agent.settings import config as config_module
from agent.settings.config import Config
from tests.perf.oneroster import changed_feed, write_feed
from tests.perf.population import Population, write_ldif
from tests.servers.base import run
from tests.servers.slapd import SlapdServer, _tool, start_slapd

REPO = Path(__file__).resolve().parents[2]
LONDON = "Europe/London"
SEED = 681


# ---- measurements and tables -------------------------------------------------------------------


@dataclass
class Measure:
    """One measured quantity over the runs, optionally against a floor measured alongside."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    floor_name: str = ""
    floor_values: list[float] = field(default_factory=list)
    target: str = ""
    check: Callable[[float], bool] | None = None  # on the ratio (or the median when no floor)

    def ratios(self) -> list[float]:
        pairs = zip(self.values, self.floor_values, strict=False)
        return [value / floor if floor else float("nan") for value, floor in pairs]

    def ratio(self) -> float | None:
        ratios = self.ratios()
        return statistics.median(ratios) if ratios else None

    def verdict(self, enforce: bool) -> str:
        if self.check is None:
            return ""
        figure = self.ratio() if self.floor_values else statistics.median(self.values)
        if figure is None:
            return "n/a"
        passed = self.check(figure)
        if not enforce:
            return "(pass)" if passed else "(fail)"
        return "PASS" if passed else "FAIL"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f}"
    if unit in ("MiB", "x"):
        return f"{value:.2f}"
    if unit == "/s":
        return f"{value:,.0f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass
class Table:
    title: str
    measures: list[Measure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: Measure) -> Measure:
        self.measures.append(measure)
        return measure

    def render(self, enforce: bool) -> str:
        header = ("measure", "unit", "median", "min", "max", "floor", "floor median", "ratio", "target",
                  "verdict")
        rows = [header]
        for m in self.measures:
            ratio = m.ratio() if m.floor_values else None
            rows.append((
                m.name, m.unit, _figure(statistics.median(m.values), m.unit) if m.values else "-",
                _figure(min(m.values), m.unit) if m.values else "-",
                _figure(max(m.values), m.unit) if m.values else "-",
                m.floor_name or "",
                _figure(statistics.median(m.floor_values), m.unit) if m.floor_values else "",
                f"{ratio:.3f}" if ratio is not None else "", m.target, m.verdict(enforce),
            ))
        widths = [max(len(str(row[index])) for row in rows) for index in range(len(header))]
        lines = [f"== {self.title} =="]
        for number, row in enumerate(rows):
            lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
                         .rstrip())
            if number == 0:
                lines.append("  ".join("-" * width for width in widths))
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def failed(self) -> list[Measure]:
        return [m for m in self.measures if m.verdict(True) == "FAIL"]


# ---- servers and configuration -----------------------------------------------------------------


@dataclass
class Bench:
    """A slapd loaded with one population, and the agent's configuration for it."""

    server: SlapdServer
    population: Population
    config: Config
    config_path: Path
    now: datetime

    def destroy(self) -> None:
        self.server.destroy()


def benchmark_day() -> date:
    """Today in the policy zone: the CLI commands measured for RSS sweep at the real `now`."""
    return datetime.now(_zone()).date()


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(LONDON)


def config_document(server: SlapdServer, password_file: Path, audit_file: Path,
                    writes_in_flight: int) -> dict[str, Any]:
    return {
        "local_authority": {"code": "681", "name": "Benchmark LA"},
        "directory": {
            "url": server.url, "bind_dn": server.agent_dn, "password_file": str(password_file),
            "base_dn": server.base_dn, "flavour": "openldap", "page_size": 500,
            "max_writes_in_flight": writes_in_flight,
        },
        "policy": {"timezone": LONDON},
        # Benchmarks change thousands of accounts on purpose: the guard (C-8) is not measured here.
        "safety": {"max_disables": 10_000_000, "max_purges": 10_000_000, "max_change_percent": 100},
        "logging": {"format": "json", "audit_file": str(audit_file)},
    }


def load_bench(size: int, due: int, today: date, writes_in_flight: int) -> Bench:
    """Start a slapd as the tests do, then stop it, slapadd -q the population and start again."""
    server = start_slapd()
    try:
        ldif = server.workdir / "population.ldif"
        population = write_ldif(ldif, size, due=due, seed=SEED, today=today, base_dn=server.base_dn)
        server.stop()
        run([_tool("slapadd"), "-q", "-n1", "-F", str(server.config_dir), "-l", str(ldif)],
            timeout=600, what="slapadd -q (population)")
        ldif.unlink()
        server.start()
        password_file = server.workdir / "agent-password"
        password_file.write_text(server.agent_password + "\n")
        document = config_document(server, password_file, server.workdir / "audit.jsonl", writes_in_flight)
        config_path = server.workdir / "agent.yaml"
        config_path.write_text(yaml.safe_dump(document))
        config = config_module.load(config_path)
        now = start_of_day(today, config.policy.timezone) + timedelta(hours=12)
        return Bench(server, population, config, config_path, now)
    except BaseException:
        server.destroy()
        raise


# ---- the floors ----------------------------------------------------------------------------------


def account_filter(config: Config) -> str:
    return f"({mapper_for(config.directory, config.attributes).attribute('category')}=*)"


def ldap3_read(bench: Bench, attributes: Sequence[str]) -> tuple[int, int]:
    """Floor: a bare ldap3 paged read of every account; returns (entries, bytes received)."""
    settings = bench.config.directory
    server = ldap3.Server(settings.url, get_info=ldap3.NONE)
    # The agent's connection options (gateway._open): the floor is the library as the agent uses it.
    connection = ldap3.Connection(server, user=settings.bind_dn, password=settings.password.reveal(),
                                  raise_exceptions=True, collect_usage=True, check_names=False)
    connection.bind()
    entries = 0
    for item in connection.extend.standard.paged_search(
        settings.base_dn, account_filter(bench.config), attributes=list(attributes),
        paged_size=settings.page_size, generator=True,
    ):
        if item["type"] == "searchResEntry":
            entries += 1
    received = connection.usage.bytes_received
    connection.unbind()
    return entries, received


def ldapsearch_read(bench: Bench, attributes: Sequence[str]) -> None:
    """Floor: OpenLDAP's ldapsearch, paged the same way, output thrown away."""
    settings = bench.config.directory
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            ["ldapsearch", "-x", "-LLL", "-H", settings.url, "-D", settings.bind_dn,
             "-w", settings.password.reveal(), "-b", settings.base_dn,
             "-E", f"pr={settings.page_size}/noprompt", account_filter(bench.config), *attributes],
            stdout=sink, stderr=subprocess.PIPE, check=True,
        )


def ldapmodify_file(bench: Bench, path: Path, *, as_admin: bool = False) -> None:
    settings = bench.config.directory
    who = ([bench.server.admin_dn, bench.server.admin_password] if as_admin
           else [settings.bind_dn, settings.password.reveal()])
    subprocess.run(["ldapmodify", "-x", "-H", settings.url, "-D", who[0], "-w", who[1], "-f", str(path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)


# ---- the agent -----------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


def agent_sweep(bench: Bench, *, dry_run: bool = False, phases: dict[str, float] | None = None
                ) -> tuple[Any, int]:
    """One routine sweep in-process (connect, sweep, close); returns (report, bytes received).
    With `phases`, also records "writes": the seconds from the first write to the last result
    (write phase, audit records included)."""
    from ldap3.core.usage import ConnectionUsage

    audit = AuditTrail(bench.config.logging.audit_file)
    with open_directory(bench.config) as directory:
        directory.connection._usage = ConnectionUsage()  # count the bytes read (benchmark only)
        if phases is not None:
            write_changes = directory.write_changes

            def timed_writes(items: Any, **options: Any) -> Iterator[Any]:
                began = time.perf_counter()
                yield from write_changes(items, **options)
                phases["writes"] = time.perf_counter() - began

            directory.write_changes = timed_writes  # type: ignore[method-assign]
        report = sweep(directory, bench.config, audit, bench.now, dry_run=dry_run)
        received = directory.connection.usage.bytes_received
    audit.close()
    return report, received


def agent_cli(bench: Bench, *arguments: str) -> int:
    with quiet_stdout():
        return cli.main(["--config", str(bench.config_path), *arguments])


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def alternate(run_number: int, first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run both, swapping which goes first on every other run."""
    for action in ((first, second) if run_number % 2 == 0 else (second, first)):
        action()


def server_writes(server: SlapdServer) -> int:
    return server.write_count()


# ---- benchmarks ----------------------------------------------------------------------------------


def bench_converged(bench: Bench, runs: int, enforce_target: bool) -> Table:
    size = bench.population.size
    table = Table(f"routine sweep of a converged directory, {size:,} accounts ({runs} runs)")
    attributes = mapper_for(bench.config.directory, bench.config.attributes).read_attributes()
    wall = table.add(Measure("sweep wall time", "s", floor_name="ldap3 full read",
                             target="<= 0.10x" if enforce_target else "(0.10x at 100k)",
                             check=(lambda ratio: ratio <= 0.10) if enforce_target else None))
    received = table.add(Measure("bytes read", "B", floor_name="ldap3 full read"))
    searches = table.add(Measure("LDAP searches sent (agent count)", "ops"))
    server_ops = table.add(Measure("LDAP operations seen by slapd", "ops"))
    entries = table.add(Measure("entries read", "entries", floor_name="ldap3 full read"))
    writes = table.add(Measure("writes (agent and slapd)", "ops", target="0", check=lambda value: value == 0))
    for number in range(runs):
        floor: dict[str, Any] = {}
        agent: dict[str, Any] = {}

        def floor_run(floor=floor) -> None:
            seconds, (count, size_read) = timed(lambda: ldap3_read(bench, attributes))
            floor.update(seconds=seconds, count=count, received=size_read)

        def agent_run(agent=agent) -> None:
            before = bench.server.operation_counts()
            seconds, (report, size_read) = timed(lambda: agent_sweep(bench))
            after = bench.server.operation_counts()
            operations = after - before
            agent.update(seconds=seconds, report=report, received=size_read,
                         server_ops=sum(operations.values()),
                         server_writes=operations["modify"] + operations["add"] + operations["delete"])

        alternate(number, floor_run, agent_run)
        wall.values.append(agent["seconds"])
        wall.floor_values.append(floor["seconds"])
        received.values.append(agent["received"])
        received.floor_values.append(floor["received"])
        searches.values.append(agent["report"].operations["searches"])
        server_ops.values.append(agent["server_ops"])
        entries.values.append(agent["report"].operations["entries_read"])
        entries.floor_values.append(floor["count"])
        writes.values.append(max(agent["report"].operations["writes"], agent["server_writes"]))
    report = agent["report"]
    table.notes.append(f"candidates read {report.scanned}, flagged {len(report.flags)}, errors"
                       f" {len(report.errors)}; slapd ops include bind and unbind")
    return table


def planned_changes_ldif(bench: Bench) -> tuple[str, int]:
    """The modifies a sweep at bench.now makes, as an LDIF file for ldapmodify (the floor)."""
    records = []
    with open_directory(bench.config) as directory:
        for planned in plan(directory, bench.config, bench.now):
            decision, account = planned.decision, planned.account
            if decision.action is Action.DISABLE:
                change = change_module.disable(decision.reason, bench.now)
            elif decision.action is Action.ENABLE:
                change = change_module.enable(account, bench.now)
            else:
                continue
            records.append(_ldif_for(directory, account, change))
    return "".join(records), len(records)


def _ldif_for(directory: Directory, account: Any, change: Any) -> str:
    operations = []
    if change.enabled is not None:
        operations.extend(directory.mapper.flavour.write(change.enabled, account.state_token).operations)
    operations.extend(directory.mapper.lifecycle_operations(change.fields))
    lines = [f"dn: {account.dn}", "changetype: modify"]
    for attribute, operation, values in operations:
        lines.append(f"{operation}: {attribute}")
        lines.extend(f"{attribute}: {value}" for value in values)
        lines.append("-")
    return "\n".join(lines) + "\n\n"


def bench_due(bench: Bench, runs: int, enforce: bool) -> Table:
    due = bench.population.due
    size = bench.population.size
    table = Table(f"sweep with {due:,} accounts due among {size:,} ({runs} runs)")
    text, count = planned_changes_ldif(bench)
    if count != due:
        table.notes.append(f"WARNING: the plan has {count} changes, the population {due}")
    changes_file = bench.server.workdir / "changes.ldif"
    changes_file.write_text(text)
    restore_file = bench.server.workdir / "restore.ldif"
    restore_file.write_text(bench.population.restore_ldif())
    wall = table.add(Measure("sweep wall time", "s", floor_name="ldapmodify -f"))
    rate = table.add(Measure("write throughput (due / wall)", "/s", floor_name="ldapmodify -f",
                             target=">= 1.0x", check=lambda ratio: ratio >= 1.0))
    write_phase = table.add(Measure("  of which the write phase", "s", floor_name="ldapmodify -f"))
    phase_rate = table.add(Measure("  write phase throughput", "/s", floor_name="ldapmodify -f"))
    writes = table.add(Measure("modifies written", "ops", target=f"= {due}",
                               check=lambda value: value == due))
    for number in range(runs):
        floor: dict[str, Any] = {}
        agent: dict[str, Any] = {}

        def floor_run(floor=floor) -> None:
            ldapmodify_file(bench, restore_file, as_admin=True)
            floor["seconds"], _ = timed(lambda: ldapmodify_file(bench, changes_file))

        def agent_run(agent=agent) -> None:
            ldapmodify_file(bench, restore_file, as_admin=True)
            agent["phases"] = {}
            agent["seconds"], (report, _) = timed(lambda: agent_sweep(bench, phases=agent["phases"]))
            agent["writes"] = report.operations["writes"]
            agent["errors"] = len(report.errors)

        alternate(number, floor_run, agent_run)
        wall.values.append(agent["seconds"])
        wall.floor_values.append(floor["seconds"])
        rate.values.append(due / agent["seconds"])
        rate.floor_values.append(due / floor["seconds"])
        write_phase.values.append(agent["phases"]["writes"])
        write_phase.floor_values.append(floor["seconds"])
        phase_rate.values.append(due / agent["phases"]["writes"])
        phase_rate.floor_values.append(due / floor["seconds"])
        writes.values.append(agent["writes"])
        if agent["errors"]:
            table.notes.append(f"run {number + 1}: {agent['errors']} errors in the sweep report")
    in_flight = bench.config.directory.max_writes_in_flight
    table.notes.append(f"agent: directory.max_writes_in_flight = {in_flight}; its wall time includes"
                       " connecting, the learner identities (NM-2), the candidate search, planning,"
                       " the guard's count (C-8) and the audit trail (fsync per window);"
                       " ldapmodify is given the changes ready-made")
    table.notes.append("ratio = agent throughput / ldapmodify throughput (higher is better)")
    return table


def bench_full_reads(bench: Bench, runs: int, forecast_day: date) -> Table:
    size = bench.population.size
    table = Table(f"full reads, {size:,} accounts ({runs} runs)")
    attributes = mapper_for(bench.config.directory, bench.config.attributes).read_attributes()
    listing = table.add(Measure("list --json", "s", floor_name="ldap3 paged read", target="<= 1.3x",
                                check=lambda ratio: ratio <= 1.3))
    forecast = table.add(Measure("sweep --dry-run --as-of +1y --json", "s", floor_name="ldap3 paged read",
                                 target="<= 1.3x", check=lambda ratio: ratio <= 1.3))
    listing_vs_c = table.add(Measure("list --json", "s", floor_name="ldapsearch"))
    forecast_vs_c = table.add(Measure("sweep --dry-run --as-of +1y --json", "s", floor_name="ldapsearch"))
    bare = table.add(Measure("ldap3 paged read", "s", floor_name="ldapsearch"))
    as_of = forecast_day.isoformat()
    for number in range(runs):
        times: dict[str, float] = {}
        steps = [
            ("ldap3", lambda: ldap3_read(bench, attributes)),
            ("ldapsearch", lambda: ldapsearch_read(bench, attributes)),
            ("list", lambda: _ok(agent_cli(bench, "list", "--json"))),
            ("forecast", lambda: _ok(agent_cli(bench, "sweep", "--dry-run", "--as-of", as_of, "--json"))),
        ]
        if number % 2:
            steps.reverse()
        for name, action in steps:
            times[name], _ = timed(action)
        listing.values.append(times["list"])
        listing.floor_values.append(times["ldap3"])
        forecast.values.append(times["forecast"])
        forecast.floor_values.append(times["ldap3"])
        listing_vs_c.values.append(times["list"])
        listing_vs_c.floor_values.append(times["ldapsearch"])
        forecast_vs_c.values.append(times["forecast"])
        forecast_vs_c.floor_values.append(times["ldapsearch"])
        bare.values.append(times["ldap3"])
        bare.floor_values.append(times["ldapsearch"])
    table.notes.append(f"same {len(attributes)} attributes, filter and page size"
                       f" ({bench.config.directory.page_size}) for all; the agent runs in-process via"
                       " cli.main with stdout to /dev/null; ldapsearch includes its process start")
    return table


def _ok(code: int) -> None:
    if code != 0:
        raise RuntimeError(f"hwb-agent exited {code}")


# ---- activation requests under `run` -------------------------------------------------------------


REQUEST_FILTER = ("(&(hwbCategory=non-mis)(pwdAccountLockedTime=*)"
                  "(|(hwbDisabledReason=expired)(hwbDisabledReason=inactive)))")


def reactivatable(bench: Bench) -> list[tuple[str, str | None]]:
    """Non-MIS accounts disabled as expired or idle, sorted by uid, with the extension a portal must
    ask for with the request (past its expiry an account needs one, NM-5)."""
    found = []
    with bench.server.connect() as connection:
        for item in connection.extend.standard.paged_search(
                bench.server.base_dn, REQUEST_FILTER, attributes=["uid", "hwbDisabledReason"],
                paged_size=1000, generator=True):
            if item.get("type") == "searchResEntry":
                raw = {name.lower(): values for name, values in item["raw_attributes"].items()}
                reason = raw["hwbdisabledreason"][0].decode()
                found.append((raw["uid"][0].decode(), "3m" if reason == "expired" else None))
    return sorted(found)


def still_disabled(bench: Bench, uids: Sequence[str]) -> list[str]:
    """Those of `uids` whose entry still carries a lock (read back as the administrator)."""
    locked = []
    with bench.server.connect() as connection:
        for uid in uids:
            connection.search(bench.server.base_dn, f"(&(uid={uid})(pwdAccountLockedTime=*))",
                              attributes=["uid"])
            if connection.entries:
                locked.append(uid)
    return locked


def service_config(bench: Bench, poll_seconds: int | None, name: str) -> Path:
    """The benchmark's configuration for `run`: a sweep at start (then hourly) and the given poll
    (None: the default, 60 s, left out of the file)."""
    document = yaml.safe_load(bench.config_path.read_text())
    document["schedule"] = {"sweep": ["every 60 minutes"]}
    if poll_seconds is not None:
        document["schedule"]["activation_poll_seconds"] = poll_seconds
    document["logging"] = {**document["logging"], "format": "json", "level": "info"}
    path = bench.server.workdir / name
    path.write_text(yaml.safe_dump(document))
    return path


def request_activation(bench: Bench, config_path: Path, uid: str, duration: str | None) -> float:
    """`hwb-agent request-activation` (in-process, as a portal would call it); returns the monotonic
    time it was *started*, so the latency measured includes its own connect and look-up."""
    began = time.monotonic()
    with quiet_stdout():
        code = cli.main(["--config", str(config_path), "request-activation", uid, "--by", "portal:bench",
                         *(["--duration", duration] if duration else [])])
    logs.configure("json", "warning")
    _ok(code)
    return began


def _honoured(agent: Any, uid: str, timeout: float) -> float:
    """The time the service's log said the request of `uid` was answered (fails on a refusal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = agent.events("activation_request_honoured", uid=uid)
        if done:
            return done[0][0]
        if agent.events("activation_request_refused", uid=uid):
            raise RuntimeError(f"the request of {uid} was refused: {agent.tail()}")
        if not agent.alive():
            raise RuntimeError(f"hwb-agent run exited: {agent.tail()}")
        time.sleep(0.005)
    raise RuntimeError(f"the request of {uid} was not answered within {timeout:.0f} s: {agent.tail()}")


def activation_latencies(bench: Bench, accounts: Sequence[tuple[str, str | None]], poll_seconds: int | None,
                         rng: random.Random) -> tuple[list[float], float]:
    """Start `hwb-agent run`, wait for its first sweep, write one request per account at a random
    phase of the poll and time each until the service's log says the account was enabled.
    Returns (latencies, seconds from start to the first sweep finished)."""
    from tests.service.agent_process import AgentProcess

    period = 60 if poll_seconds is None else poll_seconds
    config_path = service_config(bench, poll_seconds, f"run-poll-{period}.yaml")
    latencies = []
    with AgentProcess(config_path).start() as agent:
        agent.wait_for("job_finished", job="sweep", timeout=600)
        started = time.monotonic() - agent.started_at
        if poll_seconds is not None:
            # One at a time, each at a random phase of the poll.
            for uid, duration in accounts:
                time.sleep(rng.uniform(0, period))
                written = request_activation(bench, config_path, uid, duration)
                latencies.append(_honoured(agent, uid, timeout=period * 3 + 30) - written)
        else:
            # The default poll: the requests at random moments of one poll period, answered together.
            began = time.monotonic()
            written_at = {}
            for offset, (uid, duration) in sorted(zip(sorted(rng.uniform(0, period) for _ in accounts),
                                                      accounts, strict=True)):
                time.sleep(max(0.0, began + offset - time.monotonic()))
                written_at[uid] = request_activation(bench, config_path, uid, duration)
            for uid, written in written_at.items():
                latencies.append(_honoured(agent, uid, timeout=period * 2 + 30) - written)
        code = agent.stop()
        if code != 0:
            raise RuntimeError(f"hwb-agent run exited {code}: {agent.tail()}")
    return latencies, started


def bench_activation(bench: Bench, requests: int, default_requests: int, enforce: bool) -> Table:
    size = bench.population.size
    table = Table(f"activation requests under `run`, {size:,} accounts")
    rng = random.Random(SEED)
    accounts = reactivatable(bench)
    fast, default = accounts[:requests], accounts[requests:requests + default_requests]
    if len(fast) < requests or len(default) < default_requests:
        table.notes.append(f"WARNING: only {len(accounts)} reactivatable accounts for"
                           f" {requests} + {default_requests} requests")
    latencies, started = activation_latencies(bench, fast, 1, rng)
    one = table.add(Measure(f"request -> enabled, poll 1 s ({len(fast)} requests)", "s", target="<= 2 s",
                            check=lambda median: median <= 2.0))
    one.values = latencies
    if default:
        slow, _ = activation_latencies(bench, default, None, rng)
        sixty = table.add(Measure(f"request -> enabled, default poll 60 s ({len(default)} requests)", "s",
                                  target="<= 60 s", check=lambda median: median <= 60.0))
        sixty.values = slow
    locked = still_disabled(bench, [uid for uid, _ in fast + default])
    total = len(fast) + len(default)
    enabled = table.add(Measure("accounts enabled (read back as admin)", "accounts", target=f"= {total}",
                                check=lambda value: value == total))
    enabled.values = [total - len(locked)]
    table.notes.append("median/min/max over the requests (not runs); each request written by"
                       " `hwb-agent request-activation` in-process at a random phase of the poll, timed from"
                       " the start of that command to the arrival of the service's"
                       " activation_request_honoured log line")
    table.notes.append(f"`run` started, first sweep (a full read of {size:,}) finished in {started:.1f} s"
                       " before the first request; sweeps hourly after that")
    if default:
        table.notes.append("default poll: the requests at random moments of one 60 s period; from the"
                           " schedule each waits uniformly 0-60 s for the next poll (median ~30 s) plus the"
                           " poll's own work")
    else:
        table.notes.append("default poll (60 s) not measured in this run: from the schedule a request waits"
                           " uniformly 0-60 s for the next poll (median ~30 s) plus the poll's own work")
    return table


# ---- MIS import -------------------------------------------------------------------------------------


@dataclass
class MisTarget:
    server: SlapdServer
    config: Config
    config_path: Path


def mis_target(writes_in_flight: int) -> MisTarget:
    """A fresh, empty slapd (the base OU only) and an agent configuration for a first MIS load."""
    server = start_slapd()
    try:
        password_file = server.workdir / "agent-password"
        password_file.write_text(server.agent_password + "\n")
        document = config_document(server, password_file, server.workdir / "audit.jsonl", writes_in_flight)
        # A first load creates every account: the guard (C-8) would hold any feed with more than
        # mis.guard.max_creates (default 2,000) creates; the operator would --confirm-mass-change.
        document["mis"] = {"guard": {"max_creates": 10_000_000, "max_leavers": 10_000_000}}
        config_path = server.workdir / "agent.yaml"
        config_path.write_text(yaml.safe_dump(document))
        return MisTarget(server, config_module.load(config_path), config_path)
    except BaseException:
        server.destroy()
        raise


def agent_import(target: MisTarget, feed_dir: Path, now: datetime) -> tuple[float, Any]:
    """What `hwb-agent import-mis FOLDER` does, in-process: parse the package, connect, plan, apply."""
    config = target.config
    began = time.perf_counter()
    feed = read_feed(feed_dir, config.mis, config.policy.timezone)
    audit = AuditTrail(config.logging.audit_file)
    try:
        with open_directory(config) as directory:
            report = import_feed(directory, config, audit, feed, now)
    finally:
        audit.close()
    return time.perf_counter() - began, report


def dump_entries(target: MisTarget, path: Path) -> int:
    """What the agent created (every entry below the base DN, user attributes) as LDIF for ldapadd;
    returns the number of entries."""
    server = target.server
    completed = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", server.url, "-D", server.admin_dn,
         "-w", server.admin_password, "-b", server.base_dn, "-E", "pr=1000/noprompt", "(objectClass=*)", "*"],
        capture_output=True, check=True, text=True)
    # Without the paged-results comments (a cookie line may sit at the top of a record).
    text = "\n".join(line for line in completed.stdout.splitlines() if not line.startswith("#"))
    records = [record.strip("\n") for record in text.split("\n\n")
               if record.strip() and record.startswith("dn") and not record.lower().startswith(
                   f"dn: {server.base_dn.lower()}\n")]
    path.write_text("\n\n".join(records) + "\n\n")
    return len(records)


def ldapadd_file(target: MisTarget, path: Path) -> None:
    settings = target.config.directory
    subprocess.run(["ldapadd", "-x", "-H", settings.url, "-D", settings.bind_dn, "-w",
                    settings.password.reveal(), "-f", str(path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)


def bench_mis(users: int, runs: int, today: date, writes_in_flight: int, share: float = 0.02) -> Table:
    table = Table(f"MIS import of a {users:,}-user OneRoster feed into an empty directory ({runs} runs)")
    workdir = Path(tempfile.mkdtemp(prefix="hwb-bench-mis-"))
    try:
        feed_dir, changed_dir = workdir / "feed", workdir / "feed-changed"
        write_feed(feed_dir, users, seed=SEED, feed_date=today)
        changed = changed_feed(changed_dir, users, seed=SEED, feed_date=today, share=share)
        now = start_of_day(today, _zone()) + timedelta(hours=12)
        # The floor's LDIF: what the agent creates, dumped from a directory it loaded (untimed).
        ldif = workdir / "created.ldif"
        first = mis_target(writes_in_flight)
        try:
            _, report = agent_import(first, feed_dir, now)
            entries = dump_entries(first, ldif)
        finally:
            first.server.destroy()
        if report.errors or report.held:
            raise RuntimeError(f"first import: {report.errors[:3]} held={report.held}")
        wall = table.add(Measure("initial import wall time", "s", floor_name="ldapadd -f"))
        rate = table.add(Measure("initial import rate (accounts / wall)", "/s", floor_name="ldapadd -f",
                                 target=">= 0.8x", check=lambda ratio: ratio >= 0.8))
        adds = table.add(Measure("adds seen by slapd", "ops", target=f"= {entries}",
                                 check=lambda value: value == entries))
        re_wall = table.add(Measure(f"re-import, {share:.0%} changed: wall time", "s"))
        re_writes = table.add(Measure("re-import writes seen by slapd", "ops", target=f"= {changed}",
                                      check=lambda value: value == changed))
        re_agent = table.add(Measure("re-import writes (agent count)", "ops", target=f"= {changed}",
                                     check=lambda value: value == changed))
        for number in range(runs):
            result: dict[str, Any] = {}

            def agent_run(result=result) -> None:
                target = mis_target(writes_in_flight)
                try:
                    before = target.server.operation_counts()
                    result["agent"], report = agent_import(target, feed_dir, now)
                    if report.errors or report.held:
                        raise RuntimeError(f"import: {report.errors[:3]} held={report.held}")
                    middle = target.server.operation_counts()
                    result["adds"] = middle["add"] - before["add"]
                    result["again"], again = agent_import(target, changed_dir, now)
                    after = target.server.operation_counts()
                    result["writes"] = sum(after[kind] - middle[kind]
                                           for kind in ("add", "modify", "delete", "modrdn"))
                    result["agent_writes"] = again.operations.get("writes", 0)
                finally:
                    target.server.destroy()

            def floor_run(result=result) -> None:
                target = mis_target(writes_in_flight)
                try:
                    result["floor"], _ = timed(lambda: ldapadd_file(target, ldif))
                finally:
                    target.server.destroy()

            alternate(number, floor_run, agent_run)
            wall.values.append(result["agent"])
            wall.floor_values.append(result["floor"])
            rate.values.append(entries / result["agent"])
            rate.floor_values.append(entries / result["floor"])
            adds.values.append(result["adds"])
            re_wall.values.append(result["again"])
            re_writes.values.append(result["writes"])
            re_agent.values.append(result["agent_writes"])
        table.notes.append(f"{entries:,} entries ({users:,} accounts and the mis OU); agent: read and parse"
                           " the CSV package, connect, read the (empty) directory, plan, look up the new"
                           " uids,"
                           f" add with directory.max_writes_in_flight = {writes_in_flight}, audit each;"
                           " in-process (import_feed); ldapadd -f (as the agent's DN) is given the entries"
                           " the agent created, ready-made; each run on fresh servers")
        table.notes.append("guard (C-8) limits raised for the first load in the benchmark's configuration:"
                           " mis.guard.max_creates and max_leavers = 10,000,000 (default 2,000 and 500 would"
                           " hold the whole feed without --confirm-mass-change)")
        table.notes.append(f"re-import: the same feed with {changed:,} people changed (two in three a new"
                           " surname and mail, one in three moved school), on the directory the run loaded;"
                           " writes counted from slapd's stats log and the agent's counters")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return table


RSS_COMMANDS = {
    "list --json": ("list", "--json"),
    "sweep (routine)": ("sweep", "--json"),
    "sweep --dry-run --as-of +1y": ("sweep", "--dry-run", "--as-of", "{forecast}", "--json"),
}


# Peak RSS must be read inside the child: ru_maxrss of a child also counts the memory of the
# process it was forked from (Linux folds the old image's high-water mark in at exec), so a
# 50 MiB benchmark process would hide every figure below 50 MiB. VmHWM is the new image's own.
_HIGH_WATER = (
    "import sys\n"
    "def high_water():\n"
    "    with open('/proc/self/status') as status:\n"
    "        return next(line.split()[1] for line in status if line.startswith('VmHWM:'))\n"
    "try:\n"
    "    {run}\n"
    "finally:\n"
    "    sys.stderr.write('VmHWM ' + high_water() + '\\n')\n"
)


def _child_peak(run_line: str, arguments: Sequence[str]) -> float:
    """Peak RSS in MiB of a fresh interpreter running `run_line` (sys.argv[1:] = arguments)."""
    command = [sys.executable, "-c", _HIGH_WATER.format(run=run_line), *arguments]
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    error = completed.stderr.decode(errors="replace")
    peaks = [line.split()[1] for line in error.splitlines() if line.startswith("VmHWM ")]
    if completed.returncode != 0 or not peaks:
        raise RuntimeError(f"{' '.join(arguments)} exited {completed.returncode}: {error[-2000:]}")
    return int(peaks[-1]) / 1024  # kB


def peak_rss(bench: Bench, arguments: Sequence[str]) -> float:
    """Peak RSS in MiB of `hwb-agent --config ... ARGUMENTS` in a fresh interpreter."""
    return _child_peak("from agent.cli import main; sys.exit(main(sys.argv[1:]))",
                       ["--config", str(bench.config_path), *arguments])


def measure_rss(bench: Bench, runs: int, forecast_day: date) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for name, arguments in RSS_COMMANDS.items():
        filled = [argument.replace("{forecast}", forecast_day.isoformat()) for argument in arguments]
        results[name] = [peak_rss(bench, filled) for _ in range(runs)]
    floor = "from tests.perf import bench as b; b.ldap3_read_from_config(sys.argv[1])"
    results["ldap3 paged read (floor)"] = [_child_peak(floor, [str(bench.config_path)])
                                           for _ in range(runs)]
    return results


def ldap3_read_from_config(config_path: str) -> None:
    config = config_module.load(config_path)
    bench = Bench(None, None, config, Path(config_path), datetime.now())  # type: ignore[arg-type]
    ldap3_read(bench, mapper_for(config.directory, config.attributes).read_attributes())


def rss_table(small: int, large: int, by_size: dict[int, dict[str, list[float]]], runs: int) -> Table:
    table = Table(f"peak RSS, {small:,} vs {large:,} accounts ({runs} run(s) each, fresh process)")
    for name in by_size[large]:
        measure = table.add(Measure(f"{name} at {large:,}", "MiB", floor_name=f"same at {small:,}",
                                    target="< 1.5x" if "floor" not in name else "",
                                    check=(lambda ratio: ratio < 1.5) if "floor" not in name else None))
        measure.values = by_size[large][name]
        small_values = by_size[small][name]
        measure.floor_values = [statistics.median(small_values)] * len(measure.values)
    table.notes.append("ratio = peak RSS at the large size / median at the small size (VmHWM of a fresh"
                       " interpreter, imports included; the floor's interpreter also imports the bench)")
    return table


def not_measurable() -> list[str]:
    lines = []
    # Not importlib's find_spec: an editable install of another checkout would answer for it.
    if not (REPO / "agent" / "service" / "service.py").is_file():
        lines.append("activation request latency under `run`: not measurable yet (no agent/service/"
                     "service.py and no `run` command on this branch)")
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    if "import-mis" not in commands.choices:
        lines.append("MIS import (55k OneRoster feed, 2% re-import) vs ldapadd: not measurable yet"
                     " (no `import-mis` command on this branch)")
    if "run" not in commands.choices and not lines:
        lines.append("activation request latency: no `run` command on this branch")
    return lines


# ---- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,55000,100000",
                        help="directory sizes for the converged sweep (comma-separated)")
    parser.add_argument("--due", default="1000,10000", help="accounts due for the write benchmark")
    parser.add_argument("--runs", type=int, default=5, help="runs per benchmark (median of these)")
    parser.add_argument("--rss-runs", type=int, default=1, help="runs per peak-RSS figure")
    parser.add_argument("--writes-in-flight", type=int, default=64,
                        help="directory.max_writes_in_flight of the agent's configuration")
    parser.add_argument("--smoke", action="store_true",
                        help="1k accounts, one run, small due sets, no verdicts (CI)")
    parser.add_argument("--only", default="converged,due,full,rss,activation,mis",
                        help="benchmarks to run (comma-separated from converged,due,full,rss,activation,mis)")
    parser.add_argument("--requests", type=int, default=20, help="activation requests with a 1 s poll")
    parser.add_argument("--default-poll-requests", type=int, default=5,
                        help="activation requests with the default 60 s poll (0: not measured)")
    parser.add_argument("--activation-size", type=int, default=55_000,
                        help="directory size for the activation latency (one of --sizes; else the smallest)")
    parser.add_argument("--mis-users", type=int, default=55_000, help="users in the MIS import feed")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.due, args.runs = "1000", "20,100", 1
        args.requests, args.default_poll_requests, args.mis_users = 3, 0, 1000
    sizes = sorted({int(value) for value in args.sizes.split(",") if value})
    dues = [int(value) for value in args.due.split(",") if value]
    only = set(args.only.split(","))
    enforce = not args.smoke
    logs.configure("json", "warning")  # in-process sweeps: audit events stay out of the tables
    today = benchmark_day()
    forecast_day = today + timedelta(days=365)
    largest, smallest = sizes[-1], sizes[0]
    tables: list[Table] = []
    rss: dict[int, dict[str, list[float]]] = {}
    print(f"hwb-agent benchmarks on {os.uname().nodename}, {os.cpu_count()} cores,"
          f" Python {sys.version.split()[0]}, ldap3 {ldap3.__version__}; benchmark day {today};"
          f" runs {args.runs}", flush=True)

    def show(table: Table) -> None:
        tables.append(table)
        print("\n" + table.render(enforce), flush=True)

    activation_size = args.activation_size if args.activation_size in sizes else smallest
    for size in sizes:
        if not only & {"converged", "full", "rss"} and not ("activation" in only and size == activation_size):
            continue
        began = time.monotonic()
        bench = load_bench(size, 0, today, args.writes_in_flight)
        print(f"\n[{size:,} accounts loaded in {time.monotonic() - began:.1f} s:"
              f" {dict(sorted(bench.population.counts.items()))}]", flush=True)
        try:
            if "converged" in only:
                show(bench_converged(bench, args.runs, enforce_target=(size == largest and size >= 100_000)))
            if "rss" in only and size in (smallest, largest):
                rss[size] = measure_rss(bench, args.rss_runs, forecast_day)
            if "full" in only and size == largest:
                show(bench_full_reads(bench, args.runs, forecast_day))
            if "activation" in only and size == activation_size:
                # Last on this server: it enables accounts.
                show(bench_activation(bench, args.requests, args.default_poll_requests, enforce))
        finally:
            bench.destroy()
    if "rss" in only and rss:
        show(rss_table(smallest, largest, rss, args.rss_runs))
    if "due" in only:
        for due in dues:
            bench = load_bench(largest, due, today, args.writes_in_flight)
            try:
                show(bench_due(bench, args.runs, enforce))
            finally:
                bench.destroy()
    if "mis" in only:
        show(bench_mis(args.mis_users, args.runs, today, args.writes_in_flight))
    missing = not_measurable()
    if missing:
        print("\n== not measured ==")
        for line in missing:
            print(f"  {line}")
    failed = [(table.title, m.name) for table in tables for m in table.failed()] if enforce else []
    print("\n== summary ==")
    if not enforce:
        print("  smoke run: verdicts in parentheses are not enforced")
    for title, name in failed:
        print(f"  FAIL: {title}: {name}")
    if enforce and not failed:
        print("  every measured target passes")
    return 1 if failed else 0


if __name__ == "__main__":
    # A kill (timeout, Ctrl-C) still runs the finally blocks that stop and remove the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise SystemExit(main())
