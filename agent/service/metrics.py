"""Prometheus metrics and a health endpoint for the service, on a loopback address.

Everything lives in this module's own `CollectorRegistry` (never the process-wide
default), so two services in one test process, or a library that registers its
own metrics, cannot collide. The HTTP server is a small stdlib ThreadingHTTPServer
serving `/metrics` (text exposition) and `/healthz`:

- 200 when a sweep succeeded within two sweep intervals (or the service started
  less than two intervals ago), or when this instance is a lease standby (it is
  healthy; it just is not the one sweeping);
- 503 otherwise, with the reason in the body.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent import __version__
from agent.service.jobs import JobSummary
from agent.settings.service import ListenAddress, is_loopback

Clock = Callable[[], float]

SWEEP_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


class Metrics:
    """The service's metrics and health state; thread-safe (prometheus-client's own locks + one here)."""

    def __init__(self, local_authority: str, clock: Clock = time.time, version: str = __version__):
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.info = Gauge(
            "hwb_agent_info", "Constant 1; labels say which local authority this instance serves.",
            ["local_authority"], registry=self.registry,
        )
        self.info.labels(local_authority).set(1)
        # The usual build-info shape: constant 1, the running version as a label (for upgrades and rollbacks).
        self.build_info = Gauge(
            "hwb_agent_build_info", "Constant 1; labels say which hwb-agent version serves which authority.",
            ["version", "local_authority"], registry=self.registry,
        )
        self.build_info.labels(version, local_authority).set(1)
        self.accounts = Gauge(
            "hwb_accounts", "Accounts of this local authority by category and state, at the last count.",
            ["category", "state"], registry=self.registry,
        )
        self.changes = Counter(
            "hwb_changes", "Changes applied to accounts, by policy rule id and action.",
            ["rule", "action"], registry=self.registry,
        )
        self.sweep_duration = Histogram(
            "hwb_sweep_duration_seconds", "Wall time of full sweeps that finished.",
            registry=self.registry, buckets=SWEEP_DURATION_BUCKETS,
        )
        self.last_success = Gauge(
            "hwb_last_successful_sweep_timestamp_seconds",
            "Unix time when the last sweep finished without error or guard trip (0: none yet).",
            registry=self.registry,
        )
        self.errors = Counter(
            "hwb_errors", "Job runs that failed, by job and kind (directory_unavailable, exception).",
            ["job", "kind"], registry=self.registry,
        )
        self.problems = Counter(
            "hwb_unreadable_entries", "Entries left unchanged because their lifecycle data was bad (C-7).",
            registry=self.registry,
        )
        self.guard_trips = Counter(
            "hwb_guard_trips", "Sweeps held back by the mass-change guard (C-8).", registry=self.registry,
        )
        self.lease_held = Gauge(
            "hwb_lease_held", "1 while this instance holds the lease and acts, else 0.",
            registry=self.registry,
        )
        self.lease_holder = Gauge(
            "hwb_lease_holder", "1 for the holder of the lease as this instance last saw it.",
            ["holder"], registry=self.registry,
        )
        self._lock = threading.Lock()
        self._started_at = clock()
        self._last_success_at: float | None = None
        self._expected_interval: float | None = None
        self._standby = False

    # --- recording -------------------------------------------------------------------------

    def record_job(self, job: str, summary: JobSummary, duration_seconds: float) -> None:
        for (rule, action), count in summary.changes.items():
            if count:
                self.changes.labels(rule, action).inc(count)
        if summary.accounts is not None:
            self.accounts.clear()  # a category/state that vanished must not keep its old count
            for (category, state), count in summary.accounts.items():
                self.accounts.labels(category, state).set(count)
        if summary.problems:
            self.problems.inc(summary.problems)
        if job != "sweep":
            return
        if summary.guard_tripped:
            self.guard_trips.inc()
        if summary.interrupted:
            return  # a sweep cut short by a stop is not a measure of a sweep
        self.sweep_duration.observe(duration_seconds)
        if not summary.guard_tripped:
            now = self.clock()
            with self._lock:
                self._last_success_at = now
            self.last_success.set(now)

    def record_error(self, job: str, kind: str) -> None:
        self.errors.labels(job, kind).inc()

    def record_lease(self, held: bool, holder: str | None) -> None:
        self.lease_held.set(1 if held else 0)
        self.lease_holder.clear()
        if holder:
            self.lease_holder.labels(holder).set(1)
        with self._lock:
            self._standby = not held

    def expect_sweeps_every(self, seconds: float | None) -> None:
        """The longest normal gap between two sweeps; health fails after two of them."""
        with self._lock:
            self._expected_interval = seconds

    # --- reading ---------------------------------------------------------------------------

    def health(self) -> tuple[bool, str]:
        """(healthy, reason) as /healthz reports it."""
        now = self.clock()
        with self._lock:
            if self._standby:
                return True, "standby: another instance holds the lease"
            if self._expected_interval is None:
                return True, "no sweep schedule"
            allowed = 2 * self._expected_interval
            since = self._last_success_at if self._last_success_at is not None else self._started_at
            what = "last successful sweep" if self._last_success_at is not None else "start, no sweep yet"
        age = now - since
        if age > allowed:
            return False, f"no successful sweep for {age:.0f}s ({what}); allowed {allowed:.0f}s"
        return True, f"ok: {age:.0f}s since {what}"

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """Serves /metrics and /healthz for one `Metrics` on a loopback address, in a daemon thread."""

    def __init__(self, metrics: Metrics, address: ListenAddress, allow_non_loopback: bool = False):
        if not allow_non_loopback and not is_loopback(address.host):
            # The config check already refuses this; checked again because this is the socket.
            raise ValueError(
                f"refusing to serve metrics on {address}: not a loopback address"
                " (set service.metrics.allow_non_loopback: true to allow it)"
            )
        handler = _handler_for(metrics)
        server_class = _IPv6Server if ":" in address.host else _IPv4Server
        self._server = server_class((address.host, address.port), handler)
        host, port = self._server.server_address[:2]
        self.address = ListenAddress(str(host), int(port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hwb-metrics", daemon=True,
            kwargs={"poll_interval": 0.2},
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _IPv4Server(ThreadingHTTPServer):
    daemon_threads = True


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


def _handler_for(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, metrics.exposition())
            elif path == "/healthz":
                healthy, reason = metrics.health()
                self._reply(200 if healthy else 503, "text/plain; charset=utf-8", (reason + "\n").encode())
            else:
                self._reply(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # scrapes every 15 s would drown the journal; errors surface as failed scrapes

    return Handler
