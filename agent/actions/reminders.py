"""Reminders to sponsors (issue 14): which digests are due, to whom, and sending each once only.

One run (`hwb-agent remind`, and `run` on `schedule.remind`):

1. one search reads the candidates: enabled non-MIS accounts expiring within the largest threshold
   (NM-8) and disabled accounts with a sponsor whose purge may fall within the purge notice
   (NM-7, MIS-5); the policy's `decide` gives each disabled account its exact purge date;
2. agent.core.reminders plans one digest per sponsor, leaving out keys already recorded;
3. sponsors are resolved by uid (agent.directory.people); a sponsor who is unknown, ambiguous,
   disabled or without mail is reported per account, and the digest goes to
   `notifications.fallback_address` when one is configured (else it waits for the next run);
4. each digest is claimed, sent, and only then counts as sent.

Once and only once (the choice, and why): the key of each reminder is *claimed* before the message
leaves, by an LDAP modify that adds it to hwbReminderSent (one modify per account, which also
prunes keys of dates the account no longer has). Adding a value an entry already holds fails with
attributeOrValueExists (20) on every server, so when two hosts (or two runs) plan the same digest
only one claim succeeds and the other host leaves that account out: the directory, not a local
file, decides. Then the digest is sent; when sending fails (SMTP down, recipient refused) the claims
are removed again, so nothing is recorded as sent and the next run retries. The order claim -> send
-> release-on-failure never sends twice; its one gap is a crash (or a directory lost) between a
claim and the end of its send, which leaves a key without a message: the reminder is then missed,
not doubled, and the audit trail shows a `reminder_claimed` with no `reminder_sent` for it. (The
embedded mock directory does not refuse a duplicate value; its single process reads the keys first.)

Audit (C-6): every claim and release is a write-ahead change (`reminder_claimed`,
`reminder_released`: the account, the rule, before/after of hwbReminderSent), and every digest sent
is one `reminder_sent` record: the sponsor, the recipient, the accounts, the thresholds and keys.
A dry run reads only: it sends and records nothing (with a test address it sends one digest there,
still recording nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from agent.actions.audit import AGENT_ACTOR, AuditTrail
from agent.core import criteria as c
from agent.core.dates import days, start_of_day
from agent.core.errors import AgentError, DirectoryWriteError
from agent.core.model import Account, Action, Category
from agent.core.policy import decide, latest_start
from agent.core.records import AuditRecord
from agent.core.reminders import (
    EXPIRY,
    PURGE,
    Digest,
    Reminder,
    claim_data,
    plan_digests,
    stale_keys,
)
from agent.directory.gateway import LOST_RACE_CODES, Directory
from agent.directory.people import People, Person
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.reminders")

REMINDERS_FIELD = "reminders_sent"


class MailUnavailable(AgentError):
    """The mail server cannot be reached or refused the session (exit 1): nothing more is sent this
    run, and what was not sent is not recorded."""


class MailRefused(AgentError):
    """The server refused one message (a recipient, its size): only that digest fails."""


@dataclass(frozen=True)
class Entry:
    """One account in a digest, with what the message says of it."""

    reminder: Reminder
    name: str
    rule: str  # NM-8 (expiry), NM-7 or MIS-5 (purge)

    @property
    def uid(self) -> str:
        return self.reminder.uid


@dataclass(frozen=True)
class OutgoingDigest:
    """One message: a sponsor's reminders, to the sponsor's mail (or the fallback address)."""

    sponsor: str
    sponsor_name: str | None
    recipient: str
    entries: tuple[Entry, ...]
    # Why the fallback address gets it (None: it goes to the sponsor).
    fallback_because: str | None = None

    @property
    def keys(self) -> list[str]:
        return [entry.reminder.key for entry in self.entries]

    def as_json(self) -> dict[str, Any]:
        return {
            "sponsor": self.sponsor, "recipient": self.recipient, "fallback_because": self.fallback_because,
            "entries": [{"uid": entry.uid, "name": entry.name, "kind": entry.reminder.kind,
                         "date": entry.reminder.on.isoformat(), "days_left": entry.reminder.days_left,
                         "threshold_days": entry.reminder.threshold, "rule": entry.rule,
                         "key": entry.reminder.key} for entry in self.entries],
        }


class Sender(Protocol):
    """What sends a digest (the face supplies SMTP, tests a fake). Raises MailUnavailable when the
    server cannot be used at all, MailRefused when it refused this message only."""

    def send(self, digest: OutgoingDigest) -> None: ...


@dataclass(frozen=True)
class RecipientProblem:
    """An account whose sponsor cannot be mailed (reported per account, issue 14)."""

    uid: str
    sponsor: str
    problem: str  # unknown / ambiguous / disabled / no mail
    detail: str
    fallback: str | None  # the address that gets the reminder instead, if any

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "sponsor": self.sponsor, "problem": self.problem, "detail": self.detail,
                "fallback": self.fallback}


@dataclass(frozen=True)
class DigestOutcome:
    digest: OutgoingDigest
    status: str  # would send / sent / failed / test sent / skipped
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {**self.digest.as_json(), "status": self.status, "detail": self.detail}


@dataclass
class RemindReport:
    as_of: datetime
    dry_run: bool
    digests: list[DigestOutcome] = field(default_factory=list)
    problems: list[RecipientProblem] = field(default_factory=list)
    # Accounts another run claimed first (their key is recorded: not ours to send).
    claimed_elsewhere: list[str] = field(default_factory=list)
    # Keys that stayed claimed although their message failed (the directory was lost meanwhile).
    unreleased: list[str] = field(default_factory=list)
    error: str | None = None
    scanned: int = 0

    @property
    def failed(self) -> bool:
        return self.error is not None or any(item.status == "failed" for item in self.digests)

    def count(self, status: str) -> int:
        return sum(1 for item in self.digests if item.status == status)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "dry_run": self.dry_run, "scanned": self.scanned,
            "digests": [item.as_json() for item in self.digests],
            "problems": [item.as_json() for item in self.problems],
            "claimed_elsewhere": self.claimed_elsewhere, "unreleased": self.unreleased,
            "error": self.error,
        }


# --- reading -------------------------------------------------------------------------------------

def candidate_criterion(config: Config, today: date) -> c.Criterion:
    """The accounts one reminder run reads: a superset of those `plan_digests` may announce."""
    notifications, policy = config.notifications, config.policy
    expiry_end = today + days(max(notifications.thresholds_days))
    purge_end = today + days(notifications.purge_notice_days)
    retention_start = latest_start(purge_end, policy.retention_months)
    non_mis = c.Equals("category", Category.NON_MIS.value)
    mis = c.Equals("category", Category.MIS.value)
    return c.any_of(
        c.all_of(non_mis, c.IsEnabled(True), c.AtMost("expiry_date", expiry_end),
                 c.Not(c.AtMost("expiry_date", today - days(1)))),  # NM-8
        c.all_of(c.IsEnabled(False), c.Present("sponsor"), c.any_of(
            c.all_of(non_mis, c.AtMost("disabled_at", start_of_day(retention_start + days(1),
                                                                      policy.timezone))),  # NM-7
            c.all_of(mis, c.AtMost("leaving_date", retention_start)),  # MIS-5
        )),
    )


def _purge_dates(accounts: Iterable[Account], now: datetime, config: Config) -> tuple[dict[str, date],
                                                                                       dict[str, str]]:
    """The policy's purge date (and rule) of each disabled account, by DN (NM-7, MIS-5)."""
    dates: dict[str, date] = {}
    rules: dict[str, str] = {}
    for account in accounts:
        if account.enabled:
            continue
        upcoming = decide(account, now, config.policy).next
        if upcoming is not None and upcoming.action is Action.PURGE:
            dates[account.dn] = upcoming.date
            rules[account.dn] = upcoming.rule
    return dates, rules


