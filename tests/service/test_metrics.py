"""Metrics scraped over HTTP and parsed; /healthz turns 503 after two missed intervals."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.service.jobs import JobSummary
from agent.service.metrics import Metrics, MetricsServer
from agent.service.service import Service
from agent.settings.config import ConfigError
from agent.settings.service import ListenAddress
from tests.service.conftest import FakeJobFactory, ServiceThread, fast_timetable, make_config, wait_until


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parsed exposition: (sample name, sorted labels) -> value."""
    parsed = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def test_a_running_service_serves_its_metrics_on_loopback():
    factory = FakeJobFactory()
    config = make_config(service={"metrics": {"listen": "127.0.0.1:0"}})
    service = Service(lambda: config, factory, timetable=fast_timetable(sweep_interval=0.2, poll=0.05),
                      tick_seconds=0.05, install_signal_handlers=False)
    with ServiceThread(service):
        wait_until(lambda: service.metrics_server is not None, "the metrics server")
        wait_until(lambda: factory.directory.count("sweep") >= 2, "two sweeps")
        base = f"http://{service.metrics_server.address}"
        status, text = get(base + "/metrics")
        health_status, health = get(base + "/healthz")
        missing_status, _ = get(base + "/nothing")
    assert status == 200
    values = samples(text)
    sweeps = values[("hwb_sweep_duration_seconds_count", ())]
    assert sweeps >= 2
    assert values[("hwb_changes_total", (("action", "disable"), ("rule", "NM-3")))] == 2 * sweeps
    assert values[("hwb_changes_total", (("action", "disable"), ("rule", "MIS-2")))] == sweeps
    assert values[("hwb_accounts", (("category", "mis"), ("state", "enabled")))] == 7
    assert values[("hwb_accounts", (("category", "non-mis"), ("state", "disabled")))] == 3
    assert values[("hwb_last_successful_sweep_timestamp_seconds", ())] > 1_600_000_000
    assert values[("hwb_guard_trips_total", ())] == 0
    assert values[("hwb_agent_info", (("local_authority", "681"),))] == 1
    assert values[("hwb_lease_held", ())] == 1  # no lease configured: this instance acts
    assert health_status == 200 and health.startswith("ok")
    assert missing_status == 404


def test_healthz_is_200_until_two_intervals_pass_without_a_successful_sweep():
    clock = FakeClock()
    metrics = Metrics("681", clock=clock)
    metrics.expect_sweeps_every(600)
    server = MetricsServer(metrics, ListenAddress("127.0.0.1", 0))
    url = f"http://{server.address}/healthz"
    try:
        assert get(url)[0] == 200  # just started: two intervals of grace
        clock.now += 1199
        assert get(url)[0] == 200
        clock.now += 2
        status, reason = get(url)
        assert status == 503 and "no successful sweep" in reason and "start" in reason

        metrics.record_job("sweep", JobSummary(), 12.0)
        assert get(url)[0] == 200
        clock.now += 1201
        assert get(url)[0] == 503
    finally:
        server.close()


def test_a_guard_trip_or_an_interrupted_sweep_is_not_a_successful_sweep():
    clock = FakeClock()
    metrics = Metrics("681", clock=clock)
    metrics.expect_sweeps_every(60)
    metrics.record_job("sweep", JobSummary(guard_tripped=True), 1.0)
    metrics.record_job("sweep", JobSummary(interrupted=True), 1.0)
    clock.now += 121
    assert metrics.health()[0] is False
    assert metrics.guard_trips._value.get() == 1
    assert metrics.last_success._value.get() == 0


def test_a_standby_is_healthy_although_it_does_not_sweep():
    clock = FakeClock()
    metrics = Metrics("681", clock=clock)
    metrics.expect_sweeps_every(60)
    metrics.record_lease(held=False, holder="host-b")
    clock.now += 10_000
    assert metrics.health() == (True, "standby: another instance holds the lease")
    values = samples(metrics.exposition().decode())
    assert values[("hwb_lease_holder", (("holder", "host-b"),))] == 1
    assert values[("hwb_lease_held", ())] == 0


def test_the_metrics_use_their_own_registry_so_two_instances_do_not_collide():
    first, second = Metrics("681"), Metrics("682")
    first.record_job("sweep", JobSummary(changes={("NM-4", "disable"): 1}), 1.0)
    assert "NM-4" not in second.exposition().decode()


def test_a_non_loopback_address_is_refused_by_the_server():
    with pytest.raises(ValueError, match="not a loopback address"):
        MetricsServer(Metrics("681"), ListenAddress("0.0.0.0", 0))


def test_a_non_loopback_address_is_refused_by_the_configuration_with_its_path():
    with pytest.raises(ConfigError) as caught:
        make_config(service={"metrics": {"listen": "192.0.2.10:9464"}})
    assert any("'service.metrics.listen'" in problem for problem in caught.value.problems)


def test_a_non_loopback_address_is_allowed_when_the_configuration_says_so_explicitly():
    config = make_config(service={"metrics": {"listen": "0.0.0.0:0", "allow_non_loopback": True}})
    server = MetricsServer(Metrics("681"), config.service.metrics.listen, True)
    try:
        assert get(f"http://127.0.0.1:{server.address.port}/metrics")[0] == 200
    finally:
        server.close()


def test_an_ipv6_loopback_address_is_served():
    server = MetricsServer(Metrics("681"), ListenAddress("::1", 0))
    try:
        assert get(f"http://{server.address}/healthz")[0] == 200
    finally:
        server.close()


def test_the_build_info_metric_names_the_running_version_and_the_authority():
    import agent

    values = samples(Metrics("681").exposition().decode())
    assert values[("hwb_agent_build_info", (("local_authority", "681"), ("version", agent.__version__)))] == 1
    text = Metrics("682", version="9.8.7").exposition().decode()
    assert 'hwb_agent_build_info{local_authority="682",version="9.8.7"} 1.0' in text.splitlines()
