"""The administrator operations (NM-1, NM-5, NM-6, NM-8, NM-9, MIS-4, C-1) against a directory.

Each operation takes (directory, config, audit, now, ...), reads what it needs,
asks the pure rules in `agent.core.operations` for a verdict, and then either writes
the approved change as ONE add or ONE modify (C-4) or raises `PolicyRefusal`
(exit code 3). Both outcomes are audited (C-6) with the actor given by `--by`
recorded verbatim; a refusal changes nothing.

Choices the policy leaves open (documented here and in the closing note):

- New non-MIS accounts go under `accounts.ou` (relative to the base DN) with a
  uid from `accounts.uid_template` (default ``{given}.{surname}``, folded to
  lower-case ASCII); a uid already carried by any entry under the base DN gets
  2, 3, ... appended.
- An extension that would shorten the expiry date is refused unless
  `--allow-shorten`; an activation with such a duration is refused (activate
  without `--duration` keeps the later date).
- Activation requests (C-1) are honoured or refused by the same rules as
  `activate`; the request attributes are cleared in the same modify, a refusal
  is written to `hwbActivationRefusal` (time, rule, message) for the portal.
  A protected account's request (C-2) is left in place, untouched.
- Operations refused by the policy are audited too (event `operation_refused`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from agent.actions.audit import AuditTrail
from agent.core import changes
from agent.core import criteria as c
from agent.core.changes import Change
from agent.core.dn import same_dn
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError, PolicyRefusal, UsageError
from agent.core.model import Account, Category, Duration, Role
from agent.core.operations import (
    Approved,
    NewAccount,
    Refused,
    Verdict,
    days_left,
    decide_activation,
    decide_creation,
    decide_extension,
    decide_service_desk,
    expiring_window,
    is_expiring,
    review_year_end,
)
from agent.core.uid_scheme import uid_candidates
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.accounts import AccountSettings
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.admin")

REQUEST_FIELDS = ("activation_requested_at", "activation_requested_by", "activation_duration")


# --- reading -------------------------------------------------------------------------------------


def find_account(directory: Directory, uid: str) -> Account:
    """The one account with this uid (UsageError, exit 2, when none or several)."""
    found = directory.find("uid", uid)
    if not found:
        raise UsageError(f"no account with uid {uid!r} under {directory.base_dn}")
    if len(found) > 1:
        raise UsageError(f"uid {uid!r} is ambiguous: {', '.join(a.dn for a in found)}")
    return found[0]


def learner_identity(directory: Directory, mail: str | None, mis_id: str | None,
                     exclude_dn: str | None = None) -> str | None:
    """NM-2: which learner's MIS account carries this mail or identifier, in words (None: none)."""
    wanted = [c.Equals("mail", mail)] if mail else []
    wanted += [c.Equals("mis_id", mis_id)] if mis_id else []
    if not wanted:
        return None
    learners = c.all_of(c.Equals("category", Category.MIS.value), c.Equals("role", Role.LEARNER.value),
                        c.any_of(*wanted))
    for learner in directory.accounts(learners, fields=("mail", "mis_id", "role")):
        if exclude_dn and same_dn(learner.dn, exclude_dn):
            continue
        # Check again here: the server's matching rules decide what the filter matched.
        if mail and learner.mail and learner.mail.lower() == mail.lower():
            return f"the mail {mail} belongs to the learner account {learner.uid}"
        if mis_id and learner.mis_id == mis_id:
            return f"the identifier {mis_id} belongs to the learner account {learner.uid}"
    return None


def _identity_of(directory: Directory, account: Account) -> str | None:
    if account.category is not Category.NON_MIS:
        return None
    return learner_identity(directory, account.mail, account.mis_id, exclude_dn=account.dn)


# --- results and audit -------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What an operation did: the account, the rule, words, and the audited values."""

    uid: str
    dn: str
    rule: str
    detail: str
    changed: bool
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    event: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "dn": self.dn, "rule": self.rule, "changed": self.changed,
                "detail": self.detail, "before": self.before, "after": self.after}


def _refuse(audit: AuditTrail, refusal: Refused, *, operation: str, account: Account | None,
            actor: str, now: datetime, **extra: Any) -> PolicyRefusal:
    """Audit a refused operation and return the exception to raise (exit code 3)."""
    audit.record(event="operation_refused", dn=account.dn if account else "",
                 uid=account.uid if account else "", rule=refusal.rule, actor=actor,
                 before={}, after={}, detail=refusal.message, now=now, operation=operation, **extra)
    return PolicyRefusal(f"refused ({refusal.rule}): {refusal.message}")


