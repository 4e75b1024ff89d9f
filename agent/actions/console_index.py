"""The console's one read of the authority (issue 13): every account with its state and the next
transition the policy has scheduled (core policy `Decision.next`), kept for `web.cache_seconds`.

The account list (filters, pages), the banner and the forecast read this index, so no page waits for
a full read of the directory: the first page after a start builds it; later, a stale index is
served while one background thread reads the directory again. The console's own writes update the
rows they touch at once (`refresh`). View Details and every operation read the account itself.

Each row is a small frozen value (not the whole Account), so the index of 55k accounts stays a few
tens of MB in the console process.
"""

from __future__ import annotations

import bisect
import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from agent.actions.console_scope import Administrator, Operation, may
from agent.actions.lookup import learner_identities
from agent.core.dates import add_months
from agent.core.model import Account, Action, Category, NonMisType, Reason, Role
from agent.core.operations import expiring_window
from agent.core.policy import Context, Decision, decide
from agent.directory.gateway import Directory
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.console_index")

# The forecast's horizon: 12 months, in weeks starting on Mondays.
FORECAST_WEEKS = 53


@dataclass(frozen=True)
class IndexRow:
    """One account as the console's lists show it, with the policy's decision at the read."""

    uid: str
    dn: str
    name: str
    mail: str | None
    category: Category | None
    role: Role | None
    non_mis_type: NonMisType | None
    enabled: bool
    school: str | None
    sponsor: str | None
    expiry_date: date | None
    disabled_reason: Reason | None
    due: Action                  # what a sweep would do now
    next_date: date | None       # the next scheduled transition (Decision.next)
    next_action: Action | None
    next_rule: str | None
    problems: bool = False
    due_rule: str | None = None  # the rule of `due`

    @property
    def kind(self) -> str | None:
        value = self.non_mis_type or self.role
        return value.value if value else None


def row_of(account: Account, decision: Decision) -> IndexRow:
    upcoming = decision.next
    return IndexRow(account.uid, account.dn, account.name, account.mail, account.category, account.role,
                    account.non_mis_type, account.enabled, account.school, account.sponsor,
                    account.expiry_date, account.disabled_reason, decision.action,
                    upcoming.date if upcoming else None, upcoming.action if upcoming else None,
                    upcoming.rule if upcoming else None, bool(account.problems), decision.rule)


@dataclass(frozen=True)
class ForecastWeek:
    """The accounts the policy will disable (by rule) and purge in the week starting `start`."""

    start: date
    disable: Counter[str] = field(default_factory=Counter)   # rule id -> count
    purge: int = 0

    @property
    def disabled(self) -> int:
        return sum(self.disable.values())


@dataclass(frozen=True)
class Snapshot:
    rows: tuple[IndexRow, ...]
    read_at: datetime
    today: date
    forecast: tuple[ForecastWeek, ...]
    positions: dict[str, int]
    # Figures per administrator (banner, counts, sponsors), computed once per snapshot: every page
    # shows the banner, and a scan of 55k rows per page would cost tens of milliseconds.
    _memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def row(self, uid: str) -> IndexRow | None:
        position = self.positions.get(uid.lower())
        return None if position is None else self.rows[position]

    @functools.cached_property
    def non_mis(self) -> tuple[IndexRow, ...]:
        """The non-MIS rows (the console's lists), in uid order."""
        return tuple(row for row in self.rows if row.category is Category.NON_MIS)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._memo_lock:
            self._memo[key] = value
        return value


def scope_key(administrator: Administrator) -> tuple[str, frozenset[str], frozenset[str]]:
    """What decides what an administrator sees (two with the same key see the same rows)."""
    return administrator.uid.lower(), frozenset(administrator.roles), administrator.schools


