"""Benchmark of the administrators' console (issue 13): page times under 10 signed-in administrators.

A throwaway slapd is loaded with the benchmark population (tests/perf/population.py, 55,000 accounts
by default, `slapadd -q` as in bench.py); ten local-authority administrators (admin01..admin10, the
population's sponsors, with passwords, in the la-admins group of `web.roles`) are added over LDAP;
`hwb-agent web` runs as a real process against it (tests/web/browser/harness.Console). Then:

1. warm-up: the console reads every account once at start-up (its index, console_index.py; timed
   from its console_index_built event, not counted in the page figures); each administrator signs
   in (a bind as themselves) and loads the home page once;
2. LDAP operations per page: each page kind requested alone, one at a time, with slapd's stats log
   read before and after (operations by kind and entries sent, bind and unbind included);
3. load: 10 threads, one signed-in administrator each (its own HTTP/1.1 keep-alive connection and
   session cookie), each requesting home, list and View Details pages in turn for `--seconds`.
   The list pages vary the filter (Active Y/N/all) and the page number; View Details picks
   accounts at random across the directory (MIS and non-MIS).

Server-side times come from the console's Server-Timing header (`web.server_timing: true` in the
benchmark's configuration): `app;dur` from Flask's before_request to its after_request, the page's
work and rendering; its LDAP counts (Directory.counts) are printed too. The client's time around
each request on loopback (kept-alive connection) is shown beside it: it adds waitress's queue
when all its threads are busy, and the client's own share of the two cores.
Target: server-side p95 <= 150 ms for each of home, list and View Details.

    PYTHONPATH=$PWD python -m tests.perf.web_console                 # 55k accounts, 10 admins, 30 s
    PYTHONPATH=$PWD python -m tests.perf.web_console --size 10000 --seconds 10   # quicker

Exit status 1 when a page misses the target. Not part of the test suite (tests/perf is not collected).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.perf.bench import benchmark_day, load_bench
from tests.servers.base import free_port
from tests.web.browser.harness import DEMO_PASSWORD, Console, add_entries

TARGET_P95_SECONDS = 0.150
PAGE_KINDS = ("home", "list", "details")
ADMINS_OU = "ou=admins"
GROUPS_OU = "ou=groups"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# One request line per operation: "SRCH attr=" and a bind's "mech=" line are second lines of the same one.
_STATS = re.compile(r"conn=\d+ op=\d+ (BIND|SRCH|ADD|MOD|DEL|MODRDN|CMP|EXT|ABANDON|UNBIND)\b"
                    r"(?! attr=)(?!.* mech=)")
_ENTRIES = re.compile(r"SEARCH RESULT .*nentries=(\d+)")


# --- one administrator's HTTP session ---------------------------------------------------------------

@dataclass
class Reply:
    status: int
    text: str
    seconds: float  # measured by the client, around the request
    server_seconds: float | None  # the console's Server-Timing "app;dur"
    ldap: dict[str, int]  # the console's Server-Timing LDAP counts (searches, entries, writes)


def server_timing(header: str | None) -> tuple[float | None, dict[str, int]]:
    """'app;dur=12.3, ldap-searches;desc="1", ...' -> (0.0123, {"searches": 1, ...})."""
    if not header:
        return None, {}
    seconds = None
    counts: dict[str, int] = {}
    for metric in header.split(","):
        name, _, parameters = metric.strip().partition(";")
        values = dict(part.strip().split("=", 1) for part in parameters.split(";") if "=" in part)
        if name == "app" and "dur" in values:
            seconds = float(values["dur"]) / 1000
        elif name.startswith("ldap-") and "desc" in values:
            counts[name[len("ldap-"):]] = int(values["desc"].strip('"'))
    return seconds, counts


class Session:
    """A keep-alive connection to the console with its session cookie (no redirects followed)."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> Reply:
        headers = {"Accept-Language": "en-GB,en", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (http.client.HTTPException, OSError):
            self.connection.close()  # the server closed a kept-alive connection: once more, afresh
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            began = time.perf_counter()
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        seconds = time.perf_counter() - began
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        server_seconds, counts = server_timing(response.getheader("Server-Timing"))
        return Reply(response.status, text, seconds, server_seconds, counts)

    def sign_in(self, uid: str, password: str) -> None:
        reply = self.request("GET", "/sign-in")
        assert reply.status == 200, f"sign-in page: HTTP {reply.status}"
        token = csrf_token(reply.text)
        reply = self.request("POST", "/sign-in", {"csrf_token": token, "uid": uid, "password": password})
        assert reply.status in (302, 303), f"sign-in of {uid}: HTTP {reply.status}\n{reply.text[:500]}"


def csrf_token(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no csrf_token field on the page"
    return found.group(1) or found.group(2)


# --- the directory and the console -------------------------------------------------------------------

def administrators(server: Any, count: int) -> tuple[list[tuple[str, dict[str, list[str]]]], str]:
    """admin01..adminNN (the population's sponsors) in ou=admins beside ou=people, members of the
    local authority's administrators' group; (entries, group DN)."""
    parent = server.base_dn.split(",", 1)[1]
    admins, groups = f"{ADMINS_OU},{parent}", f"{GROUPS_OU},{parent}"
    group = f"cn=hwb-la-admins,{groups}"
    entries: list[tuple[str, dict[str, list[str]]]] = [
        (admins, {"objectClass": ["organizationalUnit"], "ou": ["admins"]}),
        (groups, {"objectClass": ["organizationalUnit"], "ou": ["groups"]})]
    members = []
    for number in range(1, count + 1):
        uid = f"admin{number:02d}"
        dn = f"uid={uid},{admins}"
        members.append(dn)
        entries.append((dn, {"objectClass": ["inetOrgPerson"], "uid": [uid], "cn": [f"Admin {number}"],
                             "sn": ["Admin"], "displayName": [f"Administrator {number}"],
                             "mail": [f"{uid}@example.org"], "userPassword": [DEMO_PASSWORD]}))
    entries.append((group, {"objectClass": ["groupOfNames"], "cn": ["hwb-la-admins"], "member": members}))
    return entries, group


def console_config(bench: Any, group: str, folder: Path) -> Path:
    document = yaml.safe_load(bench.config_path.read_text())
    document["logging"]["level"] = "info"  # console_index_built, with its time
    secret = folder / "session-secret"
    secret.write_text(os.urandom(32).hex())
    secret.chmod(0o600)
    document["web"] = {"listen": f"127.0.0.1:{free_port()}", "session_secret_file": str(secret),
                       "roles": {"la_admins_group": group}, "server_timing": True}
    path = folder / "console.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def sample_uids(server: Any, count: int, seed: int = 681) -> list[str]:
    """`count` uids drawn from every account of the directory (MIS and non-MIS), as its admin."""
    uids = []
    with server.connect() as connection:
        for entry in connection.extend.standard.paged_search(server.base_dn, "(hwbCategory=*)",
                                                             attributes=["uid"], paged_size=1000,
                                                             generator=True):
            if entry.get("type") == "searchResEntry":
                uids.append(entry["attributes"]["uid"][0])
    return random.Random(seed).sample(uids, min(count, len(uids)))


def page_path(kind: str, chooser: random.Random, uids: Sequence[str]) -> str:
    if kind == "home":
        return "/"
    if kind == "list":
        active = chooser.choice(("", "Y", "N"))
        page = chooser.choice((1, 1, 2, 3))
        query = {"page": str(page), **({"active": active} if active else {})}
        return "/accounts?" + urllib.parse.urlencode(query)
    return f"/accounts/{urllib.parse.quote(chooser.choice(uids), safe='')}"


# --- LDAP operations per page, from slapd's own log -------------------------------------------------

@dataclass
class LogReader:
    path: Path
    position: int = 0

    def skip(self) -> None:
        self.position = self.path.stat().st_size

    def since(self) -> tuple[Counter[str], int]:
        """Operations by kind and entries sent, in the log lines written since the last call."""
        with self.path.open("rb") as log:
            log.seek(self.position)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.position += len(complete)
        text = complete.decode(errors="replace")
        operations = Counter(match.group(1) for match in _STATS.finditer(text))
        entries = sum(int(match.group(1)) for match in _ENTRIES.finditer(text))
        return operations, entries


@dataclass
class Alone:
    """Each page kind requested by itself: slapd's operations and entries sent, and its time."""

    operations: dict[str, list[tuple[Counter[str], int]]] = field(
        default_factory=lambda: {kind: [] for kind in PAGE_KINDS})
    replies: dict[str, list[Reply]] = field(default_factory=lambda: {kind: [] for kind in PAGE_KINDS})


def pages_alone(session: Session, reader: LogReader, uids: Sequence[str], samples: int) -> Alone:
    chooser = random.Random(7)
    found = Alone()
    for kind in PAGE_KINDS:
        for _ in range(samples):
            time.sleep(0.3)
            reader.since()  # whatever came before this request
            reply = session.request("GET", page_path(kind, chooser, uids))
            assert reply.status == 200, f"{kind}: HTTP {reply.status}"
            time.sleep(0.3)  # slapd writes its log lines as it answers: let the last ones land
            found.operations[kind].append(reader.since())
            found.replies[kind].append(reply)
    return found


# --- the load ---------------------------------------------------------------------------------------

@dataclass
class Timings:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in PAGE_KINDS})
    server: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in PAGE_KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def administrator_load(session: Session, number: int, uids: Sequence[str], until: float,
                       timings: Timings, think: float) -> None:
    chooser = random.Random(number)
    turn = number
    if think:
        time.sleep(chooser.uniform(0, think))  # not all in step
    while time.monotonic() < until:
        if think:
            time.sleep(chooser.uniform(0.5 * think, 1.5 * think))
        kind = PAGE_KINDS[turn % len(PAGE_KINDS)]
        turn += 1
        reply = session.request("GET", page_path(kind, chooser, uids))
        with timings.lock:
            if reply.status == 200:
                timings.seconds[kind].append(reply.seconds)
                if reply.server_seconds is not None:
                    timings.server[kind].append(reply.server_seconds)
            else:
                timings.errors[f"{kind} HTTP {reply.status}"] += 1


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[index]


