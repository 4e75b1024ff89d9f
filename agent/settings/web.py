"""The `web:` section: the administrators' console (`hwb-agent web`, issue 13).

```yaml
web:
  listen: 127.0.0.1:8080                     # host:port served (behind a TLS reverse proxy off loopback)
  allow_non_loopback: false                  # must be true to listen anywhere but loopback (TLS in front!)
  base_url: https://hwb-admin.example.org    # the public address: links in reminders (issue 14)
  session_secret_file: /run/credentials/hwb-agent-web/session-secret
  secure_cookies: true                       # default: true when base_url is https://
  idle_timeout_minutes: 30                   # a session unused this long is signed out
  page_size: 25                              # rows per page of the account list
  cache_seconds: 600                         # the forecast's and list's one read is reused this long
  trusted_proxies: 0                         # reverse proxies in front whose X-Forwarded-For is believed
  server_timing: false                       # a Server-Timing header: time and LDAP operations per page
  sign_in:
    max_failures: 5                          # per user and per address within the window
    window_minutes: 15
    failure_delay_seconds: 0.5               # refusals take at least this long (no timing tells)
  roles:
    la_admins_group: cn=hwb-la-admins,ou=groups,dc=example,dc=org      # every account of the authority
    service_desk_group: cn=hwb-service-desk,ou=groups,dc=example,dc=org  # staff reactivation (MIS-4)
    school_admins_group: cn=school-admins-{school},ou=groups,dc=example,dc=org  # one group per school
```

`base_url` is also read by the reminders, which link each account to its View Details page when it
is set. A school administrator's schools are the `{school}` parts of the groups naming them that
match `roles.school_admins_group`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse

from agent.settings.reader import Reader, relative
from agent.settings.service import ListenAddress, is_loopback, parse_listen

DEFAULT_LISTEN = ListenAddress("127.0.0.1", 8080)
SCHOOL_PLACEHOLDER = "{school}"


@dataclass(frozen=True)
class RoleSettings:
    """Where the console's roles come from: groups of the directory (groupOfNames member or
    groupOfUniqueNames uniqueMember naming the person's DN)."""

    la_admins_group: str | None = None
    service_desk_group: str | None = None
    # A DN with "{school}" where the school number goes: cn=school-admins-{school},ou=groups,...
    school_admins_group: str | None = None

    def school_of_group(self, group_dn: str) -> str | None:
        """The school number that `group_dn` is the administrators' group of (None: not one)."""
        if not self.school_admins_group:
            return None
        head, _, tail = self.school_admins_group.partition(SCHOOL_PLACEHOLDER)
        pattern = re.escape(_squash(head)) + r"([A-Za-z0-9_.-]+)" + re.escape(_squash(tail))
        found = re.fullmatch(pattern, _squash(group_dn), flags=re.IGNORECASE)
        return found.group(1) if found else None


def _squash(dn: str) -> str:
    """A DN without the spaces around its separators (",", "="), for comparison."""
    return re.sub(r"\s*([,=])\s*", r"\1", dn.strip())


@dataclass(frozen=True)
class SignInSettings:
    max_failures: int = 5
    window_minutes: int = 15
    # A refused sign-in is answered no sooner than this after it arrived, whether or not the user
    # exists (an unknown user is answered without a bind, which would otherwise be faster).
    failure_delay_seconds: float = 0.5