def plan(directory: Directory, config: Config, now: datetime) -> tuple[list[Account], list[Digest],
                                                                        dict[str, str]]:
    """The accounts read, the digests due at `now` and the rule behind each reminder (by DN)."""
    today = config.policy.today(now)
    notifications = config.notifications
    accounts = [account for account in directory.accounts(candidate_criterion(config, today))
                if not config.policy.is_protected(account)]  # C-2: never disabled or purged
    purge_dates, rules = _purge_dates(accounts, now, config)
    digests = plan_digests(accounts, today, notifications.thresholds_days, purge_dates,
                           notifications.purge_notice_days)
    for account in accounts:
        rules.setdefault(account.dn, "NM-8")
    return accounts, digests, rules


# --- recipients ----------------------------------------------------------------------------------

def _recipient(sponsor: str, found: list[Person]) -> tuple[Person | None, str | None, str]:
    """(the person, their address, '') or (person or None, None, problem: detail)."""
    if not found:
        return None, None, "unknown: no entry with this uid under the people base"
    if len(found) > 1:
        return None, None, "ambiguous: " + ", ".join(person.dn for person in found)
    person = found[0]
    if not person.enabled:
        return person, None, f"disabled: {person.dn} is disabled"
    if not person.mail:
        return person, None, f"no mail: {person.dn} has no mail address"
    return person, person.mail, ""


