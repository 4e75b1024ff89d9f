"""The lifecycle policy rules as data: id, title, text and group of each rule.

The same rules, in the same order and words, as `docs/POLICY.md` (where the
source text, `docs/seed-hwb-account-lifecycle.txt`, wins). `tests/core/test_rules.py`
fails if this module and that page drift apart, and if any module under `agent/`
cites a rule id that is not here.

Pure data and pure functions: no I/O, no clock, nothing imported from the rest
of the agent.
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass

MIS_ACCOUNTS = "MIS accounts"
NON_MIS_ACCOUNTS = "Non-MIS accounts"
EVERY_ACCOUNT = "For every account"

#: The groups of rules, in document order (the headings of `docs/POLICY.md`).
GROUPS: tuple[str, ...] = (MIS_ACCOUNTS, NON_MIS_ACCOUNTS, EVERY_ACCOUNT)


@dataclass(frozen=True)
class Rule:
    """One numbered rule of the policy: `id` such as "NM-4", its title and its text."""

    id: str
    title: str
    text: str
    group: str


#: Every rule, in document order.
RULES: tuple[Rule, ...] = (
    Rule(
        id="MIS-1",
        title="Active while current",
        text=(
            "An MIS account stays enabled for as long as its MIS record is current: no leaving "
            "date, or a leaving date after today."
        ),
        group=MIS_ACCOUNTS,
    ),
    Rule(
        id="MIS-2",
        title="Leaver",
        text=(
            "When the leaving date is today or earlier, the account is disabled (reason left). A "
            "leaving date in the future changes nothing yet. An account that the service desk "
            "reactivated after that leaving date is not disabled again for the same leaving date; a "
            "later leaving date disables it again."
        ),
        group=MIS_ACCOUNTS,
    ),
    Rule(
        id="MIS-3",
        title="Learner moves school",
        text=(
            "A learner's account that was disabled as a leaver is enabled again automatically as "
            "soon as the MIS record is current again (the learner enrolled at another maintained "
            "school in Wales, or the leaving date was withdrawn). The account keeps its identity; "
            "its school changes to the new one."
        ),
        group=MIS_ACCOUNTS,
    ),
    Rule(
        id="MIS-4",
        title="Staff need the service desk",
        text=(
            "A staff account disabled as a leaver is never enabled automatically, even when the MIS "
            "record becomes current again; the agent reports it as waiting for the service desk. "
            "Only a service desk reactivation enables it, and that reactivation is recorded with "
            "who did it and their ticket reference."
        ),
        group=MIS_ACCOUNTS,
    ),
    Rule(
        id="MIS-5",
        title="Purge after 12 months",
        text=(
            "An MIS account still disabled as a leaver 12 months after its leaving date, and not "
            "reactivated since, is purged with all its content."
        ),
        group=MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-1",
        title="Creation",
        text=(
            "Only an administrator creates a non-MIS account, of one of the types above, with a "
            "sponsor and a duration: 1 month, 3 months, 6 months or end of academic year. The "
            "expiry date is today plus the duration (or the academic year end)."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-2",
        title="No learners",
        text=(
            "Learners must not have a non-MIS account: creating one for a learner (role learner, or "
            "an identifier or mail that belongs to a learner's MIS account) is refused with a clear "
            "error; an existing non-MIS account found to be a learner's is disabled (reason policy) "
            "and reported."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-3",
        title="Expiry",
        text=(
            "A non-MIS account not extended past its expiry date is disabled (reason expired) once "
            "its expiry date has passed (the expiry date is the last day it can be used)."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-4",
        title="Inactivity",
        text=(
            "A non-MIS account with no sign-in during the last 90 days is disabled for security "
            "(reason inactive). The 90 days count from the latest of: last sign-in, last "
            "reactivation, creation. So a new account that is never used is disabled 90 days after "
            "creation, and a reactivated account gets a fresh 90 days."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-5",
        title="Reactivation",
        text=(
            "An administrator can reactivate a non-MIS account at any time. Reactivation does not "
            "change the expiry date. An account whose expiry date has passed can only be "
            "reactivated together with an extension (otherwise NM-3 would disable it again at "
            "once): refuse with a clear error that says so."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-6",
        title="Extension",
        text=(
            "An administrator extends an account by choosing a duration again; the new expiry date "
            "is counted from today. An extension never shortens an expiry date silently."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-7",
        title="Purge after 12 months",
        text=(
            "A non-MIS account still disabled 12 months after it was disabled, and not reactivated "
            "since, is purged with all its content."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-8",
        title="Expiring accounts",
        text=(
            "Administrators see a banner with the number of their accounts due to expire, and a "
            "list of all accounts due to expire in the next 8 weeks (expiry date from today to "
            "today + 8 weeks), each with its sponsor, expiry date and a way to extend it."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="NM-9",
        title="Annual review",
        text=(
            "At the end of each academic year administrators review all non-MIS accounts they "
            "sponsor and extend those needed next year; a review listing per sponsor and a bulk "
            "extension support this."
        ),
        group=NON_MIS_ACCOUNTS,
    ),
    Rule(
        id="C-1",
        title="Activation requests",
        text=(
            "Administrators ask for an activation by listing a local authority's inactive non-MIS "
            "accounts (Active = N), viewing one, and activating it. In Hwb the account becomes "
            "active after 30 minutes; this agent aims for one minute. A request written to the "
            "directory by another tool (a portal) is honoured on the same rules as the command "
            "line."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-2",
        title="Protected accounts",
        text=(
            "Accounts listed as protected in the configuration (break-glass administrators, the "
            "agent's own account) are never changed."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-3",
        title="Scope",
        text="The agent changes nothing outside its local authority's base DN.",
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-4",
        title="Atomic changes",
        text=(
            "One change to an account is one LDAP modify that sets the new state, its reason and "
            "its time together; a crash leaves every account either before or after the change, "
            "never between."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-5",
        title="Idempotence",
        text="A second sweep with nothing new in the directory makes no write at all.",
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-6",
        title="Audit",
        text=(
            "Every change records the account, the rule id, the actor (the agent, an administrator, "
            "the service desk), the values before and after, and the time."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-7",
        title="Bad data is never acted on",
        text=(
            "An account whose lifecycle attributes cannot be read (an unparsable date, an unknown "
            "type) is left unchanged and reported with the attribute and value at fault."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-8",
        title="Mass-change guard",
        text=(
            "A sweep that would disable or purge more accounts than the configured limits (absolute "
            "and as a share of the directory) makes none of those changes and raises an alert, "
            "until an operator confirms that run. A truncated MIS feed must not turn a school's "
            "learners into leavers."
        ),
        group=EVERY_ACCOUNT,
    ),
    Rule(
        id="C-9",
        title="Only its own disables are undone",
        text=(
            "The agent enables an account only under MIS-3 or on a reactivation (NM-5, MIS-4, C-1); "
            "it never enables an account that someone else disabled for a reason it does not own."
        ),
        group=EVERY_ACCOUNT,
    ),
)

_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


class UnknownRuleError(KeyError):
    """A rule id that is not in `RULES`; the message names the close matches, if any."""

    def __init__(self, rule_id: str, suggestions: list[str]) -> None:
        if suggestions:
            message = f"unknown rule id {rule_id!r}; did you mean {', '.join(suggestions)}?"
        else:
            message = f"unknown rule id {rule_id!r}; rule ids are {', '.join(_BY_ID)}"
        super().__init__(message)
        self.rule_id = rule_id
        self.suggestions = suggestions
        self.message = message

    def __str__(self) -> str:
        # KeyError's own __str__ would show the repr of the message (quoted).
        return self.message


def rule(rule_id: str) -> Rule:
    """The rule with this id, case-insensitively ("nm-4" is NM-4).

    Raises `UnknownRuleError` (a `KeyError`) for an unknown id; its message lists
    the close matches ("NM4": did you mean NM-4?).
    """
    key = rule_id.strip().upper()
    found = _BY_ID.get(key)
    if found is not None:
        return found
    suggestions = difflib.get_close_matches(key, list(_BY_ID), n=3, cutoff=0.6)
    raise UnknownRuleError(rule_id, suggestions)


def rules_in_group(group: str) -> tuple[Rule, ...]:
    """The rules of one group (one of `GROUPS`), in document order; `KeyError` if no such group."""
    if group not in GROUPS:
        raise KeyError(f"unknown rule group {group!r}; groups are {', '.join(GROUPS)}")
    return tuple(r for r in RULES if r.group == group)


def format_rule(rule: Rule, width: int = 78) -> str:
    """The rule as plain text: id and title on one line, then its text wrapped to
    `width` columns and indented by 2 spaces."""
    body = textwrap.fill(
        rule.text,
        width=width,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
    )
    return f"{rule.id} {rule.title}\n{body}"
