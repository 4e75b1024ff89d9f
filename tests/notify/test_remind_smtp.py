"""`hwb-agent remind` against a real SMTP server (aiosmtpd, in this process) (issue 14): digests
grouped per sponsor, thresholds at their boundary days, no second send on a re-run, the server down
then up (exit 1, nothing recorded, then sent once), and check-config's SMTP probe."""

from __future__ import annotations

import json
from datetime import timedelta

from agent.actions.session import open_directory
from agent.cli import main
from tests.actions.reminder_population import BASE, NOW, TODAY, account, setup
from tests.notify.smtp_server import SmtpServer, free_port, notifications


def _remind(config, *extra, now=NOW):
    return main(["--config", config.source, "remind", *extra], clock=lambda: now)


def _uids(received):
    """Account uids named in each message, by recipient (from the parsed plain text part)."""
    found = {}
    for item in received:
        text = item.message().get_body(("plain",)).get_content()
        # Each account is named twice: in the Welsh part, then in the English one.
        named = [word[1:-2] for word in text.split() if word.startswith("(") and word.endswith("):")]
        assert named[:len(named) // 2] == named[len(named) // 2:]
        found[tuple(item.rcpt_tos)] = sorted(named[:len(named) // 2])
    return found


def _keys(config, uid):
    with open_directory(config) as directory:
        return directory.read(f"uid={uid},{BASE}").reminders_sent


def _events(config):
    path = config.logging.audit_file
    if not path.exists():
        return []
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


def test_one_digest_per_sponsor_and_none_again_on_a_re_run(tmp_path, smtp_server: SmtpServer):
    config = setup(tmp_path, notifications(smtp_server))
    assert _remind(config) == 0
    assert _uids(smtp_server.received) == {
        ("a.one@test.example",): ["n55", "n56", "p28"],
        ("a.two@test.example",): ["n13", "n14", "n15"],
    }
    assert all(item.mail_from == "hwb-agent@test.example" for item in smtp_server.received)
    assert _events(config).count("reminder_sent") == 2
    assert _remind(config) == 0 and len(smtp_server.received) == 2  # nothing is due twice
    assert _remind(config, now=NOW + timedelta(hours=5)) == 0 and len(smtp_server.received) == 2


def test_the_second_threshold_follows_on_its_boundary_day(tmp_path, smtp_server: SmtpServer):
    config = setup(tmp_path, notifications(smtp_server),
                   accounts=[account("n56", "a.one", 56), account("n15", "a.two", 15)])
    assert _remind(config) == 0  # both within 56 days: the 56-day reminder each
    assert len(smtp_server.received) == 2
    # One day on: n15 has 14 days left (the 14-day threshold); n56 has 55 (already told for 56).
    assert _remind(config, now=NOW + timedelta(days=1)) == 0
    assert _uids(smtp_server.received[2:]) == {("a.two@test.example",): ["n15"]}
    assert _keys(config, "n15") == {f"56:expiry:{TODAY + timedelta(days=15)}",
                                    f"14:expiry:{TODAY + timedelta(days=15)}"}
    # n56 at 14 days left, 42 days on: its second reminder.
    assert _remind(config, now=NOW + timedelta(days=42)) == 0
    assert _uids(smtp_server.received[3:]) == {("a.one@test.example",): ["n56"]}
    assert _remind(config, now=NOW + timedelta(days=43)) == 0 and len(smtp_server.received) == 4


def test_smtp_down_records_nothing_exits_1_and_the_next_run_sends_once(tmp_path, capsys):
    port = free_port()
    down = SmtpServer(port=port)
    config = setup(tmp_path, notifications(down))
    assert _remind(config) == 1
    error = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in error and "connect failed" in error and "the next run retries" in error
    assert _keys(config, "n56") == frozenset() and _keys(config, "n14") == frozenset()
    assert "reminder_sent" not in _events(config)
    up = down.start()
    try:
        assert _remind(config) == 0
        assert len(up.received) == 2
        assert _remind(config) == 0 and len(up.received) == 2
    finally:
        up.stop()
    assert _events(config).count("reminder_sent") == 2


def test_a_refused_recipient_is_retried_and_the_others_are_sent(tmp_path, smtp_server: SmtpServer, capsys):
    smtp_server.handler.refuse.add("a.two@test.example")
    config = setup(tmp_path, notifications(smtp_server))
    assert _remind(config) == 1
    assert "550" in capsys.readouterr().err
    assert [item.rcpt_tos for item in smtp_server.received] == [["a.one@test.example"]]
    assert _keys(config, "n14") == frozenset()
    smtp_server.handler.refuse.clear()
    assert _remind(config) == 0
    assert [item.rcpt_tos for item in smtp_server.received][1:] == [["a.two@test.example"]]


def test_a_dry_run_sends_nothing_and_to_sends_one_test_digest(tmp_path, smtp_server: SmtpServer, capsys):
    config = setup(tmp_path, notifications(smtp_server))
    assert _remind(config, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "dry run (nothing sent or recorded)" in out and "[Cymraeg]" in out and "Sponsors who cannot" in out
    assert smtp_server.received == []
    assert _remind(config, "--dry-run", "--to", "tester@test.example", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert [item["status"] for item in report["digests"]] == ["test sent"]
    assert [item.rcpt_tos for item in smtp_server.received] == [["tester@test.example"]]
    assert _keys(config, "n56") == frozenset() and _events(config) == []
    assert _remind(config, "--to", "tester@test.example") == 2
    assert _remind(config, "--dry-run", "--to", "not an address") == 2
    assert "--to: expected one mail address" in capsys.readouterr().err


def test_check_config_connects_to_the_smtp_server_and_reports_what_fails(tmp_path, smtp_server, capsys):
    config = setup(tmp_path, notifications(smtp_server))
    assert main(["--config", config.source, "check-config"]) == 0
    assert f"connected to SMTP server 127.0.0.1:{smtp_server.port} (none)" in capsys.readouterr().out
    smtp_server.stop()
    assert main(["--config", config.source, "check-config"]) == 1
    out = capsys.readouterr().out
    assert "MISSING: SMTP server 127.0.0.1" in out and "notifications.host" in out


def test_remind_without_an_smtp_server_configured_only_dry_runs(tmp_path, capsys):
    config = setup(tmp_path, {"host": None})
    assert _remind(config) == 2
    assert "notifications.host" in capsys.readouterr().err
    assert _remind(config, "--dry-run", "--to", "tester@test.example") == 0
    assert "test printed: to tester@test.example" in capsys.readouterr().out


def test_a_readable_credential_file_is_a_warning_on_stderr_and_json_stays_json(tmp_path, smtp_server, capsys):
    secret = tmp_path / "smtp-credential"
    secret.write_text("user:password\n")
    secret.chmod(0o644)
    config = setup(tmp_path, notifications(smtp_server, credential_file=secret))
    assert _remind(config, "--dry-run", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["dry_run"] is True
    assert "WARNING" in captured.err and "chmod 600" in captured.err
