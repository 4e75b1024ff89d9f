"""The seed's pages (issue 13). Each handler checks the administrator's scope and calls one action,
the same as the command line's (agent.actions), then renders its result.

Scope is checked on the server for every request: an account outside it is answered 404, for a
typed URL and for a POST alike (agent.actions.console_scope).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from agent.actions import activate, create, extend, listings
from agent.actions.audit import audit_context
from agent.actions.console_index import (
    ListFilter,
    counts,
    expiring_count,
    list_page,
    scope_key,
    sponsors,
)
from agent.actions.console_index import forecast as console_forecast
from agent.actions.console_scope import (
    Administrator,
    ConsoleRole,
    NotInScope,
    Operation,
    may,
    require,
    sponsor_for_creation,
)
from agent.actions.lookup import find_account
from agent.actions.outcome import Result
from agent.actions.session import WritingSession
from agent.core.dates import add_months
from agent.core.errors import AgentError, DirectoryWriteError, LikelyDuplicate, PolicyRefusal, UsageError
from agent.core.model import Account, Category, Duration, NonMisType, Role
from agent.core.operations import NewAccount, days_left
from agent.web import chart
from agent.web.auth import administrator, client_address, requires
from agent.web.forms import ActivateForm, BulkExtendForm, CreateForm, ExtendForm, ServiceDeskForm
from agent.web.i18n import _

blueprint = Blueprint("pages", __name__)


def _console() -> Any:
    return current_app.extensions["hwb_console"]


@blueprint.app_context_processor
def banner() -> dict[str, Any]:
    """NM-8: the banner of every signed-in page, from the console's index (no full read)."""
    from flask import g
    found = g.get("administrator")
    if found is None or not found.manages_accounts:
        return {"expiring_banner": None}
    console = _console()
    snapshot = console.index.snapshot()
    return {"expiring_banner": expiring_count(snapshot, console.config, found, console.clock()),
            "expiring_weeks": console.config.policy.expiring_weeks,
            "authority": console.config.local_authority.name}


@blueprint.app_context_processor
def authority() -> dict[str, Any]:
    return {"authority": _console().config.local_authority.name}


def _manages(found: Administrator) -> bool:
    return found.manages_accounts


@contextmanager
def _audited() -> Iterator[None]:
    """Every record the actions write during this request names the administrator's address."""
    with audit_context(address=client_address(), via="web"):
        yield


def _refused(error: AgentError) -> str:
    return _("Refused: %(reason)s", reason=str(error).removeprefix("refused "))


# --- home ---------------------------------------------------------------------------------------

@blueprint.route("/")
def home() -> str:
    found = administrator()
    snapshot = _console().index.snapshot()
    active, inactive = counts(snapshot, found) if found.manages_accounts else (0, 0)
    return render_template("home.html", counts={"active": active, "inactive": inactive},
                           read_at=snapshot.read_at)


# --- Manage Local Authority Non-MIS accounts (C-1) ---------------------------------------------

@blueprint.route("/accounts")
@requires(_manages)
def accounts() -> str:
    found = administrator()
    console = _console()
    active_text = request.args.get("active", "")
    wanted = ListFilter(
        active={"Y": True, "N": False}.get(active_text),
        non_mis_type=request.args.get("type") or None,
        sponsor=request.args.get("sponsor") or None,
        text=request.args.get("q") or None,
    )
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    snapshot = console.index.snapshot()
    page = list_page(snapshot, found, wanted, number, console.config.web.page_size)
    arguments = {key: value for key, value in (("active", active_text), ("type", wanted.non_mis_type),
                                               ("sponsor", wanted.sponsor), ("q", wanted.text)) if value}
    return render_template("accounts.html", page=page, wanted=wanted, active=active_text,
                           arguments=arguments, types=[item.value for item in NonMisType],
                           sponsors=sponsors(snapshot, found), read_at=snapshot.read_at)


# --- View Details, Manage User ------------------------------------------------------------------

def _view(uid: str, operation: Operation = Operation.VIEW) -> listings.AccountView:
    console = _console()
    try:
        with console.reading() as directory:
            view = listings.view_account(directory, console.config, console.clock(), uid)
        require(administrator(), operation, view.account)
    except (UsageError, NotInScope):
        abort(404)
    return view


def _offers(found: Administrator, account: Account) -> dict[str, bool]:
    non_mis = account.category is Category.NON_MIS
    return {
        "activate": non_mis and not account.enabled and may(found, Operation.ACTIVATE, account),
        "extend": non_mis and may(found, Operation.EXTEND, account),
        "service_desk": (account.category is Category.MIS and account.role is Role.STAFF
                         and not account.enabled and may(found, Operation.SERVICE_DESK, account)),
    }


@blueprint.route("/accounts/<uid>")
def details(uid: str) -> str:
    view = _view(uid)
    history = _console().history.history(view.account.uid, limit=50)
    return render_template("details.html", view=view, account=view.account, history=history,
                           offers=_offers(administrator(), view.account),
                           days_left=days_left(view.account, view.today))


