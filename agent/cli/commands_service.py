"""`run`: the long-running service."""

from __future__ import annotations

import argparse
import sys

from agent.actions.audit import AuditTrail
from agent.core.clock import Clock
from agent.core.errors import ExitCode
from agent.settings import config as config_module
from agent.settings.attributes import Flavour
from agent.settings.config import Config


def cmd_run(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from agent.directory.lease_store import LdapLeaseStore
    from agent.service.lifecycle_job import LifecycleJob
    from agent.service.service import Service

    # Which host acted, in every record: two hosts may serve one authority (failover).
    audit = AuditTrail(config.logging.audit_file, host=config.service.lease.holder)
    current: dict[str, LifecycleJob] = {}

    def make_job(loaded: Config) -> LifecycleJob:
        current["job"] = LifecycleJob(loaded, service.should_stop, audit)
        return current["job"]

    def reopen_audit(loaded: Config) -> None:
        # SIGHUP: reopen after log rotation, and follow the (possibly new) file and holder name.
        audit.reopen()
        audit.path = loaded.logging.audit_file
        audit.host = loaded.service.lease.holder

    def make_lease_store(loaded: Config) -> LdapLeaseStore:
        directory = loaded.directory
        real_ad = directory.flavour is Flavour.ACTIVE_DIRECTORY and not directory.is_mock
        return LdapLeaseStore(lambda: current["job"].lease_connection(), loaded.service.lease.dn,
                              time_fraction=real_ad)

    service = Service(
        lambda: config_module.load(args.config),
        make_job,
        make_lease_store=make_lease_store,
        on_reload=reopen_audit,
    )
    try:
        return service.run()
    except OSError as error:
        print(f"hwb-agent: cannot start the service: {error}", file=sys.stderr)
        return ExitCode.FAILED
    finally:
        audit.close()
