"""Sign-in against the directory, sessions and roles (issue 13).

- Sign-in: the person is found by uid and their password checked by a bind as their DN on a new
  connection (agent.actions.console_scope.sign_in, agent.directory.signin); their roles come from
  their groups and `web.roles`. One message for an unknown user, a wrong password, a person without
  a role and a throttled attempt (agent.web.throttle), so nothing tells whether a user exists.
- Sessions: Flask's signed cookie (HttpOnly, SameSite=Strict, Secure behind TLS), holding the
  administrator's uid, roles and schools as read at sign-in, a random session id, the time of the
  last request (idle timeout: `web.idle_timeout_minutes`) and of the sign-in (at most 12 hours).
  A new session on every sign-in (no fixation); sign-out revokes the session id in this process.
- Every request but the sign-in page, the language switch and static files needs a session.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from agent.actions.console_scope import Administrator, ConsoleRole, sign_in
from agent.core.errors import DirectoryUnavailable
from agent.logs import get_logger
from agent.web.forms import ConsoleForm
from agent.web.i18n import COOKIE, LANGUAGES, _

blueprint = Blueprint("auth", __name__)
log = get_logger("hwb-agent.web.auth")

MAX_SESSION_SECONDS = 12 * 3600
OPEN_ENDPOINTS = {"auth.sign_in", "auth.language", "static", "auth.health"}


class SignInForm(ConsoleForm):
    uid = StringField("uid", validators=[DataRequired(), Length(max=256)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=1024)])


class _Revoked:
    """Session ids signed out in this process, kept until they would have expired anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def add(self, sid: str) -> None:
        now = time.time()
        with self._lock:
            self._until = {key: until for key, until in self._until.items() if until > now}
            self._until[sid] = now + MAX_SESSION_SECONDS

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return isinstance(sid, str) and self._until.get(sid, 0.0) > time.time()


_revoked = _Revoked()


def client_address() -> str:
    return request.remote_addr or "unknown"


def _console() -> Any:
    return current_app.extensions["hwb_console"]


def administrator() -> Administrator:
    """The signed-in administrator of this request (the pages run only with one)."""
    found: Administrator = g.administrator
    return found


def _from_session() -> Administrator | None:
    data = session.get("admin")
    if not isinstance(data, dict):
        return None
    try:
        return Administrator(uid=data["uid"], dn=data["dn"], name=data["name"], mail=data.get("mail"),
                             roles=frozenset(ConsoleRole(role) for role in data["roles"]),
                             schools=frozenset(data.get("schools", ())))
    except (KeyError, ValueError, TypeError):
        return None


def _load_administrator() -> Response | None:
    g.administrator = None
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    now = time.time()
    idle = current_app.permanent_session_lifetime.total_seconds()
    found = _from_session()
    seen = session.get("seen", 0)
    signed = session.get("signed", 0)
    if (found is None or session.get("sid") in _revoked or not isinstance(seen, int | float)
            or now - seen > idle or now - signed > MAX_SESSION_SECONDS):
        expired = found is not None
        session.clear()
        if expired:
            flash(_("Your session has ended. Please sign in again."), "info")
        if request.method != "GET":
            abort(403)
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    session["seen"] = int(now)
    g.administrator = found
    return None


def install(app: Flask) -> None:
    trusted = app.extensions["hwb_console"].config.web.trusted_proxies
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)  # type: ignore[method-assign]
    app.before_request(_load_administrator)

    @app.context_processor
    def signed_in() -> dict[str, Any]:
        return {"administrator": g.get("administrator")}


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //): the sign-in is no open redirect."""
    if not target:
        return url_for("pages.home")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("pages.home")
    return target


def sign_in_page() -> Any:
    form = SignInForm()
    failed = False
    status = 200
    if request.method == "POST":
        started = time.monotonic()
        console = _console()
        uid = (form.uid.data or "").strip()
        address = client_address()
        found: Administrator | None = None
        if form.validate_on_submit() and not console.throttle.blocked(uid, address):
            try:
                with console.reading() as directory:
                    found = sign_in(directory, console.config, uid, form.password.data or "")
            except DirectoryUnavailable as error:
                log.warning("console_sign_in_unavailable", error=str(error))
                return render_template("signin.html", form=form, failed=False, unavailable=True), 503
        if found is None:
            console.throttle.failed(uid, address)
            log.info("console_sign_in_refused", uid=uid[:64], address=address)
            failed, status = True, 401
            # The same time for an unknown user (no bind) as for a wrong password (a bind).
            delay = console.config.web.sign_in.failure_delay_seconds - (time.monotonic() - started)
            if delay > 0:
                time.sleep(delay)
        else:
            console.throttle.succeeded(uid)
            session.clear()  # a new session on every sign-in
            session.permanent = True
            session["admin"] = {"uid": found.uid, "dn": found.dn, "name": found.name, "mail": found.mail,
                                "roles": sorted(role.value for role in found.roles),
                                "schools": sorted(found.schools)}
            session["sid"] = secrets.token_urlsafe(16)
            session["seen"] = session["signed"] = int(time.time())
            log.info("console_signed_in", uid=found.uid, address=address,
                     roles=sorted(role.value for role in found.roles))
            return redirect(_safe_next(request.args.get("next")))
    form.password.data = ""
    return render_template("signin.html", form=form, failed=failed, unavailable=False), status


# The endpoint keeps the name "auth.sign_in" (templates and tests link to it).
blueprint.add_url_rule("/sign-in", endpoint="sign_in", view_func=sign_in_page, methods=["GET", "POST"])


@blueprint.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    sid = session.get("sid")
    if isinstance(sid, str):
        _revoked.add(sid)
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/language/<code>")
def language(code: str) -> Response:
    """The language switch: remembered in a cookie for a year (a plain link: no JavaScript)."""
    if code not in LANGUAGES:
        abort(404)
    response = redirect(_safe_next(request.args.get("next")))
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Strict",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@blueprint.route("/healthz")
def health() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


View = Callable[..., Any]


def requires(role_check: Callable[[Administrator], bool]) -> Callable[[View], View]:
    """A page only for administrators passing `role_check` (others get 404, as out of scope)."""
    def wrap(view: View) -> View:
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not role_check(administrator()):
                abort(404)
            return view(*args, **kwargs)
        checked.__name__ = view.__name__
        checked.__doc__ = view.__doc__
        return checked
    return wrap