@blueprint.route("/find")
def find() -> Response:
    """The service desk's way in: a staff account by its user name (View Details checks the scope)."""
    uid = (request.args.get("uid") or "").strip()
    if not uid:
        return redirect(url_for("pages.home"))
    return redirect(url_for("pages.details", uid=uid))


@blueprint.route("/accounts/<uid>/manage")
def manage(uid: str) -> str:
    view = _view(uid)
    account = view.account
    expired = account.expiry_date is not None and account.expiry_date < view.today
    return render_template("manage.html", view=view, account=account, expired=expired,
                           offers=_offers(administrator(), account))


def _operate(uid: str, operation: Operation,
             call: Callable[[WritingSession, Account, datetime], Result]) -> Result | None:
    """Check scope on the account as read now, run the action, refresh the index's row. None when
    refused (the reason is flashed)."""
    console = _console()
    found = administrator()
    try:
        with _audited(), console.writing() as opened:
            account = require(found, operation, find_account(opened.directory, uid))
            result = call(opened, account, console.clock())
            fresh = opened.directory.read(account.dn)
    except (UsageError, NotInScope):
        abort(404)
    except (PolicyRefusal, DirectoryWriteError) as error:
        flash(_refused(error), "error")
        return None
    if fresh is not None:
        console.index.refresh([fresh])
    return result


def _duration(text: str | None) -> Duration | None:
    return Duration(text) if text else None


@blueprint.route("/accounts/<uid>/activate", methods=["POST"])
def activate_page(uid: str) -> Response:
    """NM-5 (with NM-6 when a duration is chosen): at once, by the `activate` action, not a request."""
    form = ActivateForm()
    if not form.validate():
        abort(400)
    found = administrator()
    result = _operate(uid, Operation.ACTIVATE, lambda opened, account, now: activate.activate_account(
        opened.directory, _console().config, opened.audit, now, account.uid, found.uid,
        _duration(form.duration.data)))
    if result is None:
        return redirect(url_for("pages.manage", uid=uid))
    flash(_("Activated: the account can be used now.") if result.changed
          else _("Nothing to change: %(detail)s", detail=result.detail), "success")
    return redirect(url_for("pages.details", uid=uid))


@blueprint.route("/accounts/<uid>/extend", methods=["POST"])
def extend_page(uid: str) -> Response:
    """NM-6: a new expiry date counted from today."""
    form = ExtendForm()
    if not form.validate():
        abort(400)
    found = administrator()
    duration = Duration(form.duration.data or "")
    result = _operate(uid, Operation.EXTEND, lambda opened, account, now: extend.extend_account(
        opened.directory, _console().config, opened.audit, now, account.uid, duration, found.uid))
    if result is None:
        return redirect(url_for("pages.manage", uid=uid))
    flash(_("Extended.") if result.changed else _("Nothing to change: %(detail)s", detail=result.detail),
          "success")
    return redirect(url_for("pages.details", uid=uid))


@blueprint.route("/accounts/<uid>/service-desk", methods=["POST"])
def service_desk_page(uid: str) -> Response:
    """MIS-4: the service desk reactivates a staff leaver, with its ticket."""
    form = ServiceDeskForm()
    if not form.validate():
        abort(400)
    found = administrator()
    ticket = (form.ticket.data or "").strip()
    result = _operate(uid, Operation.SERVICE_DESK, lambda opened, account, now:
                      activate.service_desk_reactivate(opened.directory, _console().config, opened.audit,
                                                       now, account.uid, found.uid, ticket))
    if result is None:
        return redirect(url_for("pages.manage", uid=uid))
    flash(_("Reactivated by the service desk.") if result.changed
          else _("Nothing to change: %(detail)s", detail=result.detail), "success")
    return redirect(url_for("pages.details", uid=uid))


# --- Managing Expiring Accounts (NM-8), Annual review (NM-9) ----------------------------------

@blueprint.route("/expiring")
@requires(_manages)
def expiring() -> str:
    console = _console()
    found = administrator()
    now = console.clock()
    with console.reading() as directory:
        first, last, rows = listings.expiring_accounts(directory, console.config, now)
    today = console.config.policy.today(now)
    visible = [account for account in rows if may(found, Operation.VIEW, account)]
    # C-7: an account whose lifecycle data cannot be read is shown apart, with what is wrong, and
    # cannot be selected for extension: nothing is done to it until its data is corrected.
    return render_template("expiring.html", first=first, last=last,
                           rows=[(account, days_left(account, today)) for account in visible
                                 if not account.problems],
                           unreadable=[account for account in visible if account.problems],
                           weeks=console.config.policy.expiring_weeks)


