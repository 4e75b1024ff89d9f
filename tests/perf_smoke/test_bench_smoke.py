"""The benchmark suite (tests/perf/) at smoke size, so that its code cannot rot.

1k accounts, one run, no PASS/FAIL enforcement: the real figures come from
`python -m tests.perf.bench` (tests/perf/README.md). Also checks, on a real
slapd, what the benchmarks rely on: the population is converged except for
the accounts made due, and the server-side candidate filter (with its
slapd-specific rendering) finds every account the full plan acts on or flags,
on the benchmark day and up to a year later.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from agent import logs
from agent.actions.session import open_directory
from agent.actions.sweep import plan
from agent.core.model import Action
from agent.core.policy import flagged_or_acted
from tests.servers.slapd import slapd_binary

pytestmark = pytest.mark.slapd


@pytest.fixture(autouse=True)
def _needs_slapd():
    if slapd_binary():
        return
    if os.environ.get("CI"):
        pytest.fail("slapd is not installed; CI must run the real-server tests", pytrace=False)
    pytest.skip("slapd is not installed (Debian: slapd ldap-utils)")


def test_smoke_run_prints_every_benchmark_table_and_exits_0(capsys):
    from tests.perf import bench

    code = bench.main(["--smoke"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for title in ("routine sweep of a converged directory, 1,000 accounts",
                  "sweep with 20 accounts due among 1,000", "sweep with 100 accounts due among 1,000",
                  "full reads, 1,000 accounts", "peak RSS", "activation requests under `run`, 1,000 accounts",
                  "MIS import of a 1,000-user OneRoster feed", "== summary =="):
        assert title in printed, printed
    assert "WARNING" not in printed, printed


def _due(directory, config, now, full):
    return {
        (planned.account.dn.lower(), planned.decision.action, planned.decision.rule)
        for planned in plan(directory, config, now, full=full)
        if flagged_or_acted(planned.decision)
    }


def test_candidate_filter_on_slapd_finds_everything_the_full_plan_finds():
    from tests.perf.bench import benchmark_day, load_bench

    logs.configure("json", "warning")
    bench = load_bench(1000, 40, benchmark_day(), 16)
    try:
        with open_directory(bench.config) as directory:
            acted = {item for item in _due(directory, bench.config, bench.now, full=True)
                     if item[1] is not Action.FLAG}
            assert len(acted) == 40  # the generated population is converged but for these
            for days in (0, 1, 30, 89, 90, 91, 180, 365, 400):
                now = bench.now + timedelta(days=days)
                assert _due(directory, bench.config, now, full=False) == _due(
                    directory, bench.config, now, full=True
                ), f"{days} days after the benchmark day"
    finally:
        bench.destroy()
