"""Recall and remember organisations across packages (the org registry, issue 11 item 5).

`read_package` reads a package, with what earlier packages said when its orgs.csv is a delta or
absent and `mis.org_registry_dn` is set (a read-only look at the directory, before any writing
session: a broken package still exits before anything is opened for writing). After a real
import, `remember` re-reads the registry under the authority's lease and stores what this package
adds or withdraws, in one modify of the registry entry, with an audit record. The write is
idempotent (the whole set is replaced): a write lost to a crash leaves the previous memory, and the
next package with orgs.csv repairs it. Dry runs remember nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.actions.audit import AuditTrail
from agent.actions.mis.feed_reader import orgs_mode, read_feed
from agent.actions.session import open_directory
from agent.core.mis.feed import Feed, FileMode
from agent.core.mis.org_registry import merged
from agent.core.mis.settings import MisSettings
from agent.directory.gateway import Directory
from agent.directory.org_registry import RegistryRead, read_registry, write_registry
from agent.logs import get_logger
from agent.settings.config import Config

log = get_logger("hwb-agent.actions.mis")


@dataclass(frozen=True)
class Remembered:
    dn: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    total: int

    def as_json(self) -> dict[str, Any]:
        return {"dn": self.dn, "added": list(self.added), "changed": list(self.changed),
                "removed": list(self.removed), "total": self.total}


def read_package(path: str | Path, config: Config) -> Feed:
    """The package at `path` as a Feed; FeedError when it is unusable (nothing opened for writing)."""
    settings = config.mis
    known = None
    if settings.org_registry_dn is not None and orgs_mode(path) is not FileMode.BULK:
        with open_directory(config) as directory:
            recalled = recall(directory, settings)
        known = recalled.orgs if recalled is not None else None
    return read_feed(path, settings, config.policy.timezone, known)


def recall(directory: Directory, settings: MisSettings) -> RegistryRead | None:
    """What the registry holds (None when none is configured); unreadable values are logged."""
    if settings.org_registry_dn is None:
        return None
    found = read_registry(directory, settings.org_registry_dn)
    for problem in found.problems:
        log.warning("org_registry_value_unreadable", detail=problem)
    return found


def remember(directory: Directory, settings: MisSettings, audit: AuditTrail, recalled: RegistryRead | None,
             feed: Feed, now: datetime, actor: str) -> Remembered | None:
    """Store the organisations `feed` listed or withdrew; None when nothing changed or no registry."""
    dn = settings.org_registry_dn
    if dn is None or recalled is None:
        return None
    before = recalled.orgs
    after = merged(before, feed.orgs_listed, feed.orgs_deleted)
    added = tuple(sorted(set(after) - set(before)))
    removed = tuple(sorted(set(before) - set(after)))
    changed = tuple(sorted(key for key in set(after) & set(before) if after[key] != before[key]))
    if not (added or removed or changed) and recalled.exists:
        return None
    write_registry(directory, dn, after, exists=recalled.exists)
    result = Remembered(dn, added, changed, removed, len(after))
    audit.record(event="org_registry_updated", dn=dn, uid="", rule="MIS-1", actor=actor,
                 before={"organisations": len(before)}, after={"organisations": len(after)},
                 detail=f"organisations of {feed.location}: {len(added)} added, {len(changed)} changed,"
                        f" {len(removed)} withdrawn", now=now, feed=feed.location,
                 added=list(added), changed=list(changed), removed=list(removed))
    return result
