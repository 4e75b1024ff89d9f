"""The `service:` section of the configuration (the long-running `hwb-agent run`).

Parsed into `config.service` with the rest of the file; every problem names its YAML path:

```yaml
service:
  metrics:
    listen: "127.0.0.1:9464"     # host:port of /metrics and /healthz; absent = no HTTP endpoint
    allow_non_loopback: false    # must be true to listen anywhere but loopback
  lease:                         # failover between two hosts running the same authority
    enabled: false
    holder: ldap-agent-1         # this host's name in the lease; default: the host name
    period_seconds: 60           # a dead holder's lease is taken over after this long
    dn: cn=hwb-agent-lease,ou=services,dc=example,dc=org   # required when enabled; one per authority
  retry:                         # directory outages: capped exponential backoff
    initial_seconds: 5
    max_seconds: 300
```
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field

from agent.settings.reader import Reader

SECTION = "service"


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class MetricsSettings:
    listen: ListenAddress | None = None
    allow_non_loopback: bool = False


@dataclass(frozen=True)
class LeaseSettings:
    enabled: bool = False
    holder: str = field(default_factory=socket.gethostname)
    period_seconds: int = 60
    # The lease entry; required when enabled. Not derived from base_dn: where the agent may
    # write it is the directory's access control's decision (deploy/openldap/agent-acl.ldif).
    dn: str | None = None


@dataclass(frozen=True)
class RetrySettings:
    initial_seconds: float = 5.0
    max_seconds: float = 300.0


@dataclass(frozen=True)
class ServiceSettings:
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)


_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+)):(?P<port>\d{1,5})$")


def parse_listen(text: str) -> ListenAddress:
    """'127.0.0.1:9464', '[::1]:9464' or 'localhost:9464' -> ListenAddress; ValueError if malformed."""
    found = _HOST_PORT.match(text.strip())
    if found is None:
        raise ValueError(f"expected host:port such as 127.0.0.1:9464 or [::1]:9464, got {text!r}")
    port = int(found["port"])
    if port > 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return ListenAddress(found["v6"] or found["host"], port)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name could resolve anywhere


def parse_service(reader: Reader) -> ServiceSettings:
    """Read `service:` through agent.settings.config's path-aware reader (problems carry their YAML path)."""
    metrics_reader = reader.section("metrics")
    listen_text = metrics_reader.string("listen")
    allow_non_loopback = metrics_reader.boolean("allow_non_loopback", False)
    listen = None
    if listen_text:
        try:
            listen = parse_listen(listen_text)
        except ValueError as error:
            metrics_reader.fail("listen", str(error))
        else:
            if not allow_non_loopback and not is_loopback(listen.host):
                metrics_reader.fail(
                    "listen",
                    f"{listen_text!r} is not a loopback address; metrics reveal account counts,"
                    " so set allow_non_loopback: true to expose them on purpose",
                )
    metrics_reader.finish()

    lease_reader = reader.section("lease")
    enabled = lease_reader.boolean("enabled", False)
    holder = lease_reader.string("holder") or socket.gethostname()
    if not re.fullmatch(r"[A-Za-z0-9._:@-]{1,128}", holder):
        lease_reader.fail("holder", f"expected a short name of letters, digits and ._:@-, got {holder!r}")
    lease_dn = lease_reader.string("dn") or None
    if enabled and lease_dn is None:
        lease_reader.fail("dn", "is required when enabled is true (the lease entry, one per authority)")
    elif lease_dn is not None and not re.fullmatch(r"[A-Za-z][\w-]*=[^,]+(,[A-Za-z][\w-]*=[^,]+)+", lease_dn):
        lease_reader.fail("dn", f"expected a DN such as cn=hwb-agent-lease,ou=services,dc=example,dc=org, "
                                f"got {lease_dn!r}")
    lease = LeaseSettings(
        enabled=enabled,
        holder=holder,
        period_seconds=lease_reader.integer("period_seconds", 60, 4, 3600),
        dn=lease_dn,
    )
    lease_reader.finish()

    retry_reader = reader.section("retry")
    initial = retry_reader.number("initial_seconds", 5.0, 0.01, 3600.0)
    maximum = retry_reader.number("max_seconds", 300.0, 0.01, 86400.0)
    if maximum < initial:
        retry_reader.fail("max_seconds", f"must not be below initial_seconds ({initial}), got {maximum}")
    retry_reader.finish()

    reader.finish()
    return ServiceSettings(
        metrics=MetricsSettings(listen=listen, allow_non_loopback=allow_non_loopback),
        lease=lease,
        retry=RetrySettings(initial_seconds=initial, max_seconds=maximum),
    )

