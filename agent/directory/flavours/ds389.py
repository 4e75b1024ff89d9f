"""389 Directory Server: nsAccountLock, lastLoginTime (Account Policy plugin), leaves-first purge."""

from __future__ import annotations

from agent.directory.flavours.base import DirectoryFlavour, StateWrite
from agent.settings.attributes import Flavour


class Ds389(DirectoryFlavour):
    kind = Flavour.DS389
    attribute = "nsAccountLock"
    # 389-DS 2.3 answers a modify DN carrying the assertion control with unavailableCriticalExtension
    # (12), measured by tests/directory/test_national.py: re-read, then move (issue 15).
    conditional_moves = False

    def is_enabled(self, token: str | None) -> bool:
        return token is None or token.strip().lower() != "true"

    def write(self, enabled: bool, token: str | None) -> StateWrite:
        if enabled:
            return StateWrite(((self.attribute, "replace", ()),))
        return StateWrite(((self.attribute, "replace", ("TRUE",)),))

    def filter(self, enabled: bool, bitwise_supported: bool = True) -> str | None:
        disabled = f"({self.attribute}=TRUE)"
        return f"(!{disabled})" if enabled else disabled
