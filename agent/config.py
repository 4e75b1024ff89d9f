"""YAML configuration -> frozen, validated settings.

Every problem is collected (not just the first) and named by its YAML path, so
an operator fixes a file in one go: ``at 'directory.page_size': expected a
whole number from 1 to 10000, got 'lots'``. No raw dict travels past this
module, and secrets never appear in a repr.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from agent.directory.fields import (
    ALL_FIELDS,
    AttributeSpec,
    Encoding,
    Flavour,
    default_attributes,
)
from agent.policy import PolicySettings

ENV_CONFIG = "HWB_AGENT_CONFIG"


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists every fault with its YAML path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


class Secret:
    """A password that prints as stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    base_dn: str
    flavour: Flavour
    bind_dn: str | None = None
    password: Secret | None = field(default=None, repr=False)
    start_tls: bool = False
    ca_file: Path | None = None
    allow_plaintext: bool = False
    page_size: int = 500
    timeout_seconds: int = 30
    state_file: Path | None = None  # mock: only; where the embedded directory is saved
    account_filter: str | None = None  # extra LDAP filter ANDed to every account search
    max_writes_in_flight: int = 1
    domain_controllers: tuple[str, ...] = ()  # AD: DCs to ask for the unreplicated lastLogon

    @property
    def is_mock(self) -> bool:
        return self.url.startswith("mock:")


@dataclass(frozen=True)
class SafetySettings:
    """C-8: the most a sweep may disable or purge without an operator's confirmation."""

    max_disables: int = 500
    max_purges: int = 100
    max_change_percent: float = 5.0


@dataclass(frozen=True)
class ScheduleSettings:
    sweep_times: tuple[time, ...] = ()
    sweep_interval_minutes: int | None = 30
    activation_poll_seconds: int = 60


@dataclass(frozen=True)
class PurgeSettings:
    content_hooks: tuple[tuple[str, ...], ...] = ()
    hook_timeout_seconds: int = 300


@dataclass(frozen=True)
class LoggingSettings:
    format: str = "json"
    level: str = "info"
    audit_file: Path | None = None


@dataclass(frozen=True)
class Config:
    source: str
    local_authority: LocalAuthority
    directory: DirectorySettings
    attributes: dict[str, AttributeSpec]
    policy: PolicySettings
    safety: SafetySettings
    schedule: ScheduleSettings
    purge: PurgeSettings
    logging: LoggingSettings
    sections: dict[str, Any] = field(default_factory=dict, repr=False)


# --- Reading with paths ----------------------------------------------------------------------