@dataclass(frozen=True)
class WebSettings:
    listen: ListenAddress = DEFAULT_LISTEN
    # The console's public address without a trailing slash (None: no links are made to it).
    base_url: str | None = None
    session_secret_file: Path | None = None
    allow_non_loopback: bool = False
    # None: Secure cookies when base_url is https:// (the console sits behind TLS).
    secure_cookies: bool | None = None
    idle_timeout_minutes: int = 30
    page_size: int = 25
    cache_seconds: int = 600
    # How many reverse proxies in front set X-Forwarded-For/-Proto (the address audited and throttled
    # is then the client's, not the proxy's). 0: the peer's address is used as it is.
    trusted_proxies: int = 0
    # A Server-Timing header on every page but the sign-in (the benchmark's figures: time spent,
    # LDAP searches and entries read). Off by default: it tells clients how the server works.
    server_timing: bool = False
    sign_in: SignInSettings = field(default_factory=SignInSettings)
    roles: RoleSettings = field(default_factory=RoleSettings)

    def details_url(self, uid: str) -> str | None:
        """The View Details page of one account, or None when no base URL is configured."""
        return f"{self.base_url}/accounts/{quote(uid, safe='')}" if self.base_url else None

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return bool(self.base_url and self.base_url.startswith("https://"))


_DN = re.compile(r"[A-Za-z][\w-]*=[^,]+(,\s*[A-Za-z][\w-]*=[^,]+)*")


def parse_web(reader: Reader, base: Path) -> WebSettings:
    listen = DEFAULT_LISTEN
    listen_text = reader.string("listen")
    allow_non_loopback = reader.boolean("allow_non_loopback", False)
    if listen_text:
        try:
            listen = parse_listen(listen_text)
        except ValueError as error:
            reader.fail("listen", str(error))
        else:
            if not allow_non_loopback and not is_loopback(listen.host):
                reader.fail("listen", f"{listen_text!r} is not a loopback address; the console serves"
                                      " plain HTTP, so put a TLS reverse proxy in front and set"
                                      " allow_non_loopback: true on purpose")
    base_url = reader.string("base_url") or None
    if base_url is not None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            reader.fail("base_url", f"expected an http:// or https:// address, got {base_url!r}")
        base_url = base_url.rstrip("/")
    secret = reader.path_value("session_secret_file")
    secure = reader.raw("secure_cookies")
    if secure is not None and not isinstance(secure, bool):
        reader.fail("secure_cookies", f"expected true or false, got {secure!r}")
        secure = None
    sign_in_reader = reader.section("sign_in")
    sign_in = SignInSettings(max_failures=sign_in_reader.integer("max_failures", 5, 1, 1000),
                             window_minutes=sign_in_reader.integer("window_minutes", 15, 1, 1440),
                             failure_delay_seconds=sign_in_reader.number("failure_delay_seconds", 0.5,
                                                                         0.0, 10.0))
    sign_in_reader.finish()
    return WebSettings(
        listen=listen, base_url=base_url,
        session_secret_file=relative(secret, base) if secret else None,
        allow_non_loopback=allow_non_loopback,
        secure_cookies=secure,
        idle_timeout_minutes=reader.integer("idle_timeout_minutes", 30, 1, 24 * 60),
        page_size=reader.integer("page_size", 25, 5, 500),
        cache_seconds=reader.integer("cache_seconds", 600, 0, 86400),
        trusted_proxies=reader.integer("trusted_proxies", 0, 0, 5),
        server_timing=reader.boolean("server_timing", False),
        sign_in=sign_in,
        roles=_roles(reader.section("roles")),
    )


def _roles(reader: Reader) -> RoleSettings:
    values: dict[str, str | None] = {}
    for key in ("la_admins_group", "service_desk_group", "school_admins_group"):
        value = reader.string(key) or None
        if value is not None and not _DN.fullmatch(value):
            reader.fail(key, f"expected a DN such as cn=hwb-la-admins,ou=groups,dc=example,dc=org,"
                             f" got {value!r}")
            value = None
        values[key] = value
    pattern = values["school_admins_group"]
    if pattern is not None and pattern.count(SCHOOL_PLACEHOLDER) != 1:
        reader.fail("school_admins_group", f"must hold {SCHOOL_PLACEHOLDER} once, where the school"
                                           f" number goes, got {pattern!r}")
        values["school_admins_group"] = None
    reader.finish()
    return RoleSettings(**values)
