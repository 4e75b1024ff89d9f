"""NM-1, NM-2: a new non-MIS account, enabled, with all its lifecycle attributes in one add."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.lookup import learner_identity
from agent.actions.outcome import Result, need, refuse
from agent.core import criteria as c
from agent.core.changes import ADD_DATA
from agent.core.errors import DirectoryWriteError, LikelyDuplicate, UsageError
from agent.core.model import Category
from agent.core.operations import (
    NewAccount,
    Refused,
    decide_creation,
)
from agent.core.records import AuditRecord
from agent.core.uid_scheme import uid_candidates
from agent.directory.gateway import Directory
from agent.settings.accounts import AccountSettings
from agent.settings.config import Config


def create_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                   request: NewAccount, *, by: str | None = None, allow_duplicate: bool = False) -> Result:
    """Add a new, enabled non-MIS account with all its lifecycle attributes in one add.

    Refused (NM-1) when the mail belongs to an MIS account, and when an account with the same
    mail, or the same name under the same sponsor, already exists unless `allow_duplicate`."""
    for value, option in ((request.given_name, "--given-name"), (request.surname, "--surname"),
                          (request.mail, "--mail"), (request.sponsor, "--sponsor")):
        need(value, option)
    mail = request.mail.strip()
    if " " in mail or mail.count("@") != 1 or mail.startswith("@") or mail.endswith("@"):
        raise UsageError(f"--mail: not a mail address: {request.mail!r}")
    actor = by or request.sponsor
    identity = learner_identity(directory, mail, request.mis_id)
    verdict = decide_creation(request, now, config.policy, identity)
    if isinstance(verdict, Refused):
        raise refuse(audit, verdict, operation="create", account=None, actor=actor, now=now,
                      mail=mail, mis_id=request.mis_id)
    duplicate = likely_duplicate(directory, request, mail, allow_duplicate=allow_duplicate)
    if duplicate:
        raise refuse(audit, duplicate, operation="create", account=None, actor=actor, now=now,
                     error=LikelyDuplicate, mail=mail, mis_id=request.mis_id)

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
    after = {name: (value.isoformat() if isinstance(value, date | datetime) else value)
             for name, value in fields.items() if value is not None}
    after["enabled"] = True
    record = audit.intend(AuditRecord(event="account_created", dn=dn, uid=uid, rule="NM-1", actor=actor,
                                      before={"exists": False}, after=after, detail=verdict.detail,
                                      time=now), ADD_DATA)  # write-ahead (issue 11)
    try:
        directory.add(dn, classes, attributes)
    except DirectoryWriteError as error:
        audit.not_applied(record, str(error))
        raise
    audit.write(record)
    return Result(uid, dn, "NM-1", verdict.detail, True, {"exists": False}, after, "account_created")


def likely_duplicate(directory: Directory, request: NewAccount, mail: str, *,
                     allow_duplicate: bool = False) -> Refused | None:
    """NM-1: an MIS account that carries this mail (always refused), or a likely duplicate: an
    account with the same mail (any case), or the same given name and surname under the same
    sponsor (refused unless `allow_duplicate`). None when the request may go ahead."""
    given, surname, sponsor = (request.given_name.strip(), request.surname.strip(),
                               request.sponsor.strip())
    same_name = c.all_of(c.Equals("given_name", given), c.Equals("surname", surname),
                         c.Equals("sponsor", sponsor))
    wanted = c.any_of(c.Equals("mail", mail), same_name)
    duplicates: list[str] = []
    for account in directory.accounts(wanted, fields=("mail", "category", "given_name", "surname",
                                                      "sponsor", "role")):
        # Check again here: the server's matching rules decide what the filter matched.
        same_mail = account.mail is not None and account.mail.strip().lower() == mail.lower()
        if same_mail and account.category is Category.MIS:
            return Refused("NM-1", f"the mail {mail} belongs to the MIS account {account.uid}:"
                                   " a person with an MIS account uses that account")
        if same_mail:
            duplicates.append(f"{account.uid} has the mail {account.mail}")
        elif (_same(account.given_name, given) and _same(account.surname, surname)
              and _same(account.sponsor, sponsor)):
            duplicates.append(f"{account.uid} is {given} {surname}, sponsored by {sponsor}")
    if not duplicates or allow_duplicate:
        return None
    return Refused("NM-1", "likely duplicate: " + "; ".join(sorted(duplicates)) +
                   " (extend or activate that account instead)")


def _same(value: str | None, wanted: str) -> bool:
    return value is not None and value.strip().casefold() == wanted.casefold()


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
