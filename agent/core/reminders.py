"""Reminders to sponsors (issue 14): which digests are due, from a snapshot of accounts.

Pure: accounts, today and the thresholds in, digests per sponsor out. Each reminder has a key
`threshold:kind:date` (kind `expiry` for NM-8 expiries, `purge` for NM-7/MIS-5 deletions); a key
already recorded on the account (hwbReminderSent) is not due again. An extension or reactivation
changes the date, so the key changes and a new reminder follows when the new date comes near.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from agent.core.model import Account, Category

EXPIRY = "expiry"
PURGE = "purge"


@dataclass(frozen=True)
class Reminder:
    uid: str
    dn: str
    kind: str  # EXPIRY or PURGE
    on: date  # the expiry (or purge) date announced
    days_left: int
    threshold: int  # the smallest threshold (days) the date falls within

    @property
    def key(self) -> str:
        return reminder_key(self.threshold, self.kind, self.on)


@dataclass(frozen=True)
class Digest:
    sponsor: str
    reminders: tuple[Reminder, ...]


def reminder_key(threshold: int, kind: str, on: date) -> str:
    return f"{threshold}:{kind}:{on.isoformat()}"


def parse_key(key: str) -> tuple[int, str, date] | None:
    """(threshold, kind, date) of a recorded key; None for a value this version did not write."""
    parts = key.strip().split(":")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    try:
        return int(parts[0]), parts[1], date.fromisoformat(parts[2])
    except ValueError:
        return None


def stale_keys(sent: Iterable[str], reminder: Reminder) -> frozenset[str]:
    """Recorded keys that announce another date (or kind) than `reminder` does: an extension or a
    reactivation moved the date, so they can never match again and are pruned with the new claim.
    Keys of the same date (an earlier threshold) stay: they keep that reminder from being resent."""
    stale = set()
    for key in sent:
        parsed = parse_key(key)
        if parsed is not None and (parsed[1], parsed[2]) != (reminder.kind, reminder.on):
            stale.add(key)
    return frozenset(stale)


def claim_data(added: Iterable[str], removed: Iterable[str]) -> dict[str, object]:
    """What the write-ahead intent of a claim (or its release) carries: enough for
    agent.core.changes.applied to tell from the entry read back whether it was applied."""
    return {"kind": "reminder", "added": sorted(added), "removed": sorted(removed)}


def claim_applied(account: Account | None, data: Mapping[str, object]) -> bool:
    if account is None:
        return False
    added = set(_strings(data.get("added")))
    removed = set(_strings(data.get("removed")))
    return added <= account.reminders_sent and not removed & account.reminders_sent


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def _threshold(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The smallest threshold `days_left` falls within (0 <= days_left <= threshold), else None."""
    within = [t for t in thresholds if 0 <= days_left <= t]
    return min(within) if within else None


def _due(account: Account, kind: str, on: date, today: date, thresholds: Sequence[int]) -> Reminder | None:
    days_left = (on - today).days
    threshold = _threshold(days_left, thresholds)
    if threshold is None:
        return None
    reminder = Reminder(account.uid, account.dn, kind, on, days_left, threshold)
    return None if reminder.key in account.reminders_sent else reminder


def plan_digests(accounts: Iterable[Account], today: date, thresholds: Sequence[int],
                 purge_dates: Mapping[str, date], purge_notice_days: int) -> list[Digest]:
    """Digests per sponsor (sorted by sponsor, entries soonest first).

    - NM-8: enabled non-MIS accounts whose expiry date is within a threshold (days left 0..T);
    - NM-7 / MIS-5: disabled accounts whose purge date (`purge_dates`, by DN, computed by the
      policy) is within `purge_notice_days`, where a sponsor is known.
    Accounts with problems (C-7) and without a sponsor are left out.
    """
    per_sponsor: dict[str, list[Reminder]] = {}
    for account in accounts:
        if account.problems or not account.sponsor:
            continue
        reminder: Reminder | None = None
        if account.enabled and account.category is Category.NON_MIS and account.expiry_date:
            reminder = _due(account, EXPIRY, account.expiry_date, today, thresholds)
        elif not account.enabled and account.dn in purge_dates:
            reminder = _due(account, PURGE, purge_dates[account.dn], today, [purge_notice_days])
        if reminder is not None:
            per_sponsor.setdefault(account.sponsor.lower(), []).append(reminder)
    return [Digest(sponsor, tuple(sorted(items, key=lambda r: (r.on, r.uid.lower()))))
            for sponsor, items in sorted(per_sponsor.items())]
