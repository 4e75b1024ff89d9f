"""YAML configuration -> one frozen, typed `Config`.

Every problem is collected (not just the first) and named by its YAML path, so
an operator fixes a file in one go: ``at 'directory.page_size': expected a
whole number from 1 to 10000, got 'lots'``. Each section has its own module
and its own typed field here (no registry: what the file may hold is visible in
one place); no raw dict travels past this package, and secrets never appear in
a repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.core.errors import ConfigError
from agent.core.mis.settings import MisSettings
from agent.core.policy import PolicySettings
from agent.settings.accounts import AccountSettings, parse_accounts
from agent.settings.attributes import AttributeSpec
from agent.settings.directory import DirectorySettings, parse_attributes, parse_directory
from agent.settings.mis import parse_mis
from agent.settings.notifications import NotificationSettings, parse_notifications
from agent.settings.policy import (
    PurgeSettings,
    SafetySettings,
    parse_policy,
    parse_purge,
    parse_safety,
)
from agent.settings.reader import Reader
from agent.settings.schedule import LoggingSettings, ScheduleSettings, parse_logging, parse_schedule
from agent.settings.service import ServiceSettings, parse_service
from agent.settings.web import WebSettings, parse_web

ENV_CONFIG = "HWB_AGENT_CONFIG"

__all__ = ["ENV_CONFIG", "Config", "ConfigError", "LocalAuthority", "load", "parse"]


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str


@dataclass(frozen=True)
class Config:
    """The whole configuration of one local authority's agent, every section typed."""

    source: str
    local_authority: LocalAuthority
    directory: DirectorySettings
    attributes: dict[str, AttributeSpec]
    policy: PolicySettings
    safety: SafetySettings
    schedule: ScheduleSettings
    purge: PurgeSettings
    logging: LoggingSettings
    accounts: AccountSettings = AccountSettings()
    mis: MisSettings = MisSettings()
    service: ServiceSettings = ServiceSettings()
    web: WebSettings = WebSettings()
    notifications: NotificationSettings = NotificationSettings()


def _local_authority(top: Reader) -> LocalAuthority:
    reader = top.section("local_authority")
    code = reader.string("code", required=True) or ""
    name = reader.string("name", required=True) or ""
    reader.finish()
    return LocalAuthority(code, name)


def parse(data: Any, source: str = "<config>", base: Path | None = None) -> Config:
    """Validate a loaded YAML document; raise ConfigError listing every problem."""
    problems: list[str] = []
    base = base or Path.cwd()
    top = Reader(data, "", problems)
    local_authority = _local_authority(top)
    directory = parse_directory(top, base)
    attributes = parse_attributes(top, directory.flavour)
    policy = parse_policy(top)
    safety = parse_safety(top)
    schedule = parse_schedule(top)
    purge = parse_purge(top)
    logging_settings = parse_logging(top, base)
    accounts = parse_accounts(top.section("accounts"))
    mis = parse_mis(top.section("mis"))
    service = parse_service(top.section("service"))
    web_reader = top.section("web")
    web = parse_web(web_reader, base)
    web_reader.finish()
    notifications = parse_notifications(top.section("notifications"), base)
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
        accounts=accounts,
        mis=mis,
        service=service,
        web=web,
        notifications=notifications,
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