def _apply(directory: Directory, audit: AuditTrail, account: Account, change: Change, *,
           event: str, rule: str, actor: str, detail: str, now: datetime, **extra: Any) -> Result:
    """Write one change in one modify (C-4), then audit it (C-6)."""
    directory.write_change(account, change)
    before, after = changes.before_after(account, change)
    audit.record(event=event, dn=account.dn, uid=account.uid, rule=rule, actor=actor,
                 before=before, after=after, detail=detail, now=now, **extra)
    return Result(account.uid, account.dn, rule, detail, True, before, after, event)


def _approved_change(account: Account, verdict: Approved, now: datetime, *, by: str,
                     ticket: str | None = None, extra: dict[str, Any] | None = None) -> Change:
    fields: dict[str, Any] = dict(extra or {})
    if verdict.expiry_date is not None:
        fields["expiry_date"] = verdict.expiry_date
        fields["duration"] = verdict.duration.value if verdict.duration else None
    if verdict.enable:
        return changes.enable(account, now, by=by, ticket=ticket, extra=fields)
    return Change(None, fields)


def _request_clearing(account: Account) -> dict[str, Any]:
    """C-1: a pending request is cleared by the change that answers it."""
    if account.activation_request is None:
        return {}
    return {name: None for name in REQUEST_FIELDS}


def _need(value: str | None, option: str) -> str:
    if value is None or not value.strip():
        raise UsageError(f"{option} must not be empty")
    return value


# --- NM-1, NM-2: create ------------------------------------------------------------------------


def create_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                   request: NewAccount, *, by: str | None = None) -> Result:
    """Add a new, enabled non-MIS account with all its lifecycle attributes in one add."""
    for value, option in ((request.given_name, "--given-name"), (request.surname, "--surname"),
                          (request.mail, "--mail"), (request.sponsor, "--sponsor")):
        _need(value, option)
    mail = request.mail.strip()
    if " " in mail or mail.count("@") != 1 or mail.startswith("@") or mail.endswith("@"):
        raise UsageError(f"--mail: not a mail address: {request.mail!r}")
    actor = by or request.sponsor
    identity = learner_identity(directory, mail, request.mis_id)
    verdict = decide_creation(request, now, config.policy, identity)
    if isinstance(verdict, Refused):
        raise _refuse(audit, verdict, operation="create", account=None, actor=actor, now=now,
                      mail=mail, mis_id=request.mis_id)

    settings = config.accounts
    parent = f"{settings.ou},{directory.base_dn}" if settings.ou else directory.base_dn
    uid = _free_uid(directory, settings, request)
    fields: dict[str, Any] = {
        "uid": uid,
        "given_name": request.given_name.strip(),
        "surname": request.surname.strip(),
        "display_name": f"{request.given_name.strip()} {request.surname.strip()}",
        "mail": mail,
        "category": Category.NON_MIS.value,
        "non_mis_type": request.non_mis_type.value,
        "role": request.role.value if request.role else None,
        "mis_id": request.mis_id,
        "local_authority": config.local_authority.code,
        "sponsor": request.sponsor.strip(),
        "duration": request.duration.value,
        "expiry_date": verdict.expiry_date,
    }
    if directory.settings.is_mock:
        # The embedded mock keeps no operational attributes; a real server sets
        # createTimestamp / whenCreated itself (and refuses a client's value).
        fields["created_at"] = now
    dn, classes, attributes = directory.new_account(
        uid, parent, fields, object_classes=settings.object_classes, rdn_attribute=settings.rdn_attribute)
    directory.add(dn, classes, attributes)
    after = {name: (value.isoformat() if isinstance(value, date | datetime) else value)
             for name, value in fields.items() if value is not None}
    after["enabled"] = True
    audit.record(event="account_created", dn=dn, uid=uid, rule="NM-1", actor=actor,
                 before={"exists": False}, after=after, detail=verdict.detail, now=now)
    return Result(uid, dn, "NM-1", verdict.detail, True, {"exists": False}, after, "account_created")


