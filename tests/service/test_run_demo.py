"""`hwb-agent run` as a real process on the embedded demo directory: the loop, C-1, metrics.

The service sweeps at start, polls for activation requests every second, and serves
/metrics and /healthz on loopback. Requests are written by the real `request-activation`
command in another process (the embedded directory is a state file both processes share),
and the time from the request written to the account enabled is measured.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import agent as agent_package
from agent.actions.session import open_directory
from agent.core.model import Category, Reason
from agent.settings import config as config_module
from tests.builders import write_config
from tests.servers.base import free_port
from tests.service.agent_process import PATIENCE_SECONDS, REPO, AgentProcess

REQUESTS = 10


def scrape(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[str, list]:
    """Metric family name -> its samples, parsed back with prometheus_client's own parser."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def request_activation(config: Path, uid: str, duration: str | None) -> float:
    """`hwb-agent request-activation` as a portal would; the monotonic time it had written the request."""
    subprocess.run(
        [sys.executable, "-m", "agent", "--config", str(config), "request-activation", uid,
         "--by", "portal:test", *(["--duration", duration] if duration else [])],
        cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True,
        capture_output=True, timeout=60,
    )
    return time.monotonic()


def test_run_on_the_demo_directory_sweeps_honours_requests_within_a_poll_and_serves_metrics(tmp_path: Path):
    port = free_port()
    config_path = write_config(tmp_path, {
        "schedule": {"sweep": ["every 1 minutes"], "activation_poll_seconds": 1},
        "logging": {"format": "json", "level": "info", "audit_file": str(tmp_path / "audit.jsonl")},
        "service": {"metrics": {"listen": f"127.0.0.1:{port}"}},
    })
    with AgentProcess(config_path).start() as agent:
        _, started = agent.wait_for("service_started")
        assert started["metrics"] == f"127.0.0.1:{port}"
        assert started["version"] == agent_package.__version__
        _, swept = agent.wait_for("job_finished", job="sweep")
        assert swept["changed"] > 0 and not swept["interrupted"]

        # Metrics and health after the first sweep, parsed back (the service logs the sweep's line
        # a moment before it updates the metrics: wait for them).
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            status, text = scrape(port, "/metrics")
            assert status == 200
            families = samples(text)
            if families["hwb_last_successful_sweep_timestamp_seconds"][0].value > 0:
                break
            assert time.monotonic() < deadline, "the metrics never showed the first sweep"
            time.sleep(0.05)
        status, body = scrape(port, "/healthz")
        assert status == 200 and body.startswith("ok"), body
        changes = {(sample.labels["rule"], sample.labels["action"]): sample.value
                   for sample in families["hwb_changes"] if sample.name == "hwb_changes_total"}
        assert {f"{rule}/{action}": count for (rule, action), count in changes.items()} == swept["changes"]
        accounts = {(sample.labels["category"], sample.labels["state"]): sample.value
                    for sample in families["hwb_accounts"]}
        assert accounts[("mis", "enabled")] > 0 and accounts[("non-mis", "disabled")] > 0
        [last] = families["hwb_last_successful_sweep_timestamp_seconds"]
        assert abs(last.value - time.time()) < 60
        assert [sample.value for sample in families["hwb_agent_info"]] == [1.0]
        assert [(sample.labels, sample.value) for sample in families["hwb_agent_build_info"]] == [
            ({"version": agent_package.__version__, "local_authority": "681"}, 1.0)]
        assert any(sample.name == "hwb_sweep_duration_seconds_count" and sample.value == 1
                   for sample in families["hwb_sweep_duration_seconds"])
        assert scrape(port, "/nothing")[0] == 404

        # Accounts the sweep disabled as expired or inactive: a portal asks to activate each.
        config = config_module.load(config_path)
        with open_directory(config) as directory:
            # Past its expiry an account needs an extension with it (NM-5); else none (NM-6: never shorter).
            today = datetime.now(config.policy.timezone).date()
            waiting = {account.uid: "3m" if account.expiry_date and account.expiry_date < today else None
                       for account in directory.accounts()
                       if account.category is Category.NON_MIS and not account.enabled
                       and account.disabled_reason in (Reason.EXPIRED, Reason.INACTIVE)}
        assert len(waiting) >= REQUESTS // 2 + 1
        # All but one (kept for after the log rotation below), at most REQUESTS.
        *chosen, spare = sorted(waiting)[:REQUESTS + 1]
        latencies = []
        for uid in chosen:
            written = request_activation(config_path, uid, waiting[uid])
            honoured_at, record = agent.wait_for("activation_request_honoured", uid=uid, timeout=10)
            assert record["rule"] == "C-1" and record["actor"] == "portal:test"
            latencies.append(max(0.0, honoured_at - written))
        with open_directory(config) as directory:
            assert all(directory.find("uid", uid)[0].enabled for uid in chosen)
        median = statistics.median(latencies)
        print(f"request written -> account enabled, poll 1 s: median {median:.2f} s,"
              f" max {max(latencies):.2f} s over {len(latencies)}")
        # Within one poll (1 s) plus the poll's own work; slack for a loaded CI machine.
        assert median <= 1.5 and max(latencies) < 3.0

        _, text = scrape(port, "/metrics")
        activated = sum(sample.value for sample in samples(text)["hwb_changes"]
                        if sample.name == "hwb_changes_total" and sample.labels["action"] == "activated")
        assert activated >= len(latencies)

        # SIGHUP: a bad file is rejected with its YAML path and the old one stays; a good one is taken,
        # and the audit file is reopened (log rotation): the next change goes to a new file.
        good = config_path.read_text()
        config_path.write_text(good.replace("page_size: 25", "page_size: lots"))
        agent.send(signal.SIGHUP)
        _, rejected = agent.wait_for("config_rejected")
        assert any("directory.page_size" in problem for problem in rejected["problems"])
        audit_path = tmp_path / "audit.jsonl"
        audit_path.rename(tmp_path / "audit.jsonl.1")
        config_path.write_text(good)
        agent.send(signal.SIGHUP)
        agent.wait_for("config_reloaded")
        request_activation(config_path, spare, waiting[spare])
        agent.wait_for("activation_request_honoured", uid=spare, timeout=10)
        assert spare in audit_path.read_text()
        assert agent.alive() and agent.stop() == 0
    assert agent.count("job_failed") == 0
    assert agent.count("service_stopped", reason="SIGTERM") == 1


