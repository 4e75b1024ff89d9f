"""Matching feed people to existing accounts (used by `agent.core.mis.plan`).

Identity: learners are matched by UPN, staff by their staff identifier, each
within its role, so one person never gets two accounts. A learner whose
permanent UPN replaced a temporary one is matched through userIds
`{FormerUPN:...}` and keeps their account (its MIS id is updated). MIS
identifiers that two accounts share, and MIS accounts without a role or an
identifier, are never matched (C-7): each is reported as a `PlanProblem`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.core.dn import DnError, dn_key
from agent.core.mis.feed import FeedPerson
from agent.core.mis.provisioning import PlanProblem
from agent.core.model import Account, Category, Role


def account_key(role: Role, mis_id: str) -> tuple[Role, str]:
    """How MIS identifiers are compared: within a role, without surrounding space, upper case."""
    return role, mis_id.strip().upper()


@dataclass
class AccountIndex:
    """MIS accounts by (role, MIS identifier), with the problems found while indexing (C-7)."""

    by_key: dict[tuple[Role, str], list[Account]]
    problems: list[PlanProblem]

    def matching(self, role: Role, mis_id: str) -> list[Account]:
        return self.by_key.get(account_key(role, mis_id), [])

    def single(self, role: Role, mis_id: str) -> Account | None:
        """The one account with this identifier; None when there is none, or several (C-7)."""
        found = self.matching(role, mis_id)
        return found[0] if len(found) == 1 else None

    def ambiguous(self, role: Role, mis_id: str) -> bool:
        return len(self.matching(role, mis_id)) > 1


def index_accounts(accounts: Iterable[Account]) -> tuple[list[Account], AccountIndex, set[str]]:
    """(the MIS accounts, their index, every uid in use in lower case) of all `accounts`."""
    mis_accounts: list[Account] = []
    by_key: dict[tuple[Role, str], list[Account]] = {}
    problems: list[PlanProblem] = []
    taken_uids: set[str] = set()
    for account in accounts:
        taken_uids.add(account.uid.lower())
        if account.category is not Category.MIS:
            continue
        mis_accounts.append(account)
        if account.role is None or not account.mis_id:
            problems.append(PlanProblem(
                "MIS account without a role or MIS identifier: never matched, never made a leaver (C-7)",
                account.mis_id, account.dn,
            ))
            continue
        by_key.setdefault(account_key(account.role, account.mis_id), []).append(account)
    for (role, mis_id), same in by_key.items():
        if len(same) > 1:
            problems.append(PlanProblem(
                f"{len(same)} {role.value} accounts carry the MIS identifier {mis_id}:"
                f" {', '.join(account.dn for account in same)}; none is changed (C-7)",
                mis_id,
            ))
    return mis_accounts, AccountIndex(by_key, problems), taken_uids


def former_account(
    person: FeedPerson, index: AccountIndex, claimed: set[str], problems: list[PlanProblem]
) -> tuple[Account | None, bool]:
    """A learner's account under an earlier (temporary) UPN, unless another person holds it.

    Returns (account or None, conflict): on a conflict the person is neither matched nor
    created, since a new account could be a second one for the same learner. A matched
    account is added to `claimed` (DNs); a conflict is added to `problems`.
    """
    for former in person.former_mis_ids:
        account = index.single(person.role, former)
        if account is None:
            continue
        if account.dn in claimed:
            problems.append(PlanProblem(
                f"former UPN {former} is the current UPN of another person in the feed;"
                " not matched, not created",
                person.mis_id, account.dn, person.source.file, person.source.row,
            ))
            return None, True
        claimed.add(account.dn)
        return account, False
    return None, False


def national_index(national: Iterable[Account], local: Iterable[Account]) -> AccountIndex:
    """Issue 15: the MIS accounts found in other authorities' subtrees of the national directory,
    by (role, MIS identifier). Entries that are also among the `local` accounts (this authority's,
    read under its base DN) are left out: the local match wins, as it always did."""
    here = {_dn_text(account.dn) for account in local}
    elsewhere = [account for account in national
                 if account.category is Category.MIS and _dn_text(account.dn) not in here]
    _, index, _ = index_accounts(elsewhere)
    return index


def national_matches(person: FeedPerson, index: AccountIndex) -> list[Account]:
    """The accounts of other authorities that carry the person's MIS identifier (or, for a learner,
    a former UPN): one is a transfer (learners) or a flag (staff); several are a C-7 problem."""
    found = index.matching(person.role, person.mis_id)
    if found:
        return found
    for former in person.former_mis_ids:
        found = index.matching(person.role, former)
        if found:
            return found
    return []


def _dn_text(dn: str) -> object:
    try:
        return dn_key(dn)
    except DnError:
        return dn.lower()


__all__ = ["AccountIndex", "account_key", "former_account", "index_accounts", "national_index",
           "national_matches"]