def forecast(rows: Iterable[IndexRow], today: date, retention_months: int,
             weeks: int = FORECAST_WEEKS) -> tuple[ForecastWeek, ...]:
    """Disables (per rule) and purges per week for `weeks` weeks from the Monday of `today`'s week.

    From each account's next transition: a change due now counts in the first week; a disable on a
    day D is followed by its purge `retention_months` later (NM-7, MIS-5), counted when that falls
    inside the horizon. A reactivation or an MIS change meanwhile changes the figures: a forecast
    says what happens if nothing else does."""
    start = today - timedelta(days=today.weekday())
    end = start + timedelta(weeks=weeks)
    disables: list[Counter[str]] = [Counter() for _ in range(weeks)]
    purges = [0] * weeks

    def week(day: date) -> int | None:
        if day < start or day >= end:
            return None
        return (day - start).days // 7

    for row in rows:
        if row.problems:
            continue  # C-7: never acted on
        moments: list[tuple[date, Action, str]] = []
        if row.due in (Action.DISABLE, Action.PURGE):
            moments.append((today, row.due, row.due_rule or "?"))
        if row.next_date is not None and row.next_action in (Action.DISABLE, Action.PURGE):
            moments.append((max(row.next_date, today), row.next_action, row.next_rule or "?"))
        for day, action, rule in moments:
            index = week(day)
            if action is Action.DISABLE:
                if index is not None:
                    disables[index][rule] += 1
                purge_day = add_months(day, retention_months)
                if (purge_index := week(purge_day)) is not None:
                    purges[purge_index] += 1
            elif index is not None:
                purges[index] += 1
    return tuple(ForecastWeek(start + timedelta(weeks=index), disables[index], purges[index])
                 for index in range(weeks))


@dataclass(frozen=True)
class ListFilter:
    """The filters of "Manage Local Authority Non-MIS accounts" (C-1: Active = N)."""

    active: bool | None = None
    non_mis_type: str | None = None
    sponsor: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Page:
    rows: tuple[IndexRow, ...]
    total: int
    number: int
    count: int  # pages


