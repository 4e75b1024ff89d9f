"""OpenLDAP: the ppolicy permanent lock, pwdLastSuccess, leaves-first purge."""

from __future__ import annotations

from agent.directory.flavours.base import DirectoryFlavour, StateWrite
from agent.settings.attributes import Flavour

# A ppolicy lockout with a real time is a password lockout, not a lifecycle state.
PPOLICY_PERMANENT_LOCK = "000001010000Z"


class OpenLdap(DirectoryFlavour):
    kind = Flavour.OPENLDAP
    attribute = "pwdAccountLockedTime"

    def is_enabled(self, token: str | None) -> bool:
        return token is None or token.strip() != PPOLICY_PERMANENT_LOCK

    def write(self, enabled: bool, token: str | None) -> StateWrite:
        if enabled:
            return StateWrite(((self.attribute, "replace", ()),))
        return StateWrite(((self.attribute, "replace", (PPOLICY_PERMANENT_LOCK,)),))

    def filter(self, enabled: bool, bitwise_supported: bool = True) -> str | None:
        disabled = f"({self.attribute}={PPOLICY_PERMANENT_LOCK})"
        return f"(!{disabled})" if enabled else disabled
