"""Finding accounts for the administrator operations: by uid, and the learners that NM-2 protects."""

from __future__ import annotations

from agent.core import criteria as c
from agent.core.dn import same_dn
from agent.core.errors import UsageError
from agent.core.model import Account, Category, Role
from agent.directory.gateway import Directory

REQUEST_FIELDS = ("activation_requested_at", "activation_requested_by", "activation_duration")


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


def identity_of(directory: Directory, account: Account) -> str | None:
    if account.category is not Category.NON_MIS:
        return None
    return learner_identity(directory, account.mail, account.mis_id, exclude_dn=account.dn)