# --- main -------------------------------------------------------------------------------------------

def load_phase(sessions: Sequence[Session], uids: Sequence[str], seconds: float, think: float
               ) -> tuple[Timings, float]:
    timings = Timings()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=administrator_load,
                                args=(session, number, uids, until, timings, think),
                                name=f"admin{number:02d}")
               for number, session in enumerate(sessions, start=1)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.monotonic() - began


def timing_table(title: str, timings: Timings, wall: float) -> tuple[str, list[str]]:
    """Per page: the server-side p95 (Server-Timing, the target) and the client's, on loopback."""
    failed = []
    rows: list[Sequence[str]] = [("page", "requests", "per s", "server median ms", "server p95 ms",
                                  "server max ms", "client median ms", "client p95 ms", "target", "verdict")]
    for kind in PAGE_KINDS:
        client, server = timings.seconds[kind], timings.server[kind]
        if not client:
            rows.append((kind, "0", "-", "-", "-", "-", "-", "-", "p95 <= 150 ms", "FAIL"))
            failed.append(f"{title}: {kind}: no answer")
            continue
        measured = server or client  # without Server-Timing, the client's time stands in (said below)
        p95 = percentile(measured, 0.95)
        verdict = "PASS" if p95 <= TARGET_P95_SECONDS else "FAIL"
        if verdict == "FAIL":
            failed.append(f"{title}: {kind}: {'server' if server else 'client'} p95 {p95 * 1000:.0f} ms"
                          f" above {TARGET_P95_SECONDS * 1000:.0f} ms")
        rows.append((kind, f"{len(client):,}", f"{len(client) / wall:.1f}",
                     _ms(statistics.median(server)) if server else "-",
                     _ms(percentile(server, 0.95)) if server else "-", _ms(max(server)) if server else "-",
                     _ms(statistics.median(client)), _ms(percentile(client, 0.95)), "p95 <= 150 ms", verdict))
    text = f"== {title} ({wall:.1f} s) ==\n" + render(rows)
    if timings.errors:
        text += f"\n  errors: {dict(timings.errors)}"
    if not all(timings.server[kind] for kind in PAGE_KINDS if timings.seconds[kind]):
        text += "\n  note: no Server-Timing header on some pages: the verdict uses the client's time there"
    return text, failed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.web_console",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=55_000, help="accounts in the directory")
    parser.add_argument("--admins", type=int, default=10, help="concurrent signed-in administrators")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each load phase")
    parser.add_argument("--think", default="0,1",
                        help="seconds each administrator waits between pages (about; one load phase per"
                             " value, comma-separated; 0: back to back)")
    parser.add_argument("--ops-samples", type=int, default=5,
                        help="requests per page kind made alone (LDAP counts, unloaded times)")
    args = parser.parse_args(argv)
    thinks = [float(value) for value in args.think.split(",") if value]

    today = benchmark_day()
    print(f"hwb-agent console benchmark on {os.uname().nodename}, {os.cpu_count()} cores,"
          f" Python {sys.version.split()[0]}; {args.size:,} accounts, {args.admins} administrators,"
          f" load phases of {args.seconds:g} s (think times {args.think} s); benchmark day {today}",
          flush=True)
    began = time.monotonic()
    bench = load_bench(args.size, 0, today, 1)
    console: Console | None = None
    phases: list[tuple[float, Timings, float]] = []
    try:
        entries, group = administrators(bench.server, args.admins)
        add_entries(bench.server, entries)
        print(f"[{args.size:,} accounts loaded in {time.monotonic() - began:.1f} s:"
              f" {dict(sorted(bench.population.counts.items()))}]", flush=True)
        uids = sample_uids(bench.server, 2000)
        config = console_config(bench, group, bench.server.workdir)
        console = Console.for_config(config).start()

        sessions = [Session(console.port) for _ in range(args.admins)]
        for number, session in enumerate(sessions, start=1):
            session.sign_in(f"admin{number:02d}", DEMO_PASSWORD)
        assert console.process is not None
        _, built = console.process.wait_for("console_index_built", timeout=600)
        print(f"[the console's index (one read of every account, at start-up, in the background):"
              f" {built.get('accounts')} accounts in {built.get('seconds')} s]", flush=True)
        for session in sessions:
            first = session.request("GET", "/")
            assert first.status == 200, f"home: HTTP {first.status}"

        reader = LogReader(bench.server.log_path)
        reader.skip()
        alone = pages_alone(sessions[0], reader, uids, args.ops_samples)
        for think in thinks:
            timings, wall = load_phase(sessions, uids, args.seconds, think)
            phases.append((think, timings, wall))
    finally:
        if console is not None:
            console.stop()
        bench.destroy()

    failed: list[str] = []
    for think, timings, wall in phases:
        pace = "back to back" if not think else f"about {think:g} s between pages"
        text, missed = timing_table(f"console pages, {args.admins} administrators at once, {pace},"
                                    f" {args.size:,} accounts", timings, wall)
        failed += missed
        print("\n" + text)
    print("  note: server = the console's Server-Timing app;dur (web.server_timing: true), from its"
          " before_request to its after_request (the page's work and rendering; not waitress's queue);"
          " client = around each request on loopback, kept-alive connection (the queue included)")

    print(f"\n== each page alone: LDAP operations and time, {args.ops_samples} requests each, one at a"
          " time ==")
    rows: list[Sequence[str]] = [("page", "slapd ops (median)", "by kind (median)", "entries sent",
                                  "console searches", "console entries", "server median ms",
                                  "client median ms")]
    for kind in PAGE_KINDS:
        samples = alone.operations[kind]
        replies = alone.replies[kind]
        totals = [sum(counter.values()) for counter, _ in samples]
        kinds = sorted({name for counter, _ in samples for name in counter})
        by_kind = ", ".join(f"{name} {statistics.median(counter[name] for counter, _ in samples):g}"
                            for name in kinds)
        servers = [reply.server_seconds for reply in replies if reply.server_seconds is not None]
        rows.append((kind, f"{statistics.median(totals):g} ({min(totals)}-{max(totals)})", by_kind or "-",
                     f"{statistics.median(entries for _, entries in samples):g}",
                     f"{statistics.median(reply.ldap.get('searches', 0) for reply in replies):g}",
                     f"{statistics.median(reply.ldap.get('entries', 0) for reply in replies):g}",
                     _ms(statistics.median(servers)) if servers else "-",
                     _ms(statistics.median(reply.seconds for reply in replies))))
    print(render(rows))
    print("  note: slapd ops from its stats log (BIND and UNBIND are the connection the console opens for"
          " a page that reads the directory); console searches/entries from its Server-Timing header"
          " (Directory.counts); home and list are served from the console's index")

    print("\n== summary ==")
    for line in failed:
        print(f"  FAIL: {line}")
    if not failed:
        print("  every page within the target")
    return 1 if failed else 0


def render(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[index])) for row in rows) for index in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