def _free_uid(directory: Directory, settings: AccountSettings, request: NewAccount) -> str:
    # Active Directory's sAMAccountName holds 20 characters (uid_part already keeps only a-z 0-9
    # . - _, none of AD's forbidden " / \\ [ ] : ; | = , + * ? < >), and must not end in a dot.
    flavour_limit = directory.flavour.uid_max_length
    max_length = min(settings.uid_max_length, flavour_limit or settings.uid_max_length)
    try:
        candidates = uid_candidates(settings.uid_template, request, max_length)
        for candidate in candidates:
            if not directory.value_taken("uid", candidate):
                return candidate
    except ValueError as error:
        raise UsageError(f"{error}; check accounts.uid_template") from None
    raise UsageError("no free uid left for this name")  # pragma: no cover - 10,000 namesakes


# --- NM-6: extend ------------------------------------------------------------------------------


def extend_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                   uid: str, duration: Duration, by: str, *, allow_shorten: bool = False) -> Result:
    """NM-6: a new expiry date counted from today (never shorter unless `allow_shorten`)."""
    _need(by, "--by")
    account = find_account(directory, uid)
    verdict = decide_extension(account, duration, now, config.policy, allow_shorten=allow_shorten,
                               learner_identity=_identity_of(directory, account))
    if isinstance(verdict, Refused):
        raise _refuse(audit, verdict, operation="extend", account=account, actor=by, now=now,
                      duration=duration.value)
    if not verdict.changes:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = _approved_change(account, verdict, now, by=by)
    return _apply(directory, audit, account, change, event="account_extended", rule=verdict.rule,
                  actor=by, detail=verdict.detail, now=now)


@dataclass(frozen=True)
class ExtensionLine:
    line: int
    uid: str
    duration: Duration


def read_extension_file(path: Path, default: Duration | None = None) -> list[ExtensionLine]:
    """NM-9 bulk extension: a CSV with a header naming `uid` and `duration` (other columns ignored).

    The CSV of `review --csv` fits once its `duration` column says what each
    account needs; rows with an empty duration take `default`. Lines starting
    with '#' are comments. Every fault is reported together (UsageError, exit 2).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"cannot read {str(path)!r}: {error.strerror}") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "uid" not in header:
        raise UsageError(f"{path}: the first line must name the columns, with at least uid and duration")
    reader.fieldnames = header
    entries: list[ExtensionLine] = []
    problems: list[str] = []
    for number, row in enumerate(reader, start=2):
        uid = (row.get("uid") or "").strip()
        text_duration = (row.get("duration") or "").strip().lower()
        if not uid:
            problems.append(f"{path}, row {number}: no uid")
            continue
        if not text_duration and default is None:
            problems.append(f"{path}, row {number} ({uid}): no duration (give one or use --duration)")
            continue
        try:
            duration = Duration(text_duration) if text_duration else default
        except ValueError:
            problems.append(f"{path}, row {number} ({uid}): duration {text_duration!r} is not one of"
                            " 1m, 3m, 6m, eoy")
            continue
        assert duration is not None
        entries.append(ExtensionLine(number, uid, duration))
    if problems:
        raise UsageError("nothing extended:\n  " + "\n  ".join(problems))
    return entries


@dataclass
class BulkOutcome:
    line: int
    uid: str
    duration: str
    outcome: str  # extended / unchanged / refused / error
    detail: str


def extend_from_file(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                     path: Path, by: str, *, default: Duration | None = None,
                     allow_shorten: bool = False) -> list[BulkOutcome]:
    """Extend every account of the file; a refusal or unknown uid stops only its own row."""
    _need(by, "--by")
    outcomes = []
    for entry in read_extension_file(path, default):
        try:
            result = extend_account(directory, config, audit, now, entry.uid, entry.duration, by,
                                    allow_shorten=allow_shorten)
        except PolicyRefusal as error:
            outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, "refused", str(error)))
            continue
        except (UsageError, DirectoryWriteError) as error:
            outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, "error", str(error)))
            continue
        outcome = "extended" if result.changed else "unchanged"
        outcomes.append(BulkOutcome(entry.line, entry.uid, entry.duration.value, outcome,
                                    f"{result.detail} [{result.rule}]"))
    return outcomes


# --- NM-5: activate; MIS-4: service desk -------------------------------------------------------


def activate_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                     uid: str, by: str, duration: Duration | None = None) -> Result:
    """NM-5: enable a disabled non-MIS account at once (with `duration`: extend it in the same modify)."""
    _need(by, "--by")
    account = find_account(directory, uid)
    verdict = decide_activation(account, now, config.policy, duration,
                                learner_identity=_identity_of(directory, account))
    if isinstance(verdict, Refused):
        raise _refuse(audit, verdict, operation="activate", account=account, actor=by, now=now,
                      duration=duration.value if duration else None)
    clearing = _request_clearing(account)
    if not verdict.changes and not clearing:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = _approved_change(account, verdict, now, by=by, extra=clearing)
    if verdict.enable:
        event = "account_reactivated"
    else:
        event = "account_extended" if verdict.changes else "activation_request_cleared"
    return _apply(directory, audit, account, change, event=event, rule=verdict.rule, actor=by,
                  detail=verdict.detail, now=now)


def service_desk_reactivate(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                            uid: str, by: str, ticket: str) -> Result:
    """MIS-4: the service desk enables a staff leaver's account, recording who and the ticket."""
    _need(by, "--by")
    _need(ticket, "--ticket")
    account = find_account(directory, uid)
    verdict = decide_service_desk(account, now, config.policy)
    if isinstance(verdict, Refused):
        raise _refuse(audit, verdict, operation="service-desk-reactivate", account=account, actor=by,
                      now=now, ticket=ticket)
    if not verdict.changes:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = _approved_change(account, verdict, now, by=by, ticket=ticket,
                              extra=_request_clearing(account))
    return _apply(directory, audit, account, change, event="account_reactivated", rule=verdict.rule,
                  actor=by, detail=verdict.detail, now=now, ticket=ticket)


