"""The `schedule:` and `logging:` sections: when the service works, and where it writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from agent.settings.reader import Reader, relative, show

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_INTERVAL = re.compile(r"^every\s+(\d+)\s*(m|min|minutes|h|hours)$")


@dataclass(frozen=True)
class ScheduleSettings:
    sweep_times: tuple[time, ...] = ()
    sweep_interval_minutes: int | None = 30
    activation_poll_seconds: int = 60
    # `schedule.remind`: local times the service sends reminders to sponsors (issue 14), daily.
    remind_times: tuple[time, ...] = (time(7, 30),)


@dataclass(frozen=True)
class PurgeSettings:
    content_hooks: tuple[tuple[str, ...], ...] = ()
    hook_timeout_seconds: int = 300


@dataclass(frozen=True)
class LoggingSettings:
    format: str = "json"
    level: str = "info"
    audit_file: Path | None = None



def parse_schedule(top: Reader) -> ScheduleSettings:
    reader = top.section("schedule")
    raw = reader.raw("sweep")
    entries = [raw] if isinstance(raw, str) else raw
    times: list[time] = []
    interval: int | None = 30
    if entries is not None:
        if not isinstance(entries, list) or not entries:
            reader.fail("sweep", f"expected times like ['02:00'] or 'every 30m', got {show(raw)}")
            entries = []
        interval = None
        for index, entry in enumerate(entries):
            text = str(entry).strip()
            if (found := _TIME.match(text)) is not None:
                times.append(time(int(found[1]), int(found[2])))
            elif (found := _INTERVAL.match(text)) is not None:
                minutes = int(found[1]) * (60 if found[2].startswith("h") else 1)
                if minutes < 1:
                    reader.fail(f"sweep[{index}]", "an interval must be at least 1 minute")
                interval = minutes
            else:
                reader.fail(
                    f"sweep[{index}]",
                    f"expected a local time HH:MM or an interval 'every N minutes', got {text!r}",
                )
    settings = ScheduleSettings(
        remind_times=_remind_times(reader),
        sweep_times=tuple(times),
        sweep_interval_minutes=interval,
        activation_poll_seconds=reader.integer("activation_poll_seconds", 60, 1, 3600),
    )
    reader.finish()
    return settings



def _remind_times(reader: Reader) -> tuple[time, ...]:
    """`schedule.remind`: local times HH:MM (default 07:30), once a day each (issue 14)."""
    raw = reader.raw("remind")
    if raw is None:
        return ScheduleSettings.remind_times
    entries = [raw] if isinstance(raw, str) else raw
    if not isinstance(entries, list) or not entries:
        reader.fail("remind", f"expected local times like ['07:30'], got {show(raw)}")
        return ScheduleSettings.remind_times
    times: list[time] = []
    for index, entry in enumerate(entries):
        found = _TIME.match(str(entry).strip())
        if found is None:
            reader.fail(f"remind[{index}]", f"expected a local time HH:MM, got {show(entry)}")
            continue
        times.append(time(int(found[1]), int(found[2])))
    return tuple(times)


def parse_logging(top: Reader, base: Path) -> LoggingSettings:
    reader = top.section("logging")
    audit = reader.path_value("audit_file")
    settings = LoggingSettings(
        format=reader.choice("format", ["json", "console"], "json") or "json",
        level=reader.choice("level", ["debug", "info", "warning", "error"], "info") or "info",
        audit_file=relative(audit, base) if audit else None,
    )
    reader.finish()
    return settings

