"""The `directory:` and `attributes:` sections: where the directory is, how to bind, what is mapped.

Passwords come from a file (`password_file`, which also finds systemd
credentials) or an environment variable (`password_env`), never inline outside
the embedded demo; plain ldap:// off loopback is refused unless
`allow_plaintext` says so.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from agent.core.dn import DnError, is_below, parent_dn, same_dn
from agent.settings.attributes import ALL_FIELDS, AttributeSpec, Encoding, Flavour, default_attributes
from agent.settings.reader import Reader, relative

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class Secret:
    """A password that prints as stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__




@dataclass(frozen=True)
class DirectorySettings:
    url: str
    base_dn: str
    flavour: Flavour
    bind_dn: str | None = None
    password: Secret | None = field(default=None, repr=False)
    start_tls: bool = False
    ca_file: Path | None = None
    allow_plaintext: bool = False
    page_size: int = 500
    timeout_seconds: int = 30
    state_file: Path | None = None  # mock: only; where the embedded directory is saved
    account_filter: str | None = None  # extra LDAP filter ANDed to every account search
    max_writes_in_flight: int = 1
    domain_controllers: tuple[str, ...] = ()  # AD: DCs to ask for the unreplicated lastLogon
    # Where sponsors and administrators are found by uid (reads only; default: the base DN's parent,
    # so that an ou=admins beside ou=people is searched too).
    people_base_dn: str | None = None
    # Issue 15: the subtree holding every authority's accounts (Hwb's one national directory). Read
    # for identity look-ups by MIS id; written only to move an account in under base_dn (MIS-3).
    national_base_dn: str | None = None
    # Not errors, but worth an operator's eye (a password file others can read); check-config shows
    # them, each naming its YAML path.
    warnings: tuple[str, ...] = ()

    @property
    def is_mock(self) -> bool:
        return self.url.startswith("mock:")

    @property
    def people_base(self) -> str:
        """The subtree searched for sponsors and administrators (`people_base_dn`, else the base DN's
        parent, else the base DN itself)."""
        return self.people_base_dn or parent_dn(self.base_dn) or self.base_dn




def parse_directory(top: Reader, base: Path) -> DirectorySettings:
    reader = top.section("directory")
    url = reader.string("url", required=True) or "mock:"
    scheme = urlparse(url).scheme
    if scheme not in ("ldap", "ldaps", "ldapi", "mock"):
        reader.fail("url", f"expected an ldap://, ldaps://, ldapi:// or mock: URL, got {url!r}")
    flavour_name = reader.choice("flavour", [f.value for f in Flavour], Flavour.OPENLDAP.value)
    base_dn = reader.string("base_dn", required=True) or ""
    bind_dn = reader.string("bind_dn")
    start_tls = reader.boolean("start_tls", False)
    allow_plaintext = reader.boolean("allow_plaintext", False)
    host = (urlparse(url).hostname or "").lower()
    if scheme == "ldap" and not start_tls and not allow_plaintext and not _is_loopback(host):
        reader.fail(
            "url",
            f"{url!r} would send the bind password in clear text: use ldaps://,"
            " start_tls: true, or set allow_plaintext: true explicitly",
        )
    warnings: list[str] = []
    password = _password(reader, scheme == "mock", base, warnings)
    given = any(reader.raw(key) is not None for key in ("password", "password_file", "password_env"))
    if bind_dn and not given and scheme not in ("mock", "ldapi"):
        # One message per problem: an unreadable password file has been reported already.
        reader.fail("password_file", "bind_dn is set but no password_file or password_env")
    ca_file = reader.path_value("ca_file")
    if ca_file is not None:
        ca_file = relative(ca_file, base)
        if not ca_file.is_file():
            reader.fail("ca_file", f"no such file: {str(ca_file)!r}")
    state_file = reader.path_value("state_file")
    settings = DirectorySettings(
        url=url,
        base_dn=base_dn,
        flavour=Flavour(flavour_name or Flavour.OPENLDAP.value),
        bind_dn=bind_dn,
        password=password,
        start_tls=start_tls,
        ca_file=ca_file,
        allow_plaintext=allow_plaintext,
        page_size=reader.integer("page_size", 500, 1, 10000),
        timeout_seconds=reader.integer("timeout_seconds", 30, 1, 3600),
        state_file=relative(state_file, base) if state_file else None,
        account_filter=reader.string("account_filter"),
        max_writes_in_flight=reader.integer("max_writes_in_flight", 1, 1, 256),
        domain_controllers=reader.string_list("domain_controllers"),
        people_base_dn=reader.string("people_base_dn"),
        national_base_dn=reader.string("national_base_dn"),
        warnings=tuple(warnings),
    )
    _check_national(reader, settings)
    if settings.account_filter and not (
        settings.account_filter.startswith("(") and settings.account_filter.endswith(")")
    ):
        reader.fail("account_filter", "an LDAP filter must be wrapped in parentheses")
    for index, controller in enumerate(settings.domain_controllers):
        # The agent binds to every DC with the same password: the same rules as `url`.
        parsed = urlparse(controller)
        if parsed.scheme not in ("ldap", "ldaps"):
            reader.fail(f"domain_controllers[{index}]",
                        f"expected an ldap:// or ldaps:// URL, got {controller!r}")
        elif (parsed.scheme == "ldap" and not start_tls and not allow_plaintext
              and not _is_loopback((parsed.hostname or "").lower())):
            reader.fail(f"domain_controllers[{index}]",
                        f"{controller!r} would send the bind password in clear text: use ldaps://,"
                        " start_tls: true, or set allow_plaintext: true explicitly")
    reader.finish()
    return settings


