"""MIS provisioning from OneRoster 1.1 CSV feeds (issue 5).

- `agent.mis.upn`: Unique Pupil Number validation (check letter, temporary UPNs).
- `agent.mis.feed`: a OneRoster package (folder or .zip) -> immutable `Feed`.
- `agent.mis.uids`: the uid scheme for new accounts.
- `agent.mis.plan`: `Feed` + existing MIS accounts -> `ProvisioningPlan` (pure).
- `agent.mis.settings`: the `mis:` configuration section.

Importing this package registers the `mis:` section with `agent.config`, so the
command line must import it before loading the configuration.
"""

from agent.mis import settings as _settings  # noqa: F401  (registers the `mis:` section)
