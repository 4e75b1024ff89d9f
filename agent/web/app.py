"""The application factory: `create_app(config, clock)` builds the console of one local authority.

What every response gets: security headers (a CSP without inline script or style, frame denial,
nosniff, a referrer policy, no caching of pages holding names), signed session cookies (HttpOnly,
SameSite=Strict, Secure behind TLS), CSRF protection of every form (Flask-WTF), and the language
chosen from the browser or the switch (Flask-Babel, agent.web.i18n).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, render_template, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFError, CSRFProtect

from agent.actions.audit import AuditTrail, AuditUnavailable, HistoryIndex
from agent.actions.console_index import ConsoleIndex
from agent.actions.session import WritingSession, open_directory, writing_session
from agent.core.clock import Clock
from agent.core.errors import DirectoryUnavailable, UsageError
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config
from agent.web import auth, i18n, pages
from agent.web.throttle import SignInThrottle

log = get_logger("hwb-agent.web.app")

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:;"
                           " form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@dataclass
class Console:
    """What the console's handlers share: the configuration, the clock, the audit trail, the index
    of accounts and the sign-in throttle. `reading()` and `writing()` open the directory for one
    request (the embedded demo directory one request at a time: it is a file)."""

    config: Config
    clock: Clock
    audit: AuditTrail
    throttle: SignInThrottle
    directory_lock: Any
    index: ConsoleIndex = field(init=False)
    history: HistoryIndex = field(init=False)

    def __post_init__(self) -> None:
        self.index = ConsoleIndex(self.config, self.reading, self.clock,
                                  float(self.config.web.cache_seconds))
        self.history = HistoryIndex(self.config.logging.audit_file)

    def warm(self) -> None:
        """Read the directory and the audit file once now, so that the first pages need not."""
        def run() -> None:
            try:
                self.index.snapshot()
                self.history.history("-")
            except Exception as error:  # the pages read them again when asked
                log.warning("console_warm_up_failed", error=str(error))
        threading.Thread(target=run, name="console-warm-up", daemon=True).start()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Directory]:
        with self.directory_lock, open_directory(self.config) as directory:
            try:
                yield directory
            finally:
                _count(directory)

    @contextlib.contextmanager
    def writing(self) -> Iterator[WritingSession]:
        with self.directory_lock, writing_session(self.config, self.audit, self.clock(),
                                                  bulk=False) as opened:
            try:
                yield opened
            finally:
                _count(opened.directory)


def _count(directory: Directory) -> None:
    """Add the LDAP operations of `directory` to this request's (for Server-Timing)."""
    if has_request_context():
        counts = g.setdefault("ldap_counts", {"searches": 0, "entries": 0, "writes": 0})
        counts["searches"] += directory.counts.searches
        counts["entries"] += directory.counts.entries_read
        counts["writes"] += directory.counts.writes


def session_secret(config: Config) -> bytes:
    """The key signing the session cookies: `web.session_secret_file` (or its systemd credential);
    the embedded demo without one gets a random key per process (sessions end with it)."""
    path = config.web.session_secret_file
    if path is None:
        if config.directory.is_mock:
            return secrets.token_bytes(32)
        raise UsageError("web.session_secret_file is required outside the embedded demo"
                         " (a file of at least 32 random bytes, e.g. `head -c 32 /dev/urandom > FILE`)")
    candidates = [path]
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        candidates.append(Path(credentials) / path.name)
    for candidate in candidates:
        try:
            data = candidate.read_bytes().strip()
        except OSError:
            continue
        if len(data) < 32:
            raise UsageError(f"web.session_secret_file: {candidate} holds {len(data)} bytes;"
                             " at least 32 are needed")
        return data
    raise UsageError(f"web.session_secret_file: cannot read {path}")


def create_app(config: Config, clock: Clock, *, secret: bytes | None = None,
               audit: AuditTrail | None = None,
               monotonic: Callable[[], float] | None = None) -> Flask:
    """The console for `config`; `clock` gives "now" to the actions (tests pass their own)."""
    app = Flask(__name__)
    web = config.web
    app.config.update(
        SECRET_KEY=secret or session_secret(config),
        SESSION_COOKIE_NAME="hwb_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=web.cookies_secure,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=web.idle_timeout_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session (idle timeout)
        WTF_CSRF_SSL_STRICT=web.cookies_secure,
        MAX_CONTENT_LENGTH=256 * 1024,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_DEFAULT_TIMEZONE=config.policy.timezone.key,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).with_name("translations")),
    )
    trail = audit or AuditTrail(config.logging.audit_file)
    directory_lock: Any = threading.RLock() if config.directory.is_mock else contextlib.nullcontext()
    throttle_args: dict[str, Any] = {"monotonic": monotonic} if monotonic else {}
    throttle = SignInThrottle(web.sign_in.max_failures, web.sign_in.window_minutes * 60.0,
                              **throttle_args)
    console = Console(config, clock, trail, throttle, directory_lock)
    app.extensions["hwb_console"] = console
    CSRFProtect(app)
    Babel(app, locale_selector=i18n.select_locale)
    i18n.install(app)
    auth.install(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(pages.blueprint)

    if web.server_timing:
        @app.before_request
        def start_clock() -> None:
            g.started = time.perf_counter()

        @app.after_request
        def server_timing(response: Response) -> Response:
            if request.endpoint == "auth.sign_in" or "started" not in g:
                return response  # the sign-in's figures would tell whether a user exists
            counts = g.get("ldap_counts") or {"searches": 0, "entries": 0, "writes": 0}
            milliseconds = (time.perf_counter() - g.started) * 1000
            response.headers["Server-Timing"] = (
                f"app;dur={milliseconds:.1f}, ldap-searches;desc=\"{counts['searches']}\","
                f" ldap-entries;desc=\"{counts['entries']}\", ldap-writes;desc=\"{counts['writes']}\"")
            return response

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if web.cookies_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", status=400, reason="csrf"), 400

    @app.errorhandler(DirectoryUnavailable)
    def directory_down(error: DirectoryUnavailable) -> tuple[str, int]:
        log.warning("console_directory_unavailable", path=request.path, error=str(error))
        return render_template("error.html", status=503, reason="directory"), 503

    @app.errorhandler(AuditUnavailable)
    def audit_down(error: AuditUnavailable) -> tuple[str, int]:
        # C-6: nothing was changed without its record.
        log.error("console_audit_unavailable", path=request.path, error=str(error))
        return render_template("error.html", status=503, reason="audit"), 503

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("error.html", status=404, reason="not-found"), 404

    @app.errorhandler(405)
    def not_allowed(error: Exception) -> tuple[str, int]:
        return render_template("error.html", status=405, reason="not-allowed"), 405

    return app


def console_of(app: Flask) -> Console:
    console: Console = app.extensions["hwb_console"]
    return console
