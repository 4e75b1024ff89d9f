"""The `policy:`, `safety:` and `purge:` sections: the knobs POLICY.md leaves to a local authority."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.core.policy import PolicySettings
from agent.settings.reader import Reader, show


@dataclass(frozen=True)
class SafetySettings:
    """C-8: the most a sweep may disable or purge without an operator's confirmation."""

    max_disables: int = 500
    max_purges: int = 100
    max_change_percent: float = 5.0



@dataclass(frozen=True)
class PurgeSettings:
    content_hooks: tuple[tuple[str, ...], ...] = ()
    hook_timeout_seconds: int = 300



def parse_policy(top: Reader) -> PolicySettings:
    reader = top.section("policy")
    zone_name = reader.string("timezone", "Europe/London") or "Europe/London"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        reader.fail("timezone", f"unknown time zone {zone_name!r} (expected e.g. Europe/London)")
        zone = ZoneInfo("Europe/London")
    year_end_text = reader.string("academic_year_end", "08-31") or "08-31"
    year_end = (8, 31)
    match = re.fullmatch(r"(\d\d)-(\d\d)", year_end_text)
    if not match or not _valid_month_day(int(match[1]), int(match[2])):
        reader.fail("academic_year_end", f"expected MM-DD such as 08-31, got {year_end_text!r}")
    else:
        year_end = (int(match[1]), int(match[2]))
    protected = reader.string_list("protected")
    settings = PolicySettings(
        timezone=zone,
        inactivity_days=reader.integer("inactivity_days", 90, 1, 3650),
        retention_months=reader.integer("retention_months", 12, 1, 120),
        academic_year_end=year_end,
        expiring_weeks=reader.integer("expiring_weeks", 8, 1, 104),
        purge_grace_days=reader.integer("purge_grace_days", 30, 0, 3650),
        protected=frozenset(entry.lower() for entry in protected),
    )
    reader.finish()
    return settings


def _valid_month_day(month: int, day: int) -> bool:
    days_in = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
    return month in days_in and 1 <= day <= days_in[month]


def parse_safety(top: Reader) -> SafetySettings:
    reader = top.section("safety")
    settings = SafetySettings(
        max_disables=reader.integer("max_disables", 500, 0, 10_000_000),
        max_purges=reader.integer("max_purges", 100, 0, 10_000_000),
        max_change_percent=reader.number("max_change_percent", 5.0, 0.0, 100.0),
    )
    reader.finish()
    return settings



def parse_purge(top: Reader) -> PurgeSettings:
    reader = top.section("purge")
    hooks: list[tuple[str, ...]] = []
    raw = reader.raw("content_hooks") or []
    if not isinstance(raw, list):
        reader.fail("content_hooks", f"expected a list of commands, got {show(raw)}")
        raw = []
    for index, hook in enumerate(raw):
        if isinstance(hook, str) and hook.strip():
            hooks.append(tuple(hook.split()))
        elif isinstance(hook, list) and hook and all(isinstance(part, str) for part in hook):
            hooks.append(tuple(hook))
        else:
            reader.fail(f"content_hooks[{index}]", f"expected a command, got {show(hook)}")
    settings = PurgeSettings(
        content_hooks=tuple(hooks),
        hook_timeout_seconds=reader.integer("hook_timeout_seconds", 300, 1, 86400),
    )
    reader.finish()
    return settings

