"""How each directory flavour stores "this account may not sign in".

DESIGN.md, "Flavours": OpenLDAP uses the ppolicy permanent lock
(`pwdAccountLockedTime: 000001010000Z`; a real lockout time is a password
lockout, not a lifecycle state), Active Directory bit 2 of
`userAccountControl`, 389-DS `nsAccountLock: TRUE`. Pure: values in, values out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from agent.directory.fields import Flavour

PPOLICY_PERMANENT_LOCK = "000001010000Z"
AD_ACCOUNTDISABLE = 0x2
AD_BITWISE_AND = "1.2.840.113556.1.4.803"
# userAccountControl of an enabled normal account when the entry carries none.
AD_NORMAL_ACCOUNT = 0x200


@dataclass(frozen=True)
class StateWrite:
    """The attribute operations that set the enabled state: (attribute, operation, values).

    operation is "replace", "delete" or "add"; a delete + add pair on the same
    attribute makes the write conditional on the value read (lost races fail).
    """

    operations: tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class FlavourState:
    flavour: Flavour

    @property
    def attribute(self) -> str:
        return {
            Flavour.OPENLDAP: "pwdAccountLockedTime",
            Flavour.ACTIVE_DIRECTORY: "userAccountControl",
            Flavour.DS389: "nsAccountLock",
        }[self.flavour]

    def is_enabled(self, token: str | None) -> bool:
        """`token` is the state attribute's value (None when absent)."""
        if token is None:
            return True
        if self.flavour is Flavour.OPENLDAP:
            return token.strip() != PPOLICY_PERMANENT_LOCK
        if self.flavour is Flavour.ACTIVE_DIRECTORY:
            return not int(token) & AD_ACCOUNTDISABLE
        return token.strip().lower() != "true"

    def write(self, enabled: bool, token: str | None) -> StateWrite:
        attribute = self.attribute
        if self.flavour is Flavour.ACTIVE_DIRECTORY:
            old = int(token) if token is not None else AD_NORMAL_ACCOUNT
            new = old & ~AD_ACCOUNTDISABLE if enabled else old | AD_ACCOUNTDISABLE
            if token is None:
                return StateWrite(((attribute, "replace", (str(new),)),))
            return StateWrite(((attribute, "delete", (token,)), (attribute, "add", (str(new),))))
        if enabled:
            return StateWrite(((attribute, "replace", ()),))
        value = PPOLICY_PERMANENT_LOCK if self.flavour is Flavour.OPENLDAP else "TRUE"
        return StateWrite(((attribute, "replace", (value,)),))

    def filter(self, enabled: bool, bitwise_supported: bool = True) -> str | None:
        """An LDAP filter selecting enabled (or disabled) accounts; None when unsupported."""
        if self.flavour is Flavour.ACTIVE_DIRECTORY:
            if not bitwise_supported:
                return None  # the embedded mock has no extensible match: read both
            disabled = f"(userAccountControl:{AD_BITWISE_AND}:={AD_ACCOUNTDISABLE})"
        elif self.flavour is Flavour.OPENLDAP:
            disabled = f"(pwdAccountLockedTime={PPOLICY_PERMANENT_LOCK})"
        else:
            disabled = "(nsAccountLock=TRUE)"
        return f"(!{disabled})" if enabled else disabled


_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_account_attributes(flavour: Flavour, real_server: bool = True) -> dict[str, list[object]]:
    """What makes a new entry an *enabled* account of this flavour, in its add (C-4).

    OpenLDAP and 389-DS: nothing (no lock attribute means enabled). Active Directory
    keeps a user added without a password disabled (userAccountControl 546) and
    refuses an enabled one (512) without a password whenever the domain has a
    minimum password length (Windows, by default; Samba 4.17 accepts it), so the add carries
    512, a random password nobody knows (never printed, logged or audited) and
    pwdLastSet 0: the person gets a password through the local authority's usual
    reset and must change it at first sign-in. Writing unicodePwd needs an
    encrypted connection on Windows (LDAPS or StartTLS, which the agent requires
    off loopback anyway) and the "Reset password" right on the accounts OU.
    `real_server` False (the embedded mock): the state attribute only.
    """
    if flavour is not Flavour.ACTIVE_DIRECTORY:
        return {}
    attributes: dict[str, list[object]] = {"userAccountControl": [str(AD_NORMAL_ACCOUNT)]}
    if real_server:
        random_part = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(28))
        password = f"{random_part}-a7Q!"  # all four character classes, whatever the complexity rules
        attributes["unicodePwd"] = [f'"{password}"'.encode("utf-16-le")]
        attributes["pwdLastSet"] = ["0"]
    return attributes
