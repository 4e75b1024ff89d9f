"""How each directory flavour stores "this account may not sign in".

DESIGN.md, "Flavours": OpenLDAP uses the ppolicy permanent lock
(`pwdAccountLockedTime: 000001010000Z`; a real lockout time is a password
lockout, not a lifecycle state), Active Directory bit 2 of
`userAccountControl`, 389-DS `nsAccountLock: TRUE`. Pure: values in, values out.
"""

from __future__ import annotations

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