def _check_national(reader: Reader, settings: DirectorySettings) -> None:
    """Issue 15: the national subtree must hold this authority's base DN (transfers move an account
    from another authority's subtree of it into base_dn, C-3)."""
    national = settings.national_base_dn
    if national is None or not settings.base_dn:
        return
    try:
        inside = is_below(settings.base_dn, national)
    except DnError:
        reader.fail("national_base_dn", f"not a valid DN: {national!r}")
        return
    if same_dn(national, settings.base_dn):
        reader.fail("national_base_dn", f"{national!r} is base_dn itself: it must be the subtree"
                                        " above it that holds the other authorities' subtrees too")
    elif not inside:
        reader.fail("national_base_dn", f"{national!r} must contain base_dn {settings.base_dn!r}"
                                        " (the national subtree holds every authority's subtree)")


def _is_loopback(host: str) -> bool:
    """localhost or any loopback address (127.0.0.0/8, ::1): a Samba DC on 127.0.0.2 is local too."""
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _password(reader: Reader, is_demo: bool, base: Path, warnings: list[str]) -> Secret | None:
    inline = reader.raw("password")
    file_name = reader.string("password_file")
    env_name = reader.string("password_env")
    chosen = [name for name, value in
              (("password", inline), ("password_file", file_name), ("password_env", env_name))
              if value is not None]
    if len(chosen) > 1:
        reader.fail(chosen[1], f"give only one of {', '.join(chosen)}")
        return None
    if inline is not None:
        if not is_demo:
            reader.fail(
                "password",
                "an inline password is allowed only for the embedded demo directory;"
                " use password_file or password_env",
            )
            return None
        return Secret(str(inline))
    if file_name:
        path = relative(Path(file_name).expanduser(), base)
        # systemd LoadCredential= puts the secret under $CREDENTIALS_DIRECTORY.
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        if not path.is_file() and credentials and (Path(credentials) / path.name).is_file():
            path = Path(credentials) / path.name
        try:
            secret = Secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
            mode = path.stat().st_mode
        except OSError as error:
            reader.fail("password_file", f"cannot read {str(path)!r}: {error.strerror}")
            return None
        if mode & 0o044:
            # A warning, not an error: the operator may have reasons (a group of service accounts).
            warnings.append(f"at '{reader.where('password_file')}': {str(path)!r} is readable by"
                            f" {_who(mode)} (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
        return secret
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            reader.fail("password_env", f"environment variable {env_name} is not set")
            return None
        return Secret(value)
    return None


def _who(mode: int) -> str:
    readers = [name for bit, name in ((0o040, "its group"), (0o004, "others")) if mode & bit]
    return " and ".join(readers)


def parse_attributes(top: Reader, flavour: Flavour) -> dict[str, AttributeSpec]:
    reader = top.section("attributes")
    mapping = default_attributes(flavour)
    for key in sorted(reader.data, key=str):
        value = reader.raw(key)
        if key not in ALL_FIELDS:
            reader.fail(key, f"unknown field; known fields: {', '.join(sorted(ALL_FIELDS))}")
            continue
        if isinstance(value, str) and value.strip():
            mapping[key] = AttributeSpec(value.strip(), mapping[key].encoding)
            continue
        item = reader.section(key)
        name = item.string("name", required=True)
        encoding = item.choice("encoding", [e.value for e in Encoding], mapping[key].encoding.value)
        item.finish()
        if name:
            mapping[key] = AttributeSpec(name, Encoding(encoding or "string"))
    return mapping

