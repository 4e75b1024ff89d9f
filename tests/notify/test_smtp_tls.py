"""SMTP with TLS against a CA of the tests' own (issue 14): STARTTLS (required by the server) and
implicit TLS, both verifying the certificate; a login from the credential file; an untrusted
certificate, a server without STARTTLS or a wrong password fail with exit 1 and record nothing."""

from __future__ import annotations

import os

import pytest

from agent.actions.session import open_directory
from agent.cli import main
from tests.actions.reminder_population import BASE, NOW, setup
from tests.notify.smtp_server import SmtpServer, notifications

LOGIN = ("hwb-agent", "s3cret:with-colon")


def _credential(tmp_path):
    path = tmp_path / "smtp-credential"
    path.write_text(f"{LOGIN[0]}:{LOGIN[1]}\n")
    os.chmod(path, 0o600)
    return path


def _remind(config):
    return main(["--config", config.source, "remind"], clock=lambda: NOW)


def _recorded(config) -> bool:
    with open_directory(config) as directory:
        return bool(directory.read(f"uid=n56,{BASE}").reminders_sent)


@pytest.fixture(params=["starttls", "implicit"])
def tls_server(request, test_ca):
    server = SmtpServer(mode=request.param, tls=test_ca, login=LOGIN).start()
    yield server
    server.stop()


def test_tls_with_the_test_ca_and_a_login_delivers(tmp_path, tls_server, test_ca):
    config = setup(tmp_path, notifications(tls_server, ca_file=test_ca.ca_file,
                                           credential_file=_credential(tmp_path)))
    assert config.notifications.tls == tls_server.mode
    assert _remind(config) == 0
    assert sorted(item.rcpt_tos[0] for item in tls_server.received) == ["a.one@test.example",
                                                                        "a.two@test.example"]
    assert _recorded(config)
    assert main(["--config", config.source, "check-config"]) == 0


def test_a_certificate_the_agent_does_not_trust_fails_and_records_nothing(tmp_path, tls_server, capsys):
    # No ca_file: the system's CAs do not know the test CA.
    config = setup(tmp_path, notifications(tls_server, credential_file=_credential(tmp_path)))
    assert _remind(config) == 1
    assert "certificate not trusted" in capsys.readouterr().err
    assert tls_server.received == [] and not _recorded(config)


def test_a_wrong_password_fails_at_the_login(tmp_path, tls_server, test_ca, capsys):
    path = tmp_path / "smtp-credential"
    path.write_text("hwb-agent\nwrong\n")
    os.chmod(path, 0o600)
    config = setup(tmp_path, notifications(tls_server, ca_file=test_ca.ca_file, credential_file=path))
    assert _remind(config) == 1
    assert "login as hwb-agent failed: 535" in capsys.readouterr().err
    assert tls_server.received == [] and not _recorded(config)


def test_starttls_is_required_when_configured(tmp_path, smtp_server, test_ca, capsys):
    # A plain server (no STARTTLS offered) but tls: starttls in the configuration.
    config = setup(tmp_path, notifications(smtp_server, ca_file=test_ca.ca_file, tls="starttls"))
    assert _remind(config) == 1
    assert "does not offer STARTTLS" in capsys.readouterr().err
    assert smtp_server.received == [] and not _recorded(config)