# --- C-1: activation requests --------------------------------------------------------------------


@dataclass
class RequestSummary:
    """What one pass over the pending activation requests did (C-1)."""

    dry_run: bool = False
    found: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    @property
    def counts(self) -> dict[str, int]:
        tally = {"found": self.found, "activated": 0, "extended": 0, "refused": 0, "unchanged": 0,
                 "skipped": 0, "errors": 0}
        for row in self.rows:
            tally[row["outcome"]] = tally.get(row["outcome"], 0) + 1
        return tally

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "found": self.found, "requests": self.rows,
                "counts": self.counts, "stopped": self.stopped}


def pending_requests(directory: Directory) -> Iterator[Account]:
    """Accounts carrying an activation request: one search on an indexed attribute."""
    return directory.accounts(c.Present("activation_requested_at"))


def honour_activation_requests(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                               should_stop: Callable[[], bool] = lambda: False, *,
                               dry_run: bool = False) -> RequestSummary:
    """C-1: answer every pending request by the rules of `activate`, clearing it in the same modify.

    The fast path of the service (`run`, every `schedule.activation_poll_seconds`):
    with nothing pending it costs one search. A refusal clears the request too and
    writes its reason to the `activation_refusal` attribute for the portal.
    """
    summary = RequestSummary(dry_run=dry_run)
    for account in list(pending_requests(directory)):
        summary.found += 1
        if should_stop():
            summary.stopped = True
            break
        row = _honour_one(directory, config, audit, now, account, dry_run)
        summary.rows.append(row)
    if summary.found:
        log.info("activation_requests", **summary.counts, dry_run=dry_run)
    return summary