def address(digests: Sequence[Digest], accounts: Sequence[Account], rules: dict[str, str],
            people: dict[str, list[Person]], fallback: str | None
            ) -> tuple[list[OutgoingDigest], list[RecipientProblem], dict[str, Person]]:
    """Each digest with its recipient; the problems per account; the sponsors found (for audit)."""
    by_dn = {account.dn: account for account in accounts}
    outgoing: list[OutgoingDigest] = []
    problems: list[RecipientProblem] = []
    persons: dict[str, Person] = {}
    for digest in digests:
        person, mail, problem = _recipient(digest.sponsor, people.get(digest.sponsor.lower(), []))
        if person is not None:
            persons[digest.sponsor] = person
        entries = tuple(Entry(reminder, by_dn[reminder.dn].name, rules.get(reminder.dn, "NM-8"))
                        for reminder in digest.reminders)
        name = person.name if person is not None else None
        if mail is not None:
            outgoing.append(OutgoingDigest(digest.sponsor, name, mail, entries))
            continue
        kind, _, detail = problem.partition(": ")
        for entry in entries:
            problems.append(RecipientProblem(entry.uid, digest.sponsor, kind, detail, fallback))
        if fallback:
            outgoing.append(OutgoingDigest(digest.sponsor, name, fallback, entries,
                                           fallback_because=problem))
    return outgoing, problems, persons


# --- claiming, sending, releasing ----------------------------------------------------------------

def _claim_record(entry: Entry, account: Account, sponsor: str, after: frozenset[str], event: str,
                  now: datetime, detail: str) -> AuditRecord:
    return AuditRecord(
        event=event, dn=account.dn, uid=account.uid, rule=entry.rule, actor=AGENT_ACTOR,
        before={REMINDERS_FIELD: sorted(account.reminders_sent)}, after={REMINDERS_FIELD: sorted(after)},
        detail=detail, time=now,
        extra={"sponsor": sponsor, "key": entry.reminder.key, "threshold_days": entry.reminder.threshold})


def _modify_keys(directory: Directory, audit: AuditTrail, record: AuditRecord, account: Account,
                 added: Iterable[str], removed: Iterable[str]) -> None:
    """One audited modify of hwbReminderSent (write-ahead, C-6); DirectoryWriteError when refused."""
    attribute = directory.mapper.attribute(REMINDERS_FIELD)
    dn = account.dn
    added, removed = sorted(added), sorted(removed)
    operations: list[tuple[str, str, tuple[str, ...]]] = []
    if removed:
        operations.append((attribute, "delete", tuple(removed)))
    if added:
        operations.append((attribute, "add", tuple(added)))
    # C-4: an entry without the auxiliary class gets it in the same modify.
    operations = directory.mapper.auxiliary_operations(account, operations) + operations
    record = audit.intend(record, claim_data(added, removed))
    try:
        directory.modify(dn, operations)
    except DirectoryWriteError as error:
        audit.not_applied(record, str(error))
        raise
    except Exception as error:
        # The directory went away: the intent stays for settle_intents to decide (issue 11).
        log.warning("reminder_write_unconfirmed", dn=dn, error=str(error))
        raise
    audit.write(record)


def _claim(directory: Directory, audit: AuditTrail, digest: OutgoingDigest, accounts: dict[str, Account],
           now: datetime, report: RemindReport) -> list[tuple[Entry, Account]]:
    """Claim each entry's key (one modify per account); entries another run claimed are dropped."""
    claimed: list[tuple[Entry, Account]] = []
    for entry in digest.entries:
        account = accounts[entry.reminder.dn]
        key = entry.reminder.key
        if key in account.reminders_sent:
            continue
        stale = stale_keys(account.reminders_sent, entry.reminder)
        after = (account.reminders_sent - stale) | {key}
        record = _claim_record(entry, account, digest.sponsor, after, "reminder_claimed", now,
                               f"claimed before sending to {digest.recipient}")
        try:
            _modify_keys(directory, audit, record, account, [key], stale)
        except DirectoryWriteError as error:
            if error.result_code in LOST_RACE_CODES:
                # attributeOrValueExists: another host or run claimed it first (or pruned meanwhile).
                report.claimed_elsewhere.append(account.uid)
                continue
            raise
        claimed.append((entry, replace(account, reminders_sent=after)))
    return claimed