@blueprint.route("/review")
@requires(_manages)
def review() -> str:
    console = _console()
    found = administrator()
    with console.reading() as directory:
        year_end, rows = listings.review_accounts(directory, console.config, console.clock())
    # NM-9: the accounts whose expiry falls in this academic year (after the last year end).
    year_start = add_months(year_end, -12)
    visible = [account for account in rows if may(found, Operation.VIEW, account)
               and account.expiry_date is not None and year_start < account.expiry_date <= year_end]
    groups: dict[str, list[Account]] = {}
    for account in visible:
        groups.setdefault(account.sponsor or "", []).append(account)
    return render_template("review.html", groups=groups, year_end=year_end)


@blueprint.route("/extend", methods=["POST"])
@requires(_manages)
def bulk_extend() -> Response:
    """NM-6 for every checked row of Managing Expiring Accounts or the annual review (NM-9): one
    extend action per account, each in scope or refused alone."""
    form = BulkExtendForm()
    back = "pages.review" if form.back.data == "review" else "pages.expiring"
    if not form.validate():
        abort(400)
    uids = [uid for uid in request.form.getlist("uid") if uid][:500]
    if not uids:
        flash(_("Choose at least one account."), "error")
        return redirect(url_for(back))
    console = _console()
    found = administrator()
    duration = Duration(form.duration.data or "")
    extended, refused = 0, []
    fresh: list[Account] = []
    with _audited(), console.writing() as opened:
        for uid in uids:
            try:
                account = find_account(opened.directory, uid)
                if account.enabled:
                    require(found, Operation.EXTEND, account)
                    result = extend.extend_account(opened.directory, console.config, opened.audit,
                                                   console.clock(), account.uid, duration, found.uid)
                else:  # NM-5 with NM-6: a disabled account of the review is activated and extended
                    require(found, Operation.ACTIVATE, account)
                    result = activate.activate_account(opened.directory, console.config, opened.audit,
                                                       console.clock(), account.uid, found.uid, duration)
            except (UsageError, NotInScope):
                refused.append(_("%(uid)s: no such account", uid=uid))
                continue
            except (PolicyRefusal, DirectoryWriteError) as error:
                refused.append(f"{uid}: {_refused(error)}")
                continue
            extended += int(result.changed)
            read = opened.directory.read(account.dn)
            if read is not None:
                fresh.append(read)
    console.index.refresh(fresh)
    flash(_("Extended: %(count)d.", count=extended), "success")
    for line in refused:
        flash(line, "error")
    return redirect(url_for(back))


# --- Create a non-MIS account (NM-1, NM-2) ------------------------------------------------------

@blueprint.route("/accounts/new", methods=["GET", "POST"])
@requires(_manages)
def create_page() -> Any:
    console = _console()
    found = administrator()
    form = CreateForm()
    if request.method == "GET":
        form.sponsor.data = found.uid
        form.duration.data = Duration.THREE_MONTHS.value
    error: str | None = None
    duplicate = False
    if request.method == "POST" and form.validate_on_submit():
        try:
            sponsor = sponsor_for_creation(found, form.sponsor.data)
            new = NewAccount(non_mis_type=NonMisType(form.non_mis_type.data or ""),
                             given_name=form.given_name.data or "", surname=form.surname.data or "",
                             mail=form.mail.data or "", sponsor=sponsor,
                             duration=Duration(form.duration.data or ""),
                             role=Role(form.role.data) if form.role.data else None,
                             mis_id=(form.mis_id.data or "").strip() or None)
            with _audited(), console.writing() as opened:
                result = create.create_account(opened.directory, console.config, opened.audit,
                                               console.clock(), new, by=found.uid,
                                               allow_duplicate=bool(form.allow_duplicate.data))
                fresh = opened.directory.read(result.dn)
        except NotInScope as refusal:
            error = str(refusal)
        except (PolicyRefusal, UsageError, DirectoryWriteError) as refusal:
            error = _refused(refusal)
            duplicate = isinstance(refusal, LikelyDuplicate)
        else:
            if fresh is not None:
                console.index.refresh([fresh])
            flash(_("Created %(uid)s.", uid=result.uid), "success")
            return redirect(url_for("pages.details", uid=result.uid))
    status = 422 if request.method == "POST" else 200
    return render_template("create.html", form=form, error=error, duplicate=duplicate,
                           may_choose_sponsor=found.has(
        ConsoleRole.LA_ADMIN), types=[item.value for item in NonMisType]), status


# --- Forecast -----------------------------------------------------------------------------------

@blueprint.route("/forecast")
@requires(_manages)
def forecast() -> str:
    console = _console()
    found = administrator()
    snapshot = console.index.snapshot()
    weeks = snapshot.forecast
    if not found.has(ConsoleRole.LA_ADMIN):  # a school administrator's own accounts only
        weeks = snapshot.memo(("forecast", scope_key(found)), lambda: console_forecast(
            [row for row in snapshot.rows if may(found, Operation.VIEW, row)], snapshot.today,
            console.config.policy.retention_months))
    return render_template("forecast.html", weeks=weeks, svg=chart.forecast_svg(weeks),
                           read_at=snapshot.read_at,
                           rules=sorted({rule for week in weeks for rule in week.disable}))
