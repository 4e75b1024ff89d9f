"""Active Directory: userAccountControl bit 2, cn-named users, a password on create, tree delete."""

from __future__ import annotations

import secrets

from agent.directory.flavours.base import DirectoryFlavour, StateWrite
from agent.settings.attributes import Flavour

AD_ACCOUNTDISABLE = 0x2
AD_BITWISE_AND = "1.2.840.113556.1.4.803"
# userAccountControl of an enabled normal account when the entry carries none.
AD_NORMAL_ACCOUNT = 0x200
# sAMAccountName holds at most 20 characters.
AD_UID_MAX_LENGTH = 20

_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ActiveDirectory(DirectoryFlavour):
    kind = Flavour.ACTIVE_DIRECTORY
    attribute = "userAccountControl"
    account_classes = ("top", "person", "organizationalPerson", "user")
    rdn_attribute = "cn"
    uid_max_length = AD_UID_MAX_LENGTH
    time_fraction = True
    auxiliary_class_needed = False
    tree_delete = True
    sign_in_lags = True
    conditional_moves = False  # no assertion control on AD DCs (issue 15: re-read, then move)

    def is_enabled(self, token: str | None) -> bool:
        return token is None or not int(token) & AD_ACCOUNTDISABLE

    def write(self, enabled: bool, token: str | None) -> StateWrite:
        old = int(token) if token is not None else AD_NORMAL_ACCOUNT
        new = old & ~AD_ACCOUNTDISABLE if enabled else old | AD_ACCOUNTDISABLE
        if token is None:
            return StateWrite(((self.attribute, "replace", (str(new),)),))
        # Conditional on the value read: another writer's change in between makes this one fail.
        return StateWrite(((self.attribute, "delete", (token,)), (self.attribute, "add", (str(new),))))

    def filter(self, enabled: bool, bitwise_supported: bool = True) -> str | None:
        if not bitwise_supported:
            return None  # the embedded mock has no extensible match: read both
        disabled = f"({self.attribute}:{AD_BITWISE_AND}:={AD_ACCOUNTDISABLE})"
        return f"(!{disabled})" if enabled else disabled

    def enabling_attributes(self, real_server: bool = True) -> dict[str, list[object]]:
        """AD keeps a user added without a password disabled (userAccountControl 546) and refuses
        an enabled one (512) without a password whenever the domain has a minimum password length
        (Windows, by default; Samba 4.17 accepts it), so the add carries 512, a random password
        nobody knows (never printed, logged or audited) and pwdLastSet 0: the person gets a password
        through the local authority's usual reset and must change it at first sign-in. Writing
        unicodePwd needs an encrypted connection on Windows (LDAPS or StartTLS, which the agent
        requires off loopback anyway) and the "Reset password" right on the accounts OU.
        `real_server` False (the embedded mock): the state attribute only.
        """
        attributes: dict[str, list[object]] = {self.attribute: [str(AD_NORMAL_ACCOUNT)]}
        if real_server:
            random_part = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(28))
            password = f"{random_part}-a7Q!"  # all four character classes, whatever the complexity rules
            attributes["unicodePwd"] = [f'"{password}"'.encode("utf-16-le")]
            attributes["pwdLastSet"] = ["0"]
        return attributes
