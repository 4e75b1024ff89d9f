"""The pure part of failover between two hosts: given the lease as read, who I am and now, what to do.

The lease entry (object class `hwbLease`) carries `hwbLeaseHolder` and
`hwbLeaseExpiry`; only the holder of an unexpired lease sweeps or writes. The
store is agent.directory.lease_store, the keeper that acts on these decisions
agent.actions.lease.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class LeaseAction(enum.StrEnum):
    TAKE = "take"  # free or expired: write me as holder
    RENEW = "renew"  # mine and past half its period: push the expiry on
    HOLD = "hold"  # mine with plenty of time left: nothing to write
    STANDBY = "standby"  # someone else holds an unexpired lease


@dataclass(frozen=True)
class LeaseState:
    """The lease entry's values as read; both None when the entry has never been taken."""

    holder: str | None
    expiry: datetime | None


@dataclass(frozen=True)
class LeaseDecision:
    action: LeaseAction
    new: LeaseState | None  # the values to write (TAKE, RENEW), else None
    reason: str

    @property
    def needs_write(self) -> bool:
        return self.new is not None


def decide_lease(current: LeaseState, me: str, now: datetime, period: timedelta) -> LeaseDecision:
    """Given the lease as read, who I am, now (aware UTC) and the period, say what to do.

    The new expiry is truncated to whole seconds because GeneralizedTime is stored to the
    second and `swap()` must later name the stored value exactly.
    """
    new_expiry = (now + period).replace(microsecond=0)
    if current.holder == me and current.expiry is not None:
        if current.expiry - now > period / 2:
            return LeaseDecision(LeaseAction.HOLD, None, "held, more than half the period left")
        # Renewing an already expired lease of my own is safe: nobody took it, or the holder
        # would not be me, and the swap fails if someone does take it meanwhile.
        return LeaseDecision(LeaseAction.RENEW, LeaseState(me, new_expiry), "held, renewal due")
    if current.holder is None or current.expiry is None:
        return LeaseDecision(LeaseAction.TAKE, LeaseState(me, new_expiry), "no holder")
    if now >= current.expiry:
        return LeaseDecision(
            LeaseAction.TAKE, LeaseState(me, new_expiry), f"{current.holder}'s lease expired"
        )
    return LeaseDecision(LeaseAction.STANDBY, None, f"held by {current.holder}")