def _release(directory: Directory, audit: AuditTrail, digest: OutgoingDigest,
             claimed: list[tuple[Entry, Account]], now: datetime, why: str, report: RemindReport) -> None:
    """Remove the claims of a digest that was not sent: the next run retries it."""
    for entry, account in claimed:
        key = entry.reminder.key
        after = account.reminders_sent - {key}
        record = _claim_record(entry, account, digest.sponsor, after, "reminder_released", now,
                               f"not sent ({why}): released for the next run")
        try:
            _modify_keys(directory, audit, record, account, [], [key])
        except AgentError as error:
            log.error("reminder_release_failed", dn=account.dn, key=key, error=str(error))
            report.unreleased.append(f"{account.uid} {key}")


def _sent_record(digest: OutgoingDigest, person: Person | None, now: datetime) -> AuditRecord:
    rules = sorted({entry.rule for entry in digest.entries})
    return AuditRecord(
        event="reminder_sent", dn=person.dn if person else "", uid=digest.sponsor, rule=",".join(rules),
        actor=AGENT_ACTOR, before={}, after={}, time=now,
        detail=f"{len(digest.entries)} reminder(s) sent to {digest.recipient}",
        extra={"sponsor": digest.sponsor, "recipient": digest.recipient,
               "accounts": [entry.uid for entry in digest.entries],
               "thresholds": sorted({entry.reminder.threshold for entry in digest.entries}, reverse=True),
               "keys": digest.keys, **({"fallback_because": digest.fallback_because}
                                       if digest.fallback_because else {})})


def remind(directory: Directory, config: Config, audit: AuditTrail, now: datetime, *,
           sender: Sender | None, dry_run: bool = False, test_address: str | None = None) -> RemindReport:
    """One reminder run at `now` (see the module's docstring). `sender` None: nothing can be sent
    (a dry run that only prints). `test_address` (dry run only): the first digest goes there."""
    report = RemindReport(now, dry_run)
    accounts, digests, rules = plan(directory, config, now)
    report.scanned = len(accounts)
    sponsors = {digest.sponsor for digest in digests}
    people = People(directory).find_many(sponsors) if sponsors else {}
    outgoing, problems, persons = address(digests, accounts, rules, people,
                                          config.notifications.fallback_address)
    report.problems = problems
    if dry_run:
        report.digests = [DigestOutcome(digest, "would send") for digest in outgoing]
        if test_address and outgoing:
            # One digest to a test address: sent when a sender is given, else only printed.
            test = replace(outgoing[0], recipient=test_address)
            if sender is not None:
                sender.send(test)
            report.digests = [DigestOutcome(test, "test sent" if sender is not None else "test printed",
                                            f"instead of {outgoing[0].recipient}")]
        return report
    if sender is None:
        raise MailUnavailable("no SMTP server is configured (notifications.host): nothing was sent")
    by_dn = {account.dn: account for account in accounts}
    for digest in outgoing:
        if report.error is not None:
            report.digests.append(DigestOutcome(digest, "skipped", "the mail server is unavailable"))
            continue
        claimed = _claim(directory, audit, digest, by_dn, now, report)
        if not claimed:
            continue
        sending = replace(digest, entries=tuple(entry for entry, _ in claimed))
        try:
            sender.send(sending)
        except (MailUnavailable, MailRefused) as error:
            _release(directory, audit, sending, claimed, now, str(error), report)
            report.digests.append(DigestOutcome(sending, "failed", str(error)))
            if isinstance(error, MailUnavailable):
                report.error = str(error)
            continue
        audit.write(_sent_record(sending, persons.get(digest.sponsor), now))
        for _, account in claimed:
            by_dn[account.dn] = account
        report.digests.append(DigestOutcome(sending, "sent"))
    return report


__all__ = ["EXPIRY", "PURGE", "DigestOutcome", "Entry", "MailRefused", "MailUnavailable", "OutgoingDigest",
           "RecipientProblem", "RemindReport", "Sender", "remind"]
