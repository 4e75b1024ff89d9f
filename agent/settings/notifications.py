"""The `notifications:` section: reminders to sponsors by email (issue 14; NM-8, NM-7, MIS-5).

```yaml
notifications:
  host: smtp.cardiff.example.org      # absent: no mail is sent (`remind --dry-run` still prints)
  port: 587                           # default 587 (starttls), 465 (implicit), 25 (none)
  tls: starttls                       # starttls | implicit | none (none: only to a loopback host)
  ca_file: /etc/ssl/certs/la-ca.pem   # CA bundle to verify the server; default: the system's
  credential_file: smtp-credential    # "user:password" on one line, or user and password on two lines
  timeout_seconds: 30                 # connect, each command, each message
  from: "Hwb <hwb-agent@cardiff.example.org>"
  fallback_address: hwb-admins@cardiff.example.org   # gets what no sponsor's mail can (optional)
  thresholds_days: [56, 14]           # NM-8: expiries announced 8 weeks and 2 weeks ahead
  purge_notice_days: 28               # NM-7/MIS-5: deletions announced 4 weeks ahead
  rate_per_minute: 30                 # at most this many messages a minute
```

The credential file (a path, or a systemd LoadCredential name found under $CREDENTIALS_DIRECTORY,
like `directory.password_file`) holds the SMTP login: either one line `user:password` (split at the
first colon, so the password may hold colons) or two lines, the user then the password (for a
user name with a colon). A file readable by its group or others is a warning, not an error. The
languages are fixed: Welsh first, then English, in every part of every message.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address, HeaderRegistry
from pathlib import Path

from agent.settings.directory import Secret
from agent.settings.reader import Reader, relative, show
from agent.settings.service import is_loopback

TLS_MODES = ["starttls", "implicit", "none"]
DEFAULT_PORTS = {"starttls": 587, "implicit": 465, "none": 25}
DEFAULT_THRESHOLDS = (56, 14)
DEFAULT_PURGE_NOTICE_DAYS = 28
# Welsh first, as Welsh public bodies write (issue 14): not configurable.
LANGUAGES = ("cy", "en")


@dataclass(frozen=True)
class SmtpLogin:
    user: str
    password: Secret = field(repr=False)


@dataclass(frozen=True)
class NotificationSettings:
    host: str | None = None
    port: int = 587
    tls: str = "starttls"
    ca_file: Path | None = None
    login: SmtpLogin | None = field(default=None, repr=False)
    timeout_seconds: int = 30
    sender: str | None = None  # `from:`
    fallback_address: str | None = None
    thresholds_days: tuple[int, ...] = DEFAULT_THRESHOLDS
    purge_notice_days: int = DEFAULT_PURGE_NOTICE_DAYS
    rate_per_minute: int = 30
    languages: tuple[str, ...] = LANGUAGES
    warnings: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether mail can be sent (an SMTP host is configured)."""
        return self.host is not None

    @property
    def horizon_days(self) -> int:
        """The furthest ahead any reminder looks (the largest threshold or the purge notice)."""
        return max((*self.thresholds_days, self.purge_notice_days))


def parse_notifications(reader: Reader, base: Path) -> NotificationSettings:
    host = reader.string("host") or None
    tls = reader.choice("tls", TLS_MODES, "starttls") or "starttls"
    port = reader.integer("port", DEFAULT_PORTS[tls], 1, 65535)
    if host is not None and tls == "none" and not is_loopback(host):
        reader.fail("tls", f"tls: none sends mail and the SMTP password in clear text: allowed only to"
                           f" a loopback host, not {host!r} (use starttls or implicit)")
    ca_file = reader.path_value("ca_file")
    if ca_file is not None:
        ca_file = relative(ca_file, base)
        if not ca_file.is_file():
            reader.fail("ca_file", f"no such file: {str(ca_file)!r}")
    warnings: list[str] = []
    login = _login(reader, base, warnings)
    sender = _address(reader, "from")
    if host is not None and sender is None:
        reader.fail("from", "is required when host is set (the address reminders come from)")
    thresholds = _thresholds(reader)
    settings = NotificationSettings(
        host=host, port=port, tls=tls, ca_file=ca_file, login=login,
        timeout_seconds=reader.integer("timeout_seconds", 30, 1, 600),
        sender=sender,
        fallback_address=_address(reader, "fallback_address"),
        thresholds_days=thresholds,
        purge_notice_days=reader.integer("purge_notice_days", DEFAULT_PURGE_NOTICE_DAYS, 1, 366),
        rate_per_minute=reader.integer("rate_per_minute", 30, 1, 10000),
        warnings=tuple(warnings),
    )
    reader.finish()
    return settings


def _thresholds(reader: Reader) -> tuple[int, ...]:
    raw = reader.raw("thresholds_days")
    if raw is None:
        return DEFAULT_THRESHOLDS
    if (not isinstance(raw, list) or not raw
            or not all(isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 366
                       for item in raw)):
        reader.fail("thresholds_days",
                    f"expected a list of whole numbers of days from 1 to 366, got {show(raw)}")
        return DEFAULT_THRESHOLDS
    if len(set(raw)) != len(raw):
        reader.fail("thresholds_days", f"each threshold once, got {show(raw)}")
        return DEFAULT_THRESHOLDS
    return tuple(sorted(raw, reverse=True))


def _address(reader: Reader, key: str) -> str | None:
    """A mail address (`Name <a@b>` or `a@b`), checked as a header would parse it."""
    text = reader.string(key) or None
    if text is None:
        return None
    try:
        header = HeaderRegistry()("To", text)
        addresses: tuple[Address, ...] = header.addresses  # type: ignore[attr-defined]
        defects = header.defects
    except (HeaderParseError, IndexError, ValueError):
        addresses, defects = (), ()
    if len(addresses) != 1 or defects or "@" not in addresses[0].addr_spec or not addresses[0].domain:
        reader.fail(key, f"expected one mail address such as hwb@example.org, got {text!r}")
        return None
    return text


def _login(reader: Reader, base: Path, warnings: list[str]) -> SmtpLogin | None:
    name = reader.string("credential_file")
    if not name:
        return None
    path = relative(Path(name).expanduser(), base)
    # systemd LoadCredential= puts the secret under $CREDENTIALS_DIRECTORY.
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if not path.is_file() and credentials and (Path(credentials) / path.name).is_file():
        path = Path(credentials) / path.name
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as error:
        reader.fail("credential_file", f"cannot read {str(path)!r}: {error.strerror}")
        return None
    lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if len(lines) >= 2:
        user, password = lines[0].strip(), lines[1]
    elif len(lines) == 1 and ":" in lines[0]:
        user, password = lines[0].split(":", 1)
        user = user.strip()
    else:
        reader.fail("credential_file", f"{str(path)!r}: expected 'user:password' on one line, or the user"
                                       " and the password on two lines")
        return None
    if not user or not password:
        reader.fail("credential_file", f"{str(path)!r}: the user and the password must not be empty")
        return None
    if mode & 0o044:
        who = " and ".join(name for bit, name in ((0o040, "its group"), (0o004, "others")) if mode & bit)
        # A warning, not an error, as for directory.password_file.
        warnings.append(f"at '{reader.where('credential_file')}': {str(path)!r} is readable by {who}"
                        f" (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
    return SmtpLogin(user, Secret(password))