class _Reader:
    """Reads one YAML mapping, recording every problem with its dotted path."""

    def __init__(self, data: Any, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail(None, f"expected a mapping, got {_show(data)}")
            data = {}
        self.data: dict[str, Any] = data

    def where(self, key: str | None) -> str:
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, message: str) -> None:
        self.problems.append(f"at '{self.where(key)}': {message}")

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def section(self, key: str) -> _Reader:
        return _Reader(self.raw(key), self.where(key), self.problems)

    def string(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(key, f"expected text, got {_show(value)}")
            return default
        text = str(value).strip()
        if required and not text:
            self.fail(key, "must not be empty")
        return text

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"expected a whole number from {low} to {high}, got {_show(value)}")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.fail(key, f"expected a number from {low} to {high}, got {_show(value)}")
            return default
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_show(value)}")
            return default
        return value

    def choice(self, key: str, options: list[str], default: str | None) -> str | None:
        value = self.string(key, default)
        if value is not None and value not in options:
            self.fail(key, f"expected one of {', '.join(options)}, got {_show(value)}")
            return default
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, f"expected a list of text values, got {_show(value)}")
            return ()
        return tuple(item.strip() for item in value)

    def path_value(self, key: str) -> Path | None:
        text = self.string(key)
        return Path(text).expanduser() if text else None

    def finish(self) -> None:
        for key in sorted(set(self.data) - self.seen, key=str):
            self.fail(key, "unknown key (a typo?)")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- Sections ----------------------------------------------------------------------------


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_INTERVAL = re.compile(r"^every\s+(\d+)\s*(m|min|minutes|h|hours)$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _local_authority(top: _Reader) -> LocalAuthority:
    reader = top.section("local_authority")
    code = reader.string("code", required=True) or ""
    name = reader.string("name", required=True) or ""
    reader.finish()
    return LocalAuthority(code, name)


def _directory(top: _Reader, base: Path) -> DirectorySettings:
    reader = top.section("directory")
    url = reader.string("url", required=True) or "mock:"
    scheme = urlparse(url).scheme
    if scheme not in ("ldap", "ldaps", "ldapi", "mock"):
        reader.fail("url", f"expected an ldap://, ldaps://, ldapi:// or mock: URL, got {url!r}")
    flavour_name = reader.choice("flavour", [f.value for f in Flavour], Flavour.OPENLDAP.value)
    base_dn = reader.string("base_dn", required=True) or ""
    bind_dn = reader.string("bind_dn")
    start_tls = reader.boolean("start_tls", False)
    allow_plaintext = reader.boolean("allow_plaintext", False)
    host = (urlparse(url).hostname or "").lower()
    if scheme == "ldap" and not start_tls and not allow_plaintext and not _is_loopback(host):
        reader.fail(
            "url",
            f"{url!r} would send the bind password in clear text: use ldaps://,"
            " start_tls: true, or set allow_plaintext: true explicitly",
        )
    password = _password(reader, scheme == "mock", base)
    if bind_dn and password is None and scheme not in ("mock", "ldapi"):
        reader.fail("password_file", "bind_dn is set but no password_file or password_env")
    ca_file = reader.path_value("ca_file")
    if ca_file is not None:
        ca_file = _relative(ca_file, base)
        if not ca_file.is_file():
            reader.fail("ca_file", f"no such file: {str(ca_file)!r}")
    state_file = reader.path_value("state_file")
    settings = DirectorySettings(
        url=url,
        base_dn=base_dn,
        flavour=Flavour(flavour_name or Flavour.OPENLDAP.value),
        bind_dn=bind_dn,
        password=password,
        start_tls=start_tls,
        ca_file=ca_file,
        allow_plaintext=allow_plaintext,
        page_size=reader.integer("page_size", 500, 1, 10000),
        timeout_seconds=reader.integer("timeout_seconds", 30, 1, 3600),
        state_file=_relative(state_file, base) if state_file else None,
        account_filter=reader.string("account_filter"),
        max_writes_in_flight=reader.integer("max_writes_in_flight", 1, 1, 256),
        domain_controllers=reader.string_list("domain_controllers"),
    )
    if settings.account_filter and not (
        settings.account_filter.startswith("(") and settings.account_filter.endswith(")")
    ):
        reader.fail("account_filter", "an LDAP filter must be wrapped in parentheses")
    for index, controller in enumerate(settings.domain_controllers):
        # The agent binds to every DC with the same password: the same rules as `url`.
        parsed = urlparse(controller)
        if parsed.scheme not in ("ldap", "ldaps"):
            reader.fail(f"domain_controllers[{index}]",
                        f"expected an ldap:// or ldaps:// URL, got {controller!r}")
        elif (parsed.scheme == "ldap" and not start_tls and not allow_plaintext
              and not _is_loopback((parsed.hostname or "").lower())):
            reader.fail(f"domain_controllers[{index}]",
                        f"{controller!r} would send the bind password in clear text: use ldaps://,"
                        " start_tls: true, or set allow_plaintext: true explicitly")
    reader.finish()
    return settings


def _is_loopback(host: str) -> bool:
    """localhost or any loopback address (127.0.0.0/8, ::1): a Samba DC on 127.0.0.2 is local too."""
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _password(reader: _Reader, is_demo: bool, base: Path) -> Secret | None:
    inline = reader.raw("password")
    file_name = reader.string("password_file")
    env_name = reader.string("password_env")
    chosen = [name for name, value in
              (("password", inline), ("password_file", file_name), ("password_env", env_name))
              if value is not None]
    if len(chosen) > 1:
        reader.fail(chosen[1], f"give only one of {', '.join(chosen)}")
        return None
    if inline is not None:
        if not is_demo:
            reader.fail(
                "password",
                "an inline password is allowed only for the embedded demo directory;"
                " use password_file or password_env",
            )
            return None
        return Secret(str(inline))
    if file_name:
        path = _relative(Path(file_name).expanduser(), base)
        # systemd LoadCredential= puts the secret under $CREDENTIALS_DIRECTORY.
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        if not path.is_file() and credentials and (Path(credentials) / path.name).is_file():
            path = Path(credentials) / path.name
        try:
            return Secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as error:
            reader.fail("password_file", f"cannot read {str(path)!r}: {error.strerror}")
            return None
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            reader.fail("password_env", f"environment variable {env_name} is not set")
            return None
        return Secret(value)
    return None


def _attributes(top: _Reader, flavour: Flavour) -> dict[str, AttributeSpec]:
    reader = top.section("attributes")
    mapping = default_attributes(flavour)
    for key in sorted(reader.data, key=str):
        value = reader.raw(key)
        if key not in ALL_FIELDS:
            reader.fail(key, f"unknown field; known fields: {', '.join(sorted(ALL_FIELDS))}")
            continue
        if isinstance(value, str) and value.strip():
            mapping[key] = AttributeSpec(value.strip(), mapping[key].encoding)
            continue
        item = reader.section(key)
        name = item.string("name", required=True)
        encoding = item.choice("encoding", [e.value for e in Encoding], mapping[key].encoding.value)
        item.finish()
        if name:
            mapping[key] = AttributeSpec(name, Encoding(encoding or "string"))
    return mapping


def _policy(top: _Reader) -> PolicySettings:
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


def _safety(top: _Reader) -> SafetySettings:
    reader = top.section("safety")
    settings = SafetySettings(
        max_disables=reader.integer("max_disables", 500, 0, 10_000_000),
        max_purges=reader.integer("max_purges", 100, 0, 10_000_000),
        max_change_percent=reader.number("max_change_percent", 5.0, 0.0, 100.0),
    )
    reader.finish()
    return settings


def _schedule(top: _Reader) -> ScheduleSettings:
    reader = top.section("schedule")
    raw = reader.raw("sweep")
    entries = [raw] if isinstance(raw, str) else raw
    times: list[time] = []
    interval: int | None = 30
    if entries is not None:
        if not isinstance(entries, list) or not entries:
            reader.fail("sweep", f"expected times like ['02:00'] or 'every 30m', got {_show(raw)}")
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
        sweep_times=tuple(times),
        sweep_interval_minutes=interval,
        activation_poll_seconds=reader.integer("activation_poll_seconds", 60, 1, 3600),
    )
    reader.finish()
    return settings


