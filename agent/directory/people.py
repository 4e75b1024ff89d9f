"""People found by uid who need not be managed accounts: sponsors (reminders) and administrators
(the console's sign-in and roles).

Read only, under `directory.people_base` (C-3 limits writes, not reads): a sponsor is usually an
administrator's entry in an ou=admins beside the accounts, or a staff account. Each person comes with
the groups that name them as member (groupOfNames `member`, groupOfUniqueNames `uniqueMember`), which
works on every flavour without the memberOf overlay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ldap3.utils.conv import escape_filter_chars

from agent.core.dn import dn_key
from agent.directory.gateway import Directory

# uids per search when many are resolved at once (a filter of a few kB is fine on every server).
_CHUNK = 50


@dataclass(frozen=True)
class Person:
    uid: str
    dn: str
    name: str | None
    mail: str | None
    # False when the flavour's state attribute says disabled, or cannot be read (never mail a person
    # whose state is unknown as if they were active).
    enabled: bool
    # DNs of the groups naming this person, as the server wrote them (compare with `in_group`).
    groups: frozenset[str] = frozenset()

    def in_group(self, group_dn: str) -> bool:
        wanted = dn_key(group_dn)
        return any(dn_key(group) == wanted for group in self.groups)


class AmbiguousPerson(LookupError):
    """Two entries under the people base carry the same uid: neither is trusted."""


class People:
    """Look people up by uid under the directory's people base."""

    def __init__(self, directory: Directory):
        self.directory = directory
        self.base = directory.settings.people_base
        mapper = directory.mapper
        self._uid = mapper.attribute("uid")
        self._mail = mapper.attribute("mail")
        self._name = mapper.attribute("display_name")
        self._state = mapper.flavour.attribute

    def find(self, uid: str, *, with_groups: bool = False) -> Person | None:
        """The person with this uid (None when there is none). AmbiguousPerson when two are."""
        found = self._search([uid])
        matches = found.get(uid.lower(), [])
        if len(matches) > 1:
            raise AmbiguousPerson(f"{len(matches)} entries under {self.base!r} have the uid {uid!r}: "
                                  + ", ".join(person.dn for person in matches))
        if not matches:
            return None
        person = matches[0]
        if with_groups:
            person = Person(person.uid, person.dn, person.name, person.mail, person.enabled,
                            self.groups_of(person.dn))
        return person

    def find_many(self, uids: Iterable[str]) -> dict[str, list[Person]]:
        """Every entry per uid (lower-cased key); a uid with no entry is absent from the result, one
        with several entries lists them all (the caller reports it)."""
        return self._search(sorted({uid for uid in uids if uid}))

    def groups_of(self, dn: str) -> frozenset[str]:
        escaped = escape_filter_chars(dn)
        search_filter = f"(|(member={escaped})(uniqueMember={escaped}))"
        return frozenset(group for group, _ in self.directory.search(search_filter, [], base=self.base))

    def _search(self, uids: list[str]) -> dict[str, list[Person]]:
        found: dict[str, list[Person]] = {}
        for start in range(0, len(uids), _CHUNK):
            chunk = uids[start:start + _CHUNK]
            terms = "".join(f"({self._uid}={escape_filter_chars(uid)})" for uid in chunk)
            search_filter = terms if len(chunk) == 1 else f"(|{terms})"
            attributes = [self._uid, self._mail, self._name, self._state]
            for dn, raw in self.directory.search(search_filter, attributes, base=self.base):
                person = self._person(dn, raw)
                if person is not None:
                    found.setdefault(person.uid.lower(), []).append(person)
        return found

    def _person(self, dn: str, raw: dict[str, list[bytes]]) -> Person | None:
        uid = _first(raw, self._uid)
        if uid is None:
            return None
        state = _first(raw, self._state)
        try:
            enabled = self.directory.flavour.is_enabled(state)
        except ValueError:
            enabled = False
        return Person(uid, dn, _first(raw, self._name), _first(raw, self._mail), enabled)


def _first(raw: dict[str, list[bytes]], attribute: str) -> str | None:
    """The first value of `attribute` (names compared without case), decoded; None when absent."""
    for name, values in raw.items():
        if name.lower() == attribute.lower() and values:
            value = values[0]
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return text.strip() or None
    return None

