"""Failover between two hosts running the same local authority: a lease in the directory.

One entry per local authority (object class `hwbLease`) carries two single-valued
attributes: `hwbLeaseHolder` (who acts) and `hwbLeaseExpiry` (GeneralizedTime,
until when). Only the holder of an unexpired lease sweeps or writes.

- `decide_lease()` is the pure part: current holder and expiry, me, now, the lease
  period -> take, renew, hold (mine, nothing to write yet) or stand by, and the new values.
- `LeaseStore` is the edge: `read()` and `swap()`. The LDAP implementation does
  `swap()` as ONE modify that deletes the old values and adds the new ones, so when
  two standbys race for an expired lease the loser's delete of the old value fails
  (noSuchAttribute) and its whole modify is rejected: exactly one wins.
- `LeaseKeeper` is the small shell the service uses: it reads, decides, swaps,
  and remembers until when it may act.

A holder stops acting `safety_margin` before its own expiry, and a standby takes
only after the expiry has passed, so small clock differences between the hosts and a
write in flight cannot make two holders act at once (assumption: the hosts' clocks
agree to within a quarter period; run NTP). Schema (OpenLDAP): hwbLeaseHolder
(directoryString, SINGLE-VALUE), hwbLeaseExpiry (GeneralizedTime, SINGLE-VALUE),
structural class hwbLease MUST cn MAY (hwbLeaseHolder $ hwbLeaseExpiry); the LDAP
store is agent/directory/lease_store.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from agent.core.errors import DirectoryUnavailable
from agent.core.lease import LeaseAction, LeaseDecision, LeaseState, decide_lease

log = structlog.get_logger("agent.actions.lease")


class LeaseStore(Protocol):
    """Where the lease lives. Both methods may raise DirectoryUnavailable."""

    def read(self) -> LeaseState:
        """The current values (None, None when the entry has no holder yet)."""
        ...

    def swap(
        self,
        old_holder: str | None,
        old_expiry: datetime | None,
        new_holder: str,
        new_expiry: datetime,
    ) -> bool:
        """Replace the old values by the new ones in one atomic operation.

        False when the stored values are no longer the old ones (a lost race); the store is
        then unchanged. LDAP: one modify of delete(old value) + add(new value) per attribute;
        noSuchAttribute / attributeOrValueExists / constraintViolation mean False.
        """
        ...


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LeaseKeeper:
    """Keeps this instance's view of the lease: takes, renews, and says whether it may act."""

    def __init__(
        self,
        store: LeaseStore,
        me: str,
        period: timedelta,
        clock: Clock = utc_now,
        safety_margin: timedelta | None = None,
    ):
        self.store = store
        self.me = me
        self.period = period
        self.clock = clock
        # Stop acting a quarter period before expiry: covers clock skew and a write in flight.
        self.safety_margin = period / 4 if safety_margin is None else safety_margin
        self.expiry: datetime | None = None  # of my lease, when I hold it
        self.seen_holder: str | None = None
        self.last_action: LeaseAction | None = None

    def holds(self) -> bool:
        """True while I hold the lease with more than the safety margin left (no I/O)."""
        return self.expiry is not None and self.clock() < self.expiry - self.safety_margin

    def renewal_due(self) -> bool:
        return self.expiry is not None and self.expiry - self.clock() <= self.period / 2

    def refresh(self) -> bool:
        """Read the lease, take or renew it when the rules say so; True when I may act.

        A directory outage is not a loss: I keep acting until my known expiry minus the
        margin, after which `holds()` turns False on its own.
        """
        try:
            current = self.store.read()
            decision = decide_lease(current, self.me, self.clock(), self.period)
            if decision.new is not None and decision.new.expiry is not None:
                won = self.store.swap(
                    current.holder, current.expiry, decision.new.holder or self.me, decision.new.expiry
                )
                if not won:
                    log.warning("lease_race_lost", holder=self.me, action=decision.action.value)
                    self.expiry = None
                    self.seen_holder = None
                    self.last_action = LeaseAction.STANDBY
                    return False
        except DirectoryUnavailable as error:
            log.warning("lease_check_failed", holder=self.me, error=str(error), still_holds=self.holds())
            return self.holds()
        self._record(current, decision)
        return self.holds()

    def release(self) -> None:
        """On a clean stop, expire my lease now so that the standby takes over at once."""
        if self.expiry is None:
            return
        now = self.clock().replace(microsecond=0)
        try:
            if self.store.swap(self.me, self.expiry, self.me, now):
                log.info("lease_released", holder=self.me)
        except DirectoryUnavailable as error:
            log.warning("lease_release_failed", holder=self.me, error=str(error))
        self.expiry = None

    def _record(self, current: LeaseState, decision: LeaseDecision) -> None:
        previous = self.last_action
        self.last_action = decision.action
        if decision.action is LeaseAction.STANDBY:
            self.expiry = None
            self.seen_holder = current.holder
        else:
            self.expiry = decision.new.expiry if decision.new is not None else current.expiry
            self.seen_holder = self.me
        if decision.action is LeaseAction.TAKE:
            log.info("lease_taken", holder=self.me, expiry=_iso(self.expiry), reason=decision.reason)
        elif decision.action is LeaseAction.STANDBY and previous is not LeaseAction.STANDBY:
            log.info("lease_standby", holder=self.me, current_holder=current.holder,
                     expiry=_iso(current.expiry))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class InMemoryLeaseStore:
    """A LeaseStore in memory with the LDAP store's compare-and-swap semantics (tests, demo).

    The lock plays the directory server's part: one modify is applied whole, or not at all.
    """

    def __init__(self, holder: str | None = None, expiry: datetime | None = None):
        self._lock = threading.Lock()
        self.state = LeaseState(holder, expiry)
        self.swaps = 0

    def read(self) -> LeaseState:
        with self._lock:
            return self.state

    def swap(
        self,
        old_holder: str | None,
        old_expiry: datetime | None,
        new_holder: str,
        new_expiry: datetime,
    ) -> bool:
        with self._lock:
            if self.state != LeaseState(old_holder, old_expiry):
                return False
            self.state = LeaseState(new_holder, new_expiry)
            self.swaps += 1
            return True
