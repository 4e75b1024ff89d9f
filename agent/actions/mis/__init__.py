"""MIS provisioning from OneRoster 1.1 CSV feeds: reading a package and applying its plan.

- `agent.actions.mis.feed_reader`: a OneRoster package (folder or .zip) -> immutable `Feed`.
- `agent.actions.mis.apply`: plan (`agent.core.mis.plan`, pure) and write it to the directory.

The pure parts (UPN checks, uid scheme, the plan, its report) live in `agent.core.mis`;
the `mis:` section of the configuration in `agent.settings.mis`.
"""
