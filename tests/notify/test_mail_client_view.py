"""A received reminder read as a mail client reads it (issue 14): the `email` parser on what the SMTP
server got; multipart/alternative with a plain text and an HTML part, Welsh first then English in
each, dates in each language, the View Details links, and the HTML escaped."""

from __future__ import annotations

from datetime import timedelta

from agent.actions.session import open_directory
from agent.cli import main
from tests.actions.reminder_population import BASE, NOW, TODAY, account, disabled, setup
from tests.notify.smtp_server import SmtpServer, notifications

CONSOLE = "https://hwb-admin.test.example"


def test_a_received_digest_has_both_parts_both_languages_and_the_links(tmp_path, smtp_server: SmtpServer):
    tricky = account("n.oneil", "a.one", 14)
    purge = disabled("p28", "a.one", TODAY + timedelta(days=28))
    config = setup(tmp_path, notifications(smtp_server), accounts=[tricky, purge],
                   web={"base_url": CONSOLE + "/"})
    with open_directory(config) as directory:  # a name that must be escaped in HTML
        directory.modify(f"uid=n.oneil,{BASE}", [("cn", "replace", ("Siân O'Neil & <Sons>",))])
    assert main(["--config", config.source, "remind"], clock=lambda: NOW) == 0
    [received] = smtp_server.received
    message = received.message()

    assert message["To"] == "a.one@test.example"
    assert message["From"].addresses[0].addr_spec == "hwb-agent@test.example"
    assert message["Subject"] == "Cyfrifon Hwb sydd angen sylw / Hwb accounts that need your attention"
    assert message["Content-Language"] == "cy, en" and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]

    text = message.get_body(("plain",)).get_content()
    welsh, english = text.index("[Cymraeg]"), text.index("[English]")
    assert welsh < english
    # Prose is wrapped for the reader (links and commands never are): compare with spaces folded.
    cymraeg, saesneg = " ".join(text[welsh:english].split()), " ".join(text[english:].split())
    assert "Cyfrifon sy'n dod i ben" in cymraeg and "Cyfrifon a fydd yn cael eu dileu" in cymraeg
    assert "30 Tachwedd 2026 (14 diwrnod ar ôl)" in cymraeg
    assert "Bydd yn cael ei ddileu'n barhaol ar 14 Rhagfyr 2026" in cymraeg
    assert "Accounts expiring" in saesneg and "30 November 2026 (14 days left)" in saesneg
    assert "permanently deleted on 14 December 2026" in saesneg
    assert f"Gweld y manylion: {CONSOLE}/accounts/n.oneil" in cymraeg
    assert f"View Details: {CONSOLE}/accounts/p28" in saesneg
    assert "hwb-agent extend n.oneil --duration 3m --by a.one" in saesneg
    assert "hwb-agent activate p28 --by a.one --duration 3m" in saesneg
    assert "Siân O'Neil & <Sons>" in text  # plain text as is
    assert all(len(line) <= 100 for line in text.splitlines())

    page = message.get_body(("html",)).get_content()
    assert page.index('<section lang="cy">') < page.index('<section lang="en">')
    assert f'<a href="{CONSOLE}/accounts/n.oneil">Gweld y manylion</a>' in page
    assert f'<a href="{CONSOLE}/accounts/p28">View Details</a>' in page
    assert "Siân O&#x27;Neil &amp; &lt;Sons&gt;" in page and "<Sons>" not in page
    assert "14 Rhagfyr 2026" in page and "14 December 2026" in page


def test_without_a_console_the_entry_gives_the_command(tmp_path, smtp_server: SmtpServer):
    config = setup(tmp_path, notifications(smtp_server), accounts=[account("n14", "a.two", 14)])
    assert main(["--config", config.source, "remind"], clock=lambda: NOW) == 0
    message = smtp_server.received[0].message()
    text = message.get_body(("plain",)).get_content()
    assert "View Details" not in text and "Gweld y manylion" not in text
    assert "I'w estyn: hwb-agent extend n14 --duration 3m --by a.two" in text
    page = message.get_body(("html",)).get_content()
    assert "<code>hwb-agent extend n14 --duration 3m --by a.two</code>" in page