def _purge(top: _Reader) -> PurgeSettings:
    reader = top.section("purge")
    hooks: list[tuple[str, ...]] = []
    raw = reader.raw("content_hooks") or []
    if not isinstance(raw, list):
        reader.fail("content_hooks", f"expected a list of commands, got {_show(raw)}")
        raw = []
    for index, hook in enumerate(raw):
        if isinstance(hook, str) and hook.strip():
            hooks.append(tuple(hook.split()))
        elif isinstance(hook, list) and hook and all(isinstance(part, str) for part in hook):
            hooks.append(tuple(hook))
        else:
            reader.fail(f"content_hooks[{index}]", f"expected a command, got {_show(hook)}")
    settings = PurgeSettings(
        content_hooks=tuple(hooks),
        hook_timeout_seconds=reader.integer("hook_timeout_seconds", 300, 1, 86400),
    )
    reader.finish()
    return settings


def _logging(top: _Reader, base: Path) -> LoggingSettings:
    reader = top.section("logging")
    audit = reader.path_value("audit_file")
    settings = LoggingSettings(
        format=reader.choice("format", ["json", "console"], "json") or "json",
        level=reader.choice("level", ["debug", "info", "warning", "error"], "info") or "info",
        audit_file=_relative(audit, base) if audit else None,
    )
    reader.finish()
    return settings


def _relative(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


# Sections owned by other modules (MIS provisioning, administrator operations, the service):
# each registers a parser here that reads its own section and returns a frozen value.
SectionParser = Any
EXTRA_SECTIONS: dict[str, SectionParser] = {}


def register_section(name: str, parser: SectionParser) -> None:
    EXTRA_SECTIONS[name] = parser


_CORE_KEYS = {
    "local_authority", "directory", "attributes", "policy", "safety", "schedule", "purge",
    "logging",
}


def _register_module_sections() -> None:
    """Import the modules that own a section, so every command accepts the same file."""
    import agent.admin  # noqa: F401 - registers `accounts:`
    import agent.mis  # noqa: F401 - registers `mis:`
    import agent.service_settings  # noqa: F401 - registers `service:`


def parse(data: Any, source: str = "<config>", base: Path | None = None) -> Config:
    """Validate a loaded YAML document; raise ConfigError listing every problem."""
    _register_module_sections()
    problems: list[str] = []
    base = base or Path.cwd()
    top = _Reader(data, "", problems)
    local_authority = _local_authority(top)
    directory = _directory(top, base)
    attributes = _attributes(top, directory.flavour)
    policy = _policy(top)
    safety = _safety(top)
    schedule = _schedule(top)
    purge = _purge(top)
    logging_settings = _logging(top, base)
    sections = {name: parser(top.section(name)) for name, parser in EXTRA_SECTIONS.items()}
    top.finish()
    if problems:
        raise ConfigError(source, problems)
    return Config(
        source=source,
        local_authority=local_authority,
        directory=directory,
        attributes=attributes,
        policy=policy,
        safety=safety,
        schedule=schedule,
        purge=purge,
        logging=logging_settings,
        sections=sections,
    )


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file (argument, else $HWB_AGENT_CONFIG)."""
    chosen = path or os.environ.get(ENV_CONFIG)
    if not chosen:
        raise ConfigError("<no file>", [f"no configuration: pass --config PATH or set {ENV_CONFIG}"])
    file_path = Path(chosen)
    try:
        text = file_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(file_path), [f"cannot read the file: {error.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(str(file_path), [f"not valid YAML{where}: {problem}"]) from None
    return parse(data, str(file_path), file_path.parent.resolve())