def _honour_one(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                account: Account, dry_run: bool) -> dict[str, Any]:
    request = account.activation_request
    assert request is not None
    actor = request.requested_by
    row: dict[str, Any] = {
        "dn": account.dn, "uid": account.uid, "requested_by": actor,
        "requested_at": request.requested_at.isoformat() if request.requested_at else None,
        "duration": request.duration.value if request.duration else None,
    }
    if config.policy.is_protected(account):
        # C-2: not even the request is touched; it is reported on every pass.
        row.update(outcome="skipped", rule="C-2", detail="protected account: request left untouched")
        log.warning("activation_request_on_protected_account", dn=account.dn, uid=account.uid)
        return row
    verdict: Verdict
    if account.problems and any(p.attribute == directory.mapper.attribute("activation_duration")
                                for p in account.problems):
        verdict = Refused("C-1", "the requested duration is not one of 1m, 3m, 6m, eoy")
    else:
        verdict = decide_activation(account, now, config.policy, request.duration,
                                    learner_identity=_identity_of(directory, account))
    clearing = _request_clearing(account)
    requested = {"requested_by": actor, "requested_at": row["requested_at"], "duration": row["duration"]}
    try:
        if isinstance(verdict, Refused):
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            row.update(outcome="refused", rule=verdict.rule, detail=verdict.message)
            if dry_run:
                return row
            refusal = f"{stamp} {verdict.rule}: {verdict.message}"
            change = Change(None, {**clearing, "activation_refusal": refusal})
            _write_then_audit(directory, audit, account, change, dict(
                event="activation_request_refused", dn=account.dn, uid=account.uid,
                rule=verdict.rule, actor=actor, before={"activation_request": requested},
                after={"activation_request": None, "activation_refusal": refusal},
                detail=verdict.message, now=now, request=requested))
            return row
        outcome = "activated" if verdict.enable else ("extended" if verdict.changes else "unchanged")
        row.update(outcome=outcome, rule=verdict.rule, detail=verdict.detail)
        if dry_run:
            return row
        change = _approved_change(account, verdict, now, by=actor,
                                  extra={**clearing, "activation_refusal": None})
        before, after = changes.before_after(account, change)
        _write_then_audit(directory, audit, account, change, dict(
            event="activation_request_honoured", dn=account.dn, uid=account.uid,
            rule="C-1", actor=actor, before=before, after=after,
            detail=f"{verdict.detail} [{verdict.rule}]", now=now, request=requested))
    except DirectoryWriteError as error:
        row.update(outcome="errors", detail=str(error))
    return row


def _write_then_audit(directory: Directory, audit: AuditTrail, account: Account, change: Change,
                      record: dict[str, Any]) -> None:
    """One modify, then its audit record; a reply lost with the connection is reported as
    UnconfirmedWrite, so that the service audits the change once it sees it applied (C-6)."""
    try:
        directory.write_change(account, change)
    except DirectoryUnavailable as error:
        raise changes.UnconfirmedWrite(str(error), changes.Unconfirmed(account.dn, change, record)) from error
    audit.record(**record)


# --- NM-8: expiring; NM-9: review ------------------------------------------------------------------


def _non_mis(sponsor: str | None, *extra: c.Criterion) -> c.Criterion:
    parts: list[c.Criterion] = [c.Equals("category", Category.NON_MIS.value), *extra]
    if sponsor:
        parts.append(c.Equals("sponsor", sponsor))
    return c.all_of(*parts)


def expiring_accounts(directory: Directory, config: Config, now: datetime, *, weeks: int | None = None,
                      sponsor: str | None = None) -> tuple[date, date, list[Account]]:
    """NM-8: enabled non-MIS accounts expiring from today to today + `weeks` weeks, soonest first."""
    first, last = expiring_window(now, config.policy, weeks)
    criterion = _non_mis(sponsor, c.IsEnabled(True), c.AtMost("expiry_date", last),
                         c.Not(c.AtMost("expiry_date", date.fromordinal(first.toordinal() - 1))))
    # Check again in Python: the mock drops bit-flag filters (AD) and the server's date bound is wide.
    found = [account for account in directory.accounts(criterion)
             if is_expiring(account, first, last)
             and (not sponsor or (account.sponsor or "").lower() == sponsor.lower())]
    found.sort(key=lambda account: (account.expiry_date, account.uid.lower()))
    return first, last, found


def review_accounts(directory: Directory, config: Config, now: datetime, *, sponsor: str | None = None
                    ) -> tuple[date, list[Account]]:
    """NM-9: every non-MIS account (of `sponsor`), by sponsor then expiry date."""
    year_end = review_year_end(now, config.policy)
    found = [account for account in directory.accounts(_non_mis(sponsor))
             if account.category is Category.NON_MIS
             and (not sponsor or (account.sponsor or "").lower() == sponsor.lower())]
    found.sort(key=lambda account: ((account.sponsor or "").lower(), account.expiry_date or date.max,
                                    account.uid.lower()))
    return year_end, found


__all__ = [
    "AccountSettings",
    "RequestSummary",
    "Result",
    "activate_account",
    "create_account",
    "days_left",
    "expiring_accounts",
    "extend_account",
    "extend_from_file",
    "find_account",
    "honour_activation_requests",
    "review_accounts",
    "service_desk_reactivate",
]
