"""hwb-agent: the Hwb account lifecycle policy, enforced on LDAP directories."""

from importlib import metadata

try:
    __version__ = metadata.version("hwb-agent")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0.0.0+unknown"