DEMO = REPO / "config" / "demo.yaml"


def demo_metrics_address() -> tuple[str, int]:
    host, _, port = yaml.safe_load(DEMO.read_text())["service"]["metrics"]["listen"].rpartition(":")
    return host, int(port)


def test_the_readme_curl_lines_reach_the_address_the_demo_serves_metrics_on():
    host, port = demo_metrics_address()
    assert host == "127.0.0.1"
    section = (REPO / "README.md").read_text().split("## Run as a service", 1)[1].split("\n## ", 1)[0]
    urls = re.findall(r"curl -s\w* ([^\s`]+)", section)
    assert urls == [f"http://{host}:{port}/metrics", f"http://{host}:{port}/healthz"], urls


def test_the_demo_configuration_as_shipped_serves_metrics_on_its_loopback_address(tmp_path: Path):
    """`hwb-agent --config config/demo.yaml run` answers the README's curl on the configured port.

    The file is copied unchanged into tmp_path/config/, so its relative state and audit paths
    (../var/...) land in tmp_path/var and the checkout's own demo state is not touched.
    """
    host, port = demo_metrics_address()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            pytest.fail(f"{host}:{port}, the metrics address of config/demo.yaml, is in use ({error}):"
                        " stop whatever listens there (another `hwb-agent --config config/demo.yaml run`?)"
                        " and run this test again")
    (tmp_path / "config").mkdir()
    config_path = tmp_path / "config" / "demo.yaml"
    shutil.copyfile(DEMO, config_path)
    with AgentProcess(config_path).start() as agent:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            try:
                status, text = scrape(port, "/metrics")
                break
            except OSError:
                assert agent.alive(), f"the demo service ended:\n{agent.tail()}"
                assert time.monotonic() < deadline, f"nothing answered on {host}:{port}:\n{agent.tail()}"
                time.sleep(0.1)
        assert status == 200
        [build] = samples(text)["hwb_agent_build_info"]
        assert build.labels == {"version": agent_package.__version__, "local_authority": "681"}
        assert scrape(port, "/healthz")[0] == 200
        assert agent.stop() == 0
    assert (tmp_path / "var" / "demo-state.json").exists()
