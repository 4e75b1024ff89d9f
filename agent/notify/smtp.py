"""Sending digests over SMTP with the standard library (issue 14).

STARTTLS (`tls: starttls`, refused when the server does not offer it) or implicit TLS
(`tls: implicit`), both verifying the server's certificate and name against the system's CAs or
`notifications.ca_file`; plain SMTP only to a loopback host (the settings refuse it elsewhere). The
login comes from `notifications.credential_file`. One connection serves a run, opened at the first
message; messages are paced by a token bucket (agent.notify.rate). A server that cannot be reached,
refuses TLS or the login, or drops the session raises MailUnavailable (the run stops, nothing more
is recorded as sent, exit 1); a message the server refuses (its recipient) raises MailRefused.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from agent.actions.reminders import MailRefused, MailUnavailable, OutgoingDigest
from agent.logs import get_logger
from agent.notify.rate import TokenBucket
from agent.settings.notifications import NotificationSettings

log = get_logger("hwb-agent.notify.smtp")

Render = Callable[[OutgoingDigest], EmailMessage]


def tls_context(settings: NotificationSettings) -> ssl.SSLContext:
    """Certificate and host name verified (the system's CAs, or `ca_file`)."""
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


def _where(settings: NotificationSettings) -> str:
    return f"{settings.host}:{settings.port} ({settings.tls})"


def open_session(settings: NotificationSettings) -> smtplib.SMTP:
    """A connected, (STARTTLS'd and) logged-in SMTP session; MailUnavailable saying which step failed."""
    if settings.host is None:
        raise MailUnavailable("no SMTP server is configured (notifications.host)")
    where = _where(settings)
    step = "connect"
    session: smtplib.SMTP | None = None
    try:
        if settings.tls == "implicit":
            step = "connect with TLS"
            session = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                       context=tls_context(settings))
        else:
            session = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        step = "EHLO"
        session.ehlo()
        if settings.tls == "starttls":
            step = "STARTTLS"
            if not session.has_extn("starttls"):
                raise MailUnavailable(f"SMTP server {where} does not offer STARTTLS: nothing was sent"
                                      " (notifications.tls)")
            session.starttls(context=tls_context(settings))
            session.ehlo()
        if settings.login is not None:
            step = f"login as {settings.login.user}"
            session.login(settings.login.user, settings.login.password.reveal())
        return session
    except MailUnavailable:
        _discard(session)
        raise
    except (smtplib.SMTPException, OSError) as error:
        _discard(session)
        raise MailUnavailable(f"SMTP server {where}: {step} failed: {_describe(error)}") from None


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(
            error.smtp_error)
        return f"{error.smtp_code} {text}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({error.verify_message}; notifications.ca_file?)"
    return str(error) or type(error).__name__


def _discard(session: smtplib.SMTP | None) -> None:
    if session is None:
        return
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


class SmtpSender:
    """The Sender of agent.actions.reminders over SMTP: `render` makes each message."""

    def __init__(self, settings: NotificationSettings, render: Render, *,
                 bucket: TokenBucket | None = None,
                 connect: Callable[[NotificationSettings], smtplib.SMTP] = open_session):
        self.settings = settings
        self.render = render
        self.bucket = bucket or TokenBucket(settings.rate_per_minute)
        self.connect = connect
        self.session: smtplib.SMTP | None = None
        self.sent = 0

    def send(self, digest: OutgoingDigest) -> None:
        message = self.render(digest)
        self.bucket.take()
        if self.session is None:
            self.session = self.connect(self.settings)
        try:
            refused: dict[str, Any] = self.session.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise MailRefused(f"{digest.recipient} refused by the SMTP server: "
                              + "; ".join(f"{code} {text!r}" for code, text in error.recipients.values())
                              ) from None
        except smtplib.SMTPSenderRefused as error:
            self._drop()
            raise MailUnavailable(f"SMTP server {_where(self.settings)} refused the sender"
                                  f" {self.settings.sender}: {_describe(error)} (notifications.from)"
                                  ) from None
        except smtplib.SMTPDataError as error:
            if error.smtp_code >= 500:  # this message is refused for good; others may go
                raise MailRefused(f"message to {digest.recipient} refused: {_describe(error)}") from None
            self._drop()  # 4xx: the server is not taking mail now
            raise MailUnavailable(f"SMTP server {_where(self.settings)}: {_describe(error)}") from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise MailUnavailable(f"SMTP server {_where(self.settings)}: sending failed:"
                                  f" {_describe(error)}") from None
        if refused:
            raise MailRefused(f"{digest.recipient} refused by the SMTP server: {refused}")
        self.sent += 1
        log.info("reminder_mail_sent", recipient=digest.recipient, sponsor=digest.sponsor,
                 accounts=len(digest.entries))

    def _drop(self) -> None:
        session, self.session = self.session, None
        _discard(session)

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def probe(settings: NotificationSettings) -> list[str]:
    """`check-config`: connect, EHLO, STARTTLS and log in as configured, then QUIT. What failed
    (one line; empty when it all worked)."""
    try:
        session = open_session(settings)
    except MailUnavailable as error:
        return [str(error)]
    _discard(session)
    return []
