"""`run_service` wiring (agent/service/app.py): audit trail, lifecycle job, lease store, exit codes.

On the embedded demo directory (mock:), in a thread; the real process with a real slapd is
tests/service/test_run_slapd.py.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from agent import cli
from agent.core.errors import ExitCode
from agent.service.app import LifecycleService
from agent.service.lifecycle_job import LifecycleJob
from agent.settings.config import Config
from tests.service.conftest import ServiceThread, make_config, wait_until

LEASE_DN = "cn=hwb-agent-lease,ou=people,dc=example,dc=org"


class AppThread(ServiceThread):
    """Runs `LifecycleService.run()` (service loop, then the audit file closed) in a thread."""

    def __init__(self, app: LifecycleService):
        super().__init__(app.service)
        self.app = app

    def _run(self) -> None:
        try:
            self.result = self.app.run()
        except BaseException as error:  # reported by stop()
            self.error = error


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def demo_config(tmp_path: Path, **service: Any) -> Config:
    return make_config(
        directory={"url": "mock:", "base_dn": "ou=people,dc=example,dc=org", "flavour": "openldap",
                   "state_file": str(tmp_path / "demo.json")},
        schedule={"sweep": "every 60 minutes", "activation_poll_seconds": 60},
        logging={"audit_file": str(tmp_path / "audit.jsonl")},
        service=service,
    )


def test_the_service_sweeps_the_demo_directory_and_the_audit_records_name_the_lease_holder(tmp_path):
    config = demo_config(tmp_path, lease={"enabled": True, "holder": "host-a", "dn": LEASE_DN,
                                          "period_seconds": 60})
    app = LifecycleService(lambda: config, config)
    with AppThread(app) as thread:
        wait_until(lambda: app.service.lease is not None and app.service.lease.holds(), "the lease")
        # The demo directory has accounts due for a change: the start sweep writes audit records.
        wait_until(lambda: audit_records(tmp_path / "audit.jsonl"), "audit records of the start sweep")
        assert isinstance(app.service.job, LifecycleJob)
    assert thread.result == 0
    assert {record.get("host") for record in audit_records(tmp_path / "audit.jsonl")} == {"host-a"}
    assert app.audit._stream is None, "the audit file is closed when the service stops"


def test_the_lease_store_uses_the_connection_of_the_job_in_force(tmp_path):
    config = demo_config(tmp_path, lease={"enabled": True, "holder": "host-a", "dn": LEASE_DN})
    app = LifecycleService(lambda: config, config)
    with pytest.raises(RuntimeError, match="before the service had a job"):
        app.lease_directory()
    with AppThread(app):
        wait_until(lambda: app.service.lease is not None and app.service.lease.holds(), "the lease")
        job = app.service.job
        assert isinstance(job, LifecycleJob)
        # Under the job's lock: the job drops the embedded directory after each of its runs.
        with job._lock:
            assert app.lease_directory() is job.directory()


def test_a_reload_moves_the_audit_trail_to_the_new_file_and_holder(tmp_path):
    config = demo_config(tmp_path)
    app = LifecycleService(lambda: config, config)
    moved = make_config(
        directory={"url": "mock:", "base_dn": "ou=people,dc=example,dc=org", "flavour": "openldap"},
        logging={"audit_file": str(tmp_path / "rotated.jsonl")},
        service={"lease": {"holder": "host-b"}},
    )
    app.reopen_audit(moved)
    assert app.audit.path == tmp_path / "rotated.jsonl"
    assert app.audit.host == "host-b"


def test_run_exits_1_with_a_message_when_the_metrics_port_is_taken(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "agent.yaml"
        path.write_text(json.dumps({
            "local_authority": {"code": "681", "name": "Cardiff"},
            "directory": {"url": "mock:", "base_dn": "ou=people,dc=example,dc=org", "flavour": "openldap",
                          "state_file": str(tmp_path / "demo.json")},
            "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
            "service": {"metrics": {"listen": f"127.0.0.1:{port}"}},
        }), encoding="utf-8")
        assert cli.main(["--config", str(path), "run"]) == ExitCode.FAILED
    assert "cannot start the service" in capsys.readouterr().err
