"""Finding accounts: by uid, and the learners whose mail or MIS id NM-2 protects."""

from __future__ import annotations

import difflib
import heapq

from agent.core import criteria as c
from agent.core.dn import same_dn
from agent.core.errors import DirectoryUnavailable, UsageError
from agent.core.model import Account, Category, Role
from agent.core.policy import LearnerIdentities
from agent.directory.gateway import Directory

REQUEST_FIELDS = ("activation_requested_at", "activation_requested_by", "activation_duration")


def find_account(directory: Directory, uid: str) -> Account:
    """The one account with this uid (UsageError, exit 2, when none or several)."""
    found = directory.find("uid", uid)
    if not found:
        close = close_uids(directory, uid)
        raise UsageError(f"no account with uid {uid!r} under {directory.base_dn}"
                         + (f"; did you mean {', '.join(close)}?" if close else ""))
    if len(found) > 1:
        raise UsageError(f"uid {uid!r} is ambiguous: {', '.join(a.dn for a in found)}")
    return found[0]


# How alike a uid must be to the one asked for to be suggested (difflib's ratio; its own default).
CLOSE_CUTOFF = 0.6


def close_uids(directory: Directory, uid: str, limit: int = 3) -> list[str]:
    """Up to `limit` uids of accounts most like `uid` (case-insensitively), best first: for "did you
    mean" when a uid is not found. One paged read of the uid attribute only, kept `limit` at a time
    (difflib's measure, as difflib.get_close_matches, without holding every uid); [] if unreadable."""
    attribute = directory.mapper.attribute("uid")
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(uid.lower())
    best: list[tuple[float, str]] = []
    try:
        for _, raw in directory.search(directory.account_filter(), [attribute]):
            for name, values in raw.items():
                if name.lower() != attribute.lower():
                    continue
                for value in values:
                    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
                    matcher.set_seq1(text.lower())
                    if (matcher.real_quick_ratio() >= CLOSE_CUTOFF and matcher.quick_ratio() >= CLOSE_CUTOFF
                            and (ratio := matcher.ratio()) >= CLOSE_CUTOFF):
                        item = (ratio, text)
                        if len(best) < limit:
                            heapq.heappush(best, item)
                        elif item > best[0]:
                            heapq.heapreplace(best, item)
    except DirectoryUnavailable:
        return []  # the suggestion is a courtesy: the answer is still "no such uid"
    return [text for _, text in sorted(best, key=lambda item: (-item[0], item[1]))]


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


# Learner identities are looked up this many values to a filter.
IDENTITY_BATCH = 100


def learner_identities(directory: Directory) -> LearnerIdentities:
    """NM-2: mails and MIS ids carried both by enabled non-MIS accounts and by learners."""
    mails: set[str] = set()
    mis_ids: set[str] = set()
    enabled_non_mis = c.all_of(c.Equals("category", Category.NON_MIS.value), c.IsEnabled(True))
    for account in directory.accounts(enabled_non_mis, fields=("mail", "mis_id")):
        if account.mail:
            mails.add(account.mail.lower())
        if account.mis_id:
            mis_ids.add(account.mis_id)
    shared_mails: set[str] = set()
    shared_ids: set[str] = set()
    wanted = [("mail", value) for value in sorted(mails)] + [("mis_id", value) for value in sorted(mis_ids)]
    learners = c.all_of(c.Equals("category", Category.MIS.value), c.Equals("role", Role.LEARNER.value))
    for start in range(0, len(wanted), IDENTITY_BATCH):
        batch = wanted[start:start + IDENTITY_BATCH]
        criterion = c.all_of(learners, c.any_of(*(c.Equals(name, value) for name, value in batch)))
        for learner in directory.accounts(criterion, fields=("mail", "mis_id", "role")):
            if learner.mail and learner.mail.lower() in mails:
                shared_mails.add(learner.mail.lower())
            if learner.mis_id and learner.mis_id in mis_ids:
                shared_ids.add(learner.mis_id)
    return LearnerIdentities(frozenset(shared_mails), frozenset(shared_ids))
