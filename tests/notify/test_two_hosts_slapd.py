"""Two hosts, one directory (issue 14): each reminder is sent once only, even when the second host
planned the same digests before the first recorded them. A real slapd (the conditional add of a
hwbReminderSent value is what the server refuses with attributeOrValueExists) and a real SMTP server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml

from agent.actions.audit import AuditTrail
from agent.actions.reminders import remind
from agent.actions.session import open_directory
from agent.cli import main
from agent.notify.message import build_message
from agent.notify.smtp import SmtpSender
from agent.settings import config as config_module
from tests.actions.reminder_population import NOW, TODAY
from tests.notify.smtp_server import SmtpServer, notifications
from tests.service.agent_process import slapd_config

pytestmark = pytest.mark.slapd


def _host(tmp_path, name, server, smtp_server):
    path = slapd_config(tmp_path / f"{name}.yaml", server, audit=tmp_path / f"{name}.jsonl")
    data = yaml.safe_load(path.read_text())
    # Sponsors are staff entries beside the accounts, where the deployment lets the agent read.
    data["directory"]["people_base_dn"] = server.base_dn
    data["notifications"] = notifications(smtp_server)
    path.write_text(yaml.safe_dump(data))
    return config_module.load(path)


def _populate(server):
    for uid in ("s.one", "s.two"):
        server.add_user(uid, "Passw0rd!s1", attributes={"mail": f"{uid}@test.example"})
    for uid, sponsor, left in (("n10", "s.one", 10), ("n40", "s.two", 40), ("n41", "s.two", 41)):
        expiry = (TODAY + timedelta(days=left)).strftime("%Y%m%d000000Z")
        server.add_user(uid, "Passw0rd!n1", attributes={
            "hwbCategory": "non-mis", "hwbNonMisType": "governor", "hwbSponsor": sponsor,
            "hwbExpiryDate": expiry, "hwbDuration": "3m"})


def _sent_keys(server):
    with server.connect() as connection:
        connection.search(server.base_dn, "(hwbReminderSent=*)", attributes=["uid", "hwbReminderSent"])
        return {str(entry.uid): sorted(entry.hwbReminderSent.values) for entry in connection.entries}


def test_a_second_host_that_planned_the_same_digests_sends_none_of_them(private_slapd, tmp_path, monkeypatch,
                                                                       smtp_server: SmtpServer):
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", private_slapd.agent_password)
    _populate(private_slapd)
    host_a = _host(tmp_path, "host-a", private_slapd, smtp_server)
    host_b = _host(tmp_path, "host-b", private_slapd, smtp_server)
    audit_b = AuditTrail(host_b.logging.audit_file)
    with open_directory(host_b) as directory:
        reading = directory.accounts

        def read_then_host_a_runs(*args, **kwargs):
            found = list(reading(*args, **kwargs))
            # Host B has read the accounts (nothing recorded yet); host A does its whole run now.
            assert main(["--config", host_a.source, "remind"], clock=lambda: NOW) == 0
            return iter(found)

        directory.accounts = read_then_host_a_runs  # type: ignore[method-assign]
        render = lambda digest: build_message(digest, host_b, NOW)  # noqa: E731
        with SmtpSender(host_b.notifications, render) as sender:
            report = remind(directory, host_b, audit_b, NOW, sender=sender)
    audit_b.close()

    # Host B planned the same two digests, but every claim was refused: it sent nothing.
    assert sorted(report.claimed_elsewhere) == ["n10", "n40", "n41"]
    assert [item.digest.sponsor for item in report.digests] == [] and not report.failed
    assert sorted(item.rcpt_tos[0] for item in smtp_server.received) == ["s.one@test.example",
                                                                         "s.two@test.example"]
    assert _sent_keys(private_slapd) == {
        "n10": [f"14:expiry:{TODAY + timedelta(days=10)}"],
        "n40": [f"56:expiry:{TODAY + timedelta(days=40)}"],
        "n41": [f"56:expiry:{TODAY + timedelta(days=41)}"]}
    records_b = [json.loads(line) for line in host_b.logging.audit_file.read_text().splitlines()]
    assert {record["event"] for record in records_b} == {"change_intended", "change_not_applied"}
    assert all("attributeOrValueExists" in record["detail"] for record in records_b
               if record["event"] == "change_not_applied")

    # Later runs of either host, and a restart, find everything recorded: nothing is sent again.
    for config in (host_b, host_a, host_b):
        assert main(["--config", config.source, "remind"], clock=lambda: NOW + timedelta(hours=1)) == 0
    assert len(smtp_server.received) == 2
