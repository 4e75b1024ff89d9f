"""C-8: the mass-change guard of a sweep. A sweep that would disable or purge more accounts than
the configured limits (absolute, and as a share of the accounts in scope) makes none of those
changes and says why, until an operator confirms that run."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.core.model import Action
from agent.directory.gateway import Directory
from agent.settings.config import Config


@dataclass
class Guard:
    """C-8: which destructive actions this run holds back, and why."""

    tripped: bool = False
    limit: dict[str, Any] = field(default_factory=dict)
    would: dict[str, int] = field(default_factory=dict)
    held: frozenset[Action] = frozenset()
    message: str = ""
    confirmed: bool = False  # over the limits, and the operator confirmed this run
    exceeded: tuple[str, ...] = ()

    def applied(self, counts: Counter[str], *, dry_run: bool = False) -> None:
        """After a confirmed run: the message says what was applied, and over which limits."""
        if not self.confirmed:
            return
        done = "would be applied (dry run)" if dry_run else "applied"
        limits = (f"limits {self.limit['max_disables']} disables, {self.limit['max_purges']} purges,"
                  f" {self.limit['max_change_percent']}% of the accounts in scope")
        self.message = (
            f"mass-change guard (C-8) confirmed by the operator: {counts['disable']}"
            f" {'disable' if counts['disable'] == 1 else 'disables'} and {counts['purge']}"
            f" {'purge' if counts['purge'] == 1 else 'purges'} {done} ({limits};"
            f" exceeded: {'; '.join(self.exceeded)})")


def evaluate_guard(config: Config, directory: Directory, wanted: Counter[Action], confirmed: bool,
                   read: int = 0) -> Guard:
    """C-8 over the whole plan. `read`: accounts in scope the plan already read (a lower bound of
    the accounts in scope)."""
    safety = config.safety
    would = {"disable": wanted[Action.DISABLE], "purge": wanted[Action.PURGE]}
    limits = {"disable": safety.max_disables, "purge": safety.max_purges}
    guard = Guard(limit={"max_disables": safety.max_disables, "max_purges": safety.max_purges,
                         "max_change_percent": safety.max_change_percent}, would=would)
    if not any(would.values()):
        return guard
    # Only counted when something destructive is planned, and only as far as the share limit needs:
    # with at least `enough` accounts in scope no count here exceeds max_change_percent (the share
    # computed from a lower bound only overstates the true share, so the check stays safe).
    largest = max(would.values())
    enough = math.ceil(100 * largest / safety.max_change_percent) if safety.max_change_percent > 0 else None
    if enough is not None and read >= enough:
        # The accounts the plan read are already enough: no share can exceed the limit, so no
        # count (a sweep with thousands due has just read them).
        total, counted_all = read, False
    else:
        total = directory.count_accounts(stop_at=enough)
        counted_all = enough is None or total < enough
    guard.limit["accounts_in_scope" if counted_all else "accounts_in_scope_at_least"] = total
    held: set[Action] = set()
    reasons = []
    for name, count in would.items():
        share = 100.0 * count / total if total else 100.0
        if count > limits[name] or share > safety.max_change_percent:
            held.add(Action(name))
            reasons.append(
                f"{count} accounts to {name} ({share:.1f}% of {total}) exceeds the limit of"
                f" {limits[name]} or {safety.max_change_percent}%"
            )
    if held and not confirmed:
        guard.tripped = True
        guard.held = frozenset(held)
        guard.message = (
            "mass-change guard (C-8): " + "; ".join(reasons)
            + ". Nothing of that kind was changed; check the data, then re-run with --confirm-mass-change."
        )
    elif held:
        guard.confirmed, guard.exceeded = True, tuple(reasons)
        guard.applied(Counter())  # until the sweep says what it applied
    return guard
