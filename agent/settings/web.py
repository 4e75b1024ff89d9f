"""The `web:` section: the administrators' console (`hwb-agent web`, issue 13).

```yaml
web:
  listen: 127.0.0.1:8080                     # host:port served (behind a TLS reverse proxy off loopback)
  base_url: https://hwb-admin.example.org    # the public address: links in reminders (issue 14)
  session_secret_file: /run/credentials/hwb-agent-web/session-secret
```

The console's own keys (roles, timeouts) are added by its module; `base_url` is also read by the
reminders, which link each account to its View Details page when it is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from agent.settings.reader import Reader, relative
from agent.settings.service import ListenAddress, parse_listen

DEFAULT_LISTEN = ListenAddress("127.0.0.1", 8080)


@dataclass(frozen=True)
class WebSettings:
    listen: ListenAddress = DEFAULT_LISTEN
    # The console's public address without a trailing slash (None: no links are made to it).
    base_url: str | None = None
    session_secret_file: Path | None = None

    def details_url(self, uid: str) -> str | None:
        """The View Details page of one account, or None when no base URL is configured."""
        return f"{self.base_url}/accounts/{quote(uid, safe='')}" if self.base_url else None


def parse_web(reader: Reader, base: Path) -> WebSettings:
    listen = DEFAULT_LISTEN
    listen_text = reader.string("listen")
    if listen_text:
        try:
            listen = parse_listen(listen_text)
        except ValueError as error:
            reader.fail("listen", str(error))
    base_url = reader.string("base_url") or None
    if base_url is not None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            reader.fail("base_url", f"expected an http:// or https:// address, got {base_url!r}")
        base_url = base_url.rstrip("/")
    secret = reader.path_value("session_secret_file")
    return WebSettings(listen=listen, base_url=base_url,
                       session_secret_file=relative(secret, base) if secret else None)
