"""`hwb-agent run` wired together: the audit trail, the lifecycle job, the lease store, the loop.

The command line only calls `run_service`; everything the service needs from the real
world is built here, once:

- one `AuditTrail` for the whole run, reopened on SIGHUP (log rotation) and following a
  reloaded configuration's file and holder name;
- a `LifecycleJob` per configuration in force (the service builds a new one on reload);
- with `service.lease.enabled`, the LDAP lease store, which shares the connection of the job
  the service is running at that moment (built by the actions layer: faces do not speak LDAP).
"""

from __future__ import annotations

from agent.actions.audit import AuditTrail
from agent.actions.lease import LeaseStore
from agent.actions.lease_store_factory import Directory, lease_store_for
from agent.actions.writer import DEFAULT_WAIT_SECONDS, LocalLock, WriterBusy, lock_path
from agent.service.jobs import ConfigLoader
from agent.service.lifecycle_job import LifecycleJob
from agent.service.service import Service
from agent.settings.config import Config


class LifecycleService:
    """Owns the audit trail and the `Service`, and gives the service its jobs and lease store."""

    def __init__(self, load_config: ConfigLoader, config: Config) -> None:
        # Which host acted, in every record: two hosts may serve one authority (failover).
        self.config = config
        self.audit = AuditTrail(config.logging.audit_file, host=config.service.lease.holder)
        self.service = Service(
            load_config,
            self.make_job,
            make_lease_store=self.make_lease_store,
            on_reload=self.reopen_audit,
        )

    def make_job(self, config: Config) -> LifecycleJob:
        # Called by Service.run(), so self.service exists by then.
        return LifecycleJob(config, self.service.should_stop, self.audit)

    def make_lease_store(self, config: Config) -> LeaseStore:
        return lease_store_for(config, self.lease_directory)

    def lease_directory(self) -> Directory:
        """The directory of the job in force (not of one a failed reload built and dropped)."""
        job = self.service.job
        if not isinstance(job, LifecycleJob):
            raise RuntimeError("the lease store was used before the service had a job")
        return job.lease_directory()

    def reopen_audit(self, config: Config) -> None:
        # SIGHUP: reopen after log rotation, and follow the (possibly new) file and holder name.
        self.audit.reopen()
        self.audit.path = config.logging.audit_file
        self.audit.host = config.service.lease.holder

    def run(self) -> int:
        """Serve until stopped (see Service.run for what it raises); the audit file is closed after.

        Before anything is written: the audit file is proven writable (AuditUnavailable, exit 1,
        otherwise), and the host's writer lock is taken for the whole run, so that a one-shot bulk
        command on this host waits for the service rather than writing beside it (issue 11).
        """
        self.audit.prove_writable()
        lock = LocalLock(lock_path(self.config))
        if not lock.acquire(DEFAULT_WAIT_SECONDS):
            raise WriterBusy(f"another hwb-agent command on this host is writing (pid {lock.holder()},"
                             f" lock {lock.path}); the service did not start")
        try:
            return self.service.run()
        finally:
            lock.release()
            self.audit.close()


def run_service(load_config: ConfigLoader, config: Config) -> int:
    """Run the service until stopped; 0 after a clean stop.

    `config` is the configuration already loaded by the caller (it names the audit file);
    `load_config` reads the file again at start and on every SIGHUP. Raises ConfigError when
    the first configuration is bad and OSError when the metrics address cannot be bound.
    """
    return LifecycleService(load_config, config).run()