def list_page(snapshot: Snapshot, administrator: Administrator, wanted: ListFilter, number: int,
              size: int) -> Page:
    """One page of the non-MIS accounts this administrator may see, filtered, sorted by uid."""
    text = (wanted.text or "").strip().lower()
    sponsor = (wanted.sponsor or "").strip().lower()
    found = [row for row in _visible(snapshot, administrator)
             if (wanted.active is None or row.enabled is wanted.active)
             and (not wanted.non_mis_type or row.kind == wanted.non_mis_type)
             and (not sponsor or (row.sponsor or "").lower() == sponsor)
             and (not text or text in row.uid.lower() or text in row.name.lower()
                  or text in (row.mail or "").lower())]
    pages = max(1, -(-len(found) // size))
    number = min(max(1, number), pages)
    chosen = found[(number - 1) * size: number * size]
    return Page(tuple(chosen), len(found), number, pages)


def _visible(snapshot: Snapshot, administrator: Administrator) -> tuple[IndexRow, ...]:
    """The non-MIS rows this administrator may see (all of them for an LA administrator)."""
    def compute() -> tuple[IndexRow, ...]:
        return tuple(row for row in snapshot.non_mis if may(administrator, Operation.VIEW, row))
    return snapshot.memo(("visible", scope_key(administrator)), compute)  # type: ignore[no-any-return]


def counts(snapshot: Snapshot, administrator: Administrator) -> tuple[int, int]:
    """(active, not active) non-MIS accounts this administrator may see."""
    visible = _visible(snapshot, administrator)
    active = sum(1 for row in visible if row.enabled)
    return active, len(visible) - active


def expiring_count(snapshot: Snapshot, config: Config, administrator: Administrator, now: datetime) -> int:
    """NM-8, the banner: enabled non-MIS accounts this administrator may see that expire in the window.
    Accounts whose lifecycle data cannot be read (C-7) are listed on Managing Expiring Accounts in a
    section of their own and not counted, as in the command line's `expiring`: nothing says they
    expire."""
    first, last = expiring_window(now, config.policy)

    def compute() -> int:
        return sum(1 for row in _visible(snapshot, administrator)
                   if row.enabled and not row.problems and row.expiry_date is not None
                   and first <= row.expiry_date <= last)
    return snapshot.memo(("expiring", first, last, scope_key(administrator)), compute)  # type: ignore[no-any-return]


def sponsors(snapshot: Snapshot, administrator: Administrator) -> list[str]:
    """The sponsors of the non-MIS accounts this administrator may see, for the list's filter."""
    def compute() -> list[str]:
        return sorted({row.sponsor for row in _visible(snapshot, administrator) if row.sponsor},
                      key=str.lower)
    return snapshot.memo(("sponsors", scope_key(administrator)), compute)  # type: ignore[no-any-return]


Opener = Callable[[], AbstractContextManager[Directory]]


class ConsoleIndex:
    """The index of one console process: built on first use, read again in the background when
    older than `max_age` seconds (the stale one is served meanwhile)."""

    def __init__(self, config: Config, open_directory: Opener, clock: Callable[[], datetime],
                 max_age: float):
        self.config = config
        self._open = open_directory
        self._clock = clock
        self.max_age = max_age
        self._lock = threading.Lock()
        # One read at a time: the first pages after a start wait for the same read, not one each.
        self._build_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._built_at = 0.0
        self._refreshing = False
        # Accounts the console changed, by uid, with when: a read that began before a change must not
        # undo it in the index (the change is applied again on top of that read).
        self._changed: dict[str, tuple[float, Account]] = {}

    def snapshot(self) -> Snapshot:
        with self._lock:
            current = self._snapshot
            stale = current is None or time.monotonic() - self._built_at >= self.max_age
            start_background = current is not None and stale and not self._refreshing
            if start_background:
                self._refreshing = True
        if current is None:
            with self._build_lock:
                with self._lock:
                    current = self._snapshot
                return current if current is not None else self._rebuild(locked=True)
        if start_background:
            threading.Thread(target=self._background, name="console-index", daemon=True).start()
        return current

    def _background(self) -> None:
        try:
            self._rebuild()
        except Exception as error:  # the stale index keeps serving; the next page tries again
            log.warning("console_index_refresh_failed", error=str(error))
        finally:
            with self._lock:
                self._refreshing = False

    def _rebuild(self, *, locked: bool = False) -> Snapshot:
        if not locked:
            with self._build_lock:
                return self._rebuild(locked=True)
        now = self._clock()
        started = time.monotonic()
        with self._open() as directory:
            snapshot = build_snapshot(directory, self.config, now)
        with self._lock:
            later = [account for when, account in self._changed.values() if when >= started]
            self._changed = {uid: item for uid, item in self._changed.items() if item[0] >= started}
            self._snapshot = snapshot if not later else self._with(snapshot, later)
            self._built_at = time.monotonic()
        log.info("console_index_built", accounts=len(snapshot.rows),
                 seconds=round(time.monotonic() - started, 3))
        return snapshot

    def refresh(self, accounts: Sequence[Account]) -> None:
        """Replace (or add) the rows of `accounts` as read after a console write."""
        if not accounts:
            return
        with self._lock:
            moment = time.monotonic()
            for account in accounts:
                self._changed[account.uid.lower()] = (moment, account)
            if self._snapshot is not None:
                self._snapshot = self._with(self._snapshot, accounts)

    def _with(self, current: Snapshot, accounts: Sequence[Account]) -> Snapshot:
        """`current` with the rows of `accounts` replaced (or added), decided now."""
        now = self._clock()
        rows = list(current.rows)
        positions = dict(current.positions)
        added = False
        for account in accounts:
            row = row_of(account, decide(account, now, self.config.policy))
            position = positions.get(account.uid.lower())
            if position is None:  # a new account: in uid order, as a read would place it
                bisect.insort(rows, row, key=lambda item: item.uid.lower())
                added = True
            else:
                rows[position] = row
        if added:
            positions = {row.uid.lower(): index for index, row in enumerate(rows)}
        return Snapshot(tuple(rows), current.read_at, current.today,
                        forecast(rows, current.today, self.config.policy.retention_months), positions)


def build_snapshot(directory: Directory, config: Config, now: datetime) -> Snapshot:
    """One read of every account (and of the learners NM-2 compares with), decided at `now`."""
    identities = learner_identities(directory)
    rows = [row_of(account, decide(account, now, config.policy, Context(identities.covers(account))))
            for account in directory.accounts()]
    rows.sort(key=lambda row: row.uid.lower())
    today = config.policy.today(now)
    positions = {row.uid.lower(): index for index, row in enumerate(rows)}
    return Snapshot(tuple(rows), now, today, forecast(rows, today, config.policy.retention_months),
                    positions)
