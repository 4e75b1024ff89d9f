"""The one place that talks to the directory server (ldap3).

`Directory` reads accounts with paged, generator-based searches that ask only
for the attributes needed, and writes each change to an account as one LDAP
modify (C-4). Every write is checked against the base DN first (C-3). Errors
come out as `agent.core.errors` exceptions whose messages never carry the bind
password.
"""

from __future__ import annotations

import contextlib
import functools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn, safe_rdn

from agent.core import criteria as c
from agent.core.changes import Change
from agent.core.dn import DnError, dn_key, is_below
from agent.core.errors import DirectoryUnavailable, DirectoryWriteError, ScopeError
from agent.core.model import Account
from agent.directory.change_operations import operations_for
from agent.directory.filters import FilterRenderer
from agent.directory.flavours import DirectoryFlavour
from agent.directory.flavours import Operation as FlavourOperation
from agent.directory.mapping import EntryMapper
from agent.directory.pipeline import ModifyPipeline
from agent.settings.directory import DirectorySettings

_OPERATIONS = {
    "replace": ldap3.MODIFY_REPLACE,
    "delete": ldap3.MODIFY_DELETE,
    "add": ldap3.MODIFY_ADD,
}
TREE_DELETE_CONTROL = "1.2.840.113556.1.4.805"

Operation = FlavourOperation
Key = TypeVar("Key")


@dataclass
class OperationCounts:
    """LDAP operations sent by this gateway (for reports and benchmarks)."""

    searches: int = 0
    entries_read: int = 0
    modifies: int = 0
    adds: int = 0
    deletes: int = 0
    moves: int = 0  # modify DN (issue 15: transfers between authorities)

    @property
    def writes(self) -> int:
        return self.modifies + self.adds + self.deletes + self.moves


# Result codes after which a search's answer is complete. ldap3 raises on most others, but not on
# sizeLimitExceeded (4) or timeLimitExceeded (3), even with raise_exceptions=True: those come back
# as a normal end of the search with fewer entries than exist.
_COMPLETE = {0}


def _incomplete(result: Mapping[str, Any] | None) -> str | None:
    """Why a finished search's answer is not the whole answer (None when it is)."""
    if not result:
        return None
    code = result.get("result")
    if code in _COMPLETE or code is None:
        return None
    return f"{result.get('description') or 'result'} ({code}): {result.get('message') or 'no detail'}"


def _textually_below(dn: str, base_suffix: str) -> bool:
    """The cheap case of the scope check: `dn` ends with "," + the base DN, spelt as configured,
    and that comma is not escaped (an even run of backslashes before it), so it separates RDNs.
    Anything else (other spacing or escaping, quotes) takes the full parse."""
    if len(dn) <= len(base_suffix) or not dn.lower().endswith(base_suffix) or '"' in dn:
        return False
    head = dn[: -len(base_suffix)]
    return "=" in head and (len(head) - len(head.rstrip("\\"))) % 2 == 0


@dataclass
class Directory:
    """An open, bound connection to one local authority's directory."""

    settings: DirectorySettings
    mapper: EntryMapper
    connection: Any
    counts: OperationCounts = field(default_factory=OperationCounts)
    on_write: Callable[[], None] | None = None  # the embedded directory saves its state here
    # Opens a second connection for windowed writes (None: one write at a time).
    open_writer: Callable[[], Any] | None = None
    _writer: Any = field(default=None, init=False, repr=False)

    @property
    def base_dn(self) -> str:
        return self.settings.base_dn

    @functools.cached_property
    def _base_suffix(self) -> str:
        return "," + self.base_dn.lower()

    # --- reading ---------------------------------------------------------------------------

    def renderer(self) -> FilterRenderer:
        real = not self.settings.is_mock
        return FilterRenderer(self.mapper, bitwise_supported=real, negated_ranges=real)

    def account_filter(self, criterion: c.Criterion | None = None) -> str:
        """The LDAP filter of managed accounts (category present) narrowed by `criterion`."""
        parts = [f"({self.mapper.attribute('category')}=*)"]
        if self.settings.account_filter:
            parts.append(self.settings.account_filter)
        if criterion is not None:
            rendered = self.renderer().render(criterion)
            if rendered is not None:
                parts.append(rendered)
        return parts[0] if len(parts) == 1 else f"(&{''.join(parts)})"

    def search(
        self, search_filter: str, attributes: Sequence[str], base: str | None = None, *,
        missing_ok: bool = False,
    ) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
        """Paged subtree search yielding (dn, raw attributes), streaming page by page.
        `missing_ok`: a `base` that does not exist (an entry moved or deleted meanwhile, issue 15)
        yields nothing instead of raising."""
        self.counts.searches += 1
        try:
            results = self.connection.extend.standard.paged_search(
                search_base=base or self.base_dn,
                search_filter=search_filter,
                search_scope=ldap3.SUBTREE,
                attributes=list(attributes) or ldap3.NO_ATTRIBUTES,
                paged_size=self.settings.page_size,
                generator=True,
            )
            for item in results:
                if item.get("type") != "searchResEntry":
                    continue
                self.counts.entries_read += 1
                yield item["dn"], item.get("raw_attributes") or {}
            # A truncated answer (size or time limit) is a failed read, never "these are all": the
            # callers would otherwise take the missing accounts for absent ones.
            why = _incomplete(self.connection.result)
            if why is not None:
                raise DirectoryUnavailable(
                    f"search under {base or self.base_dn!r} ended incomplete, {why}; nothing was"
                    " concluded from it (check the server's size/time limits for the agent)"
                )
        except ldap_errors.LDAPNoSuchObjectResult:
            if missing_ok:
                return
            if base is not None and _dn_key(base) != _dn_key(self.base_dn):
                # Name the base searched: a people or national base is not the authority's base DN.
                raise DirectoryUnavailable(f"the search base {base!r} does not exist on the server") from None
            raise DirectoryUnavailable(f"the base DN {self.base_dn!r} does not exist on the server") from None
        except (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPSocketOpenError) as error:
            raise DirectoryUnavailable(f"directory connection lost during a search: {error}") from None
        except ldap_errors.LDAPOperationResult as error:
            raise DirectoryUnavailable(
                f"search refused by the server: {error.description} ({error.message or ''})"
            ) from None

    def accounts(
        self, criterion: c.Criterion | None = None, fields: Iterable[str] | None = None
    ) -> Iterator[Account]:
        """Accounts in scope matching `criterion` (all when None), as snapshots."""
        attributes = self.mapper.read_attributes(fields)
        for dn, raw in self.search(self.account_filter(criterion), attributes):
            yield self.mapper.to_account(dn, raw)

    def count_accounts(self, stop_at: int | None = None) -> int:
        """Accounts in scope; with `stop_at`, counting stops there (the result is then a lower bound:
        reading every DN of 100k accounts takes seconds when a caller only needs "at least N")."""
        count = 0
        for _ in self.search(self.account_filter(), []):
            count += 1
            if stop_at is not None and count >= stop_at:
                break
        return count

    def find(self, field_name: str, value: str) -> list[Account]:
        """Accounts whose `field_name` equals `value` (escaped; case per the server's rules)."""
        return list(self.accounts(c.Equals(field_name, value)))

    def value_taken(self, field_name: str, value: str) -> bool:
        """Whether any entry under the base DN (an account or not) carries `value` in `field_name`."""
        rendered = self.renderer().render(c.Equals(field_name, value))
        assert rendered is not None
        # Read to the end (a few entries at most) so that no paged search is left open.
        return sum(1 for _ in self.search(rendered, [])) > 0

    def child_dn(self, rdn_attribute: str, value: str, parent: str) -> str:
        """The DN `rdn_attribute=value,parent` with the value escaped (RFC 4514)."""
        return f"{rdn_attribute}={escape_rdn(value)},{parent}"

    @property
    def flavour(self) -> DirectoryFlavour:
        return self.mapper.flavour

    def new_account(self, uid: str, parent: str, fields: Mapping[str, Any], *,
                    object_classes: Sequence[str] | None = None, rdn_attribute: str | None = None
                    ) -> tuple[str, tuple[str, ...], dict[str, list[Any]]]:
        """(dn, object classes, attributes) of a new, enabled account named by `uid` under `parent`.

        The logical `fields` go through the attribute map; the flavour adds what makes the entry an
        enabled account (on AD a random password) and names the RDN attribute and classes, unless
        the configuration chose its own (`accounts.object_classes`, `accounts.rdn_attribute`).
        """
        flavour = self.flavour
        rdn = rdn_attribute or flavour.rdn_attribute
        attributes: dict[str, list[Any]] = dict(self.mapper.entry_attributes(dict(fields)))
        attributes.update(flavour.enabling_attributes(real_server=not self.settings.is_mock))
        attributes.setdefault(rdn, [uid])
        classes = tuple(object_classes or flavour.account_classes)
        return self.child_dn(rdn, uid, parent), classes, attributes

    def ensure_container(self, relative: str) -> list[str]:
        """Create the OUs of `relative` (e.g. "ou=a,ou=b") under the base DN that do not exist yet,
        parents first; returns the DNs created. One created meanwhile by someone else is fine."""
        levels = [part.strip() for part in relative.split(",") if part.strip()]
        created: list[str] = []
        for depth in range(len(levels) - 1, -1, -1):
            dn = f"{','.join(levels[depth:])},{self.base_dn}"
            kind, _, value = levels[depth].partition("=")
            if self._container_exists(dn, kind.strip(), value.strip()):
                continue
            entry = self.flavour.container(kind.strip(), value.strip())
            try:
                self.add(dn, entry.object_classes, entry.attributes)
            except DirectoryWriteError as error:
                if error.already_exists:
                    continue
                raise
            created.append(dn)
        return created

    def _container_exists(self, dn: str, kind: str, value: str) -> bool:
        """Whether the container `dn` exists: looked up by its RDN under the base DN (a base search
        of a missing entry is an error, not an empty answer), compared parsed."""
        wanted = _dn_key(dn)
        search_filter = f"({escape_filter_chars(kind)}={escape_filter_chars(value)})"
        return any(_dn_key(found) == wanted for found, _ in self.search(search_filter, []))

    def read(self, dn: str) -> Account | None:
        """One account by DN (None when absent)."""
        self._check_scope(dn)
        return self.read_anywhere(dn)

    def read_anywhere(self, dn: str) -> Account | None:
        """One account by DN, wherever it is (None when absent): reads are not bound by C-3. For
        the national directory of issue 15 (agent.directory.national); `read` checks the scope."""
        try:
            found = self.connection.search(
                dn, self.account_filter(), search_scope=ldap3.BASE,
                attributes=self.mapper.read_attributes(),
            )
        except ldap_errors.LDAPNoSuchObjectResult:
            return None
        except ldap_errors.LDAPCommunicationError as error:
            raise DirectoryUnavailable(f"directory connection lost: {error}") from None
        self.counts.searches += 1
        why = _incomplete(self.connection.result)
        if why is not None:
            raise DirectoryUnavailable(f"reading {dn!r} failed, {why}")
        if not found or not self.connection.response:
            return None
        entry = self.connection.response[0]
        return self.mapper.to_account(entry["dn"], entry.get("raw_attributes") or {})

    # --- writing ---------------------------------------------------------------------------

    def _check_scope(self, dn: str) -> None:
        """C-3: nothing outside the local authority's base DN is ever written. DNs are compared
        parsed (servers return their own escaping and case: `\\,` or `\\2C`, `OU=People`),
        after a cheap textual test that settles the usual case."""
        if not self._below_base(dn):
            raise ScopeError(f"{dn!r} is outside the base DN {self.base_dn!r} (C-3): not changed")

    def _below_base(self, dn: str) -> bool:
        """Whether `dn` is strictly below the base DN; ScopeError when it is not a DN."""
        if _textually_below(dn, self._base_suffix):
            return True
        try:
            return is_below(dn, self.base_dn)
        except DnError:
            raise ScopeError(f"not a valid DN: {dn!r}") from None

    def modify(self, dn: str, operations: Sequence[Operation]) -> None:
        """Apply all `operations` to one entry in a single LDAP modify (C-4)."""
        self._check_scope(dn)
        changes = _modify_changes(operations)
        self.counts.modifies += 1
        self._write(lambda: self.connection.modify(dn, changes), f"modify {dn!r}")

    def change_operations(self, account: Account, change: Change, *, conditional: bool = False
                          ) -> list[Operation]:
        """The operations of one change (agent.directory.change_operations)."""
        return operations_for(self.mapper, account, change, conditional=conditional)

    def write_change(self, account: Account, change: Change, *, conditional: bool = False) -> None:
        """The new state, its reason and its time in one modify (C-4); `conditional`: see
        `change_operations`. A lost race raises DirectoryWriteError with `lost_race` True."""
        try:
            self.modify(account.dn, self.change_operations(account, change, conditional=conditional))
        except DirectoryWriteError as error:
            if error.result_code in LOST_RACE_CODES:
                raise DirectoryWriteError(
                    f"{account.uid or account.dn}: changed by another writer since it was read"
                    f" (lost race): nothing written; read it again and retry ({error})",
                    error.result_code) from None
            raise

    def write_changes(
        self, items: Iterable[tuple[Key, Account, Change]], before_send: Callable[[], None] | None = None,
    ) -> Iterator[tuple[Key, DirectoryWriteError | ScopeError | None]]:
        """Write each change as one modify (C-4); yields (key, None) once the server accepted it, or
        (key, error) when it refused it or it was out of scope.

        With `directory.max_writes_in_flight` above 1 (and a real server), the modifies go out on a
        second connection with at most that many requests awaiting their result (agent.directory.
        pipeline): the changes are independent per account, and pipelining hides the round trip.
        The window is never unbounded, since sending thousands without reading the replies breaks
        the connection. Every result is read and checked; results come back in the order the items
        went in. A lost connection raises DirectoryUnavailable: the changes still in flight are then
        unconfirmed (not reported as done), and the next sweep sees whichever state the server kept.
        `before_send` is called before requests leave (the write-ahead log's fsync, issue 11).
        """
        window = self.settings.max_writes_in_flight
        if window <= 1 or self.open_writer is None:
            for key, account, change in items:
                try:
                    if before_send is not None:
                        before_send()
                    self.write_change(account, change)
                except (DirectoryWriteError, ScopeError) as error:
                    yield key, error
                else:
                    yield key, None
            return

        def modify(account: Account, change: Change) -> Callable[[ModifyPipeline], int]:
            def send(pipeline: ModifyPipeline) -> int:
                self.counts.modifies += 1
                return pipeline.send(account.dn, self.change_operations(account, change))
            return send

        yield from self._windowed(
            ((key, account.dn, modify(account, change)) for key, account, change in items), "modify",
            before_send)

    def _windowed(self, requests: Iterable[tuple[Key, str, Callable[[ModifyPipeline], int]]], verb: str,
                  before_send: Callable[[], None] | None = None,
                  ) -> Iterator[tuple[Key, DirectoryWriteError | ScopeError | None]]:
        """Send each (key, dn, send) on the write pipeline with at most `max_writes_in_flight`
        awaiting their result; yield (key, error or None) in the order they went in."""
        window = self.settings.max_writes_in_flight
        pipeline = self._pipeline()
        pending: deque[tuple[Key, str, int]] = deque()
        for key, dn, send in requests:
            try:
                self._check_scope(dn)
            except ScopeError as error:
                yield key, error
                continue
            pending.append((key, dn, send(pipeline)))
            if len(pending) >= window:
                # Window full: send it, then take results back down to half a window, so that
                # requests and results both travel in batches while the server stays busy.
                if before_send is not None:
                    before_send()
                self._flush(pipeline)
                while len(pending) > window // 2:
                    yield self._collect(pipeline, *pending.popleft(), verb=verb)
        if before_send is not None:
            before_send()
        self._flush(pipeline)
        while pending:
            yield self._collect(pipeline, *pending.popleft(), verb=verb)

    def _flush(self, pipeline: ModifyPipeline) -> None:
        try:
            pipeline.flush()
        except (OSError, ldap_errors.LDAPCommunicationError) as error:
            self._drop_writer()
            raise DirectoryUnavailable(f"directory connection lost while writing: {error}") from None

    def _drop_writer(self) -> None:
        """Forget a write connection that failed: requests may still be in flight on it (a later
        window opens a new one, within `timeout_seconds` like the first)."""
        if self._writer is not None:
            discard_connection(self._writer)
            self._writer = None

    def _pipeline(self) -> ModifyPipeline:
        if self._writer is None:
            assert self.open_writer is not None
            self._writer = self.open_writer()
        return ModifyPipeline(self._writer)

    def write_adds(
        self, items: Iterable[tuple[Key, str, Sequence[str], Mapping[str, list[Any]]]]
    ) -> Iterator[tuple[Key, DirectoryWriteError | ScopeError | None]]:
        """Add each (key, dn, object classes, attributes) as one add (attributes without values left
        out); yields (key, None) once the server accepted it, or (key, error) when it refused it or
        it was out of scope.

        The adds of new entries are as independent as a sweep's modifies (an MIS import's creates):
        with `directory.max_writes_in_flight` above 1 (and a real server) they share write_changes'
        bounded window on the second connection, every result read and checked, in order; else
        one `add` at a time. The parents must exist before (or be added earlier in a window of 1).
        """
        window = self.settings.max_writes_in_flight
        if window <= 1 or self.open_writer is None:
            for key, dn, object_classes, attributes in items:
                try:
                    self.add(dn, object_classes,
                             {name: values for name, values in attributes.items() if values})
                except (DirectoryWriteError, ScopeError) as error:
                    yield key, error
                else:
                    yield key, None
            return

        def add(dn: str, object_classes: Sequence[str], attributes: Mapping[str, list[Any]]
                ) -> Callable[[ModifyPipeline], int]:
            def send(pipeline: ModifyPipeline) -> int:
                self.counts.adds += 1
                listed: list[tuple[str, list[str | bytes]]] = [("objectClass", list(object_classes))]
                listed += [(name, [value if isinstance(value, bytes) else str(value) for value in values])
                           for name, values in attributes.items() if values]
                return pipeline.send_add(dn, listed)
            return send

        yield from self._windowed(
            ((key, dn, add(dn, classes, attributes)) for key, dn, classes, attributes in items), "add")

    def _collect(self, pipeline: ModifyPipeline, key: Key, dn: str, message_id: int, verb: str = "modify"
                 ) -> tuple[Key, DirectoryWriteError | None]:
        """Wait for the result of one pipelined modify (or add) and check it."""
        what = f"{verb} {dn!r}"
        try:
            result = pipeline.result(message_id)
        except (OSError, ldap_errors.LDAPCommunicationError) as error:
            self._drop_writer()
            raise DirectoryUnavailable(f"directory connection lost during {what}: {error}") from None
        if result.get("result") != 0:
            return key, DirectoryWriteError(
                f"{what} refused: {result.get('description')} ({result.get('message') or 'no detail'})",
                result.get("result"),
            )
        if self.on_write is not None:
            self.on_write()
        return key, None

    def add(self, dn: str, object_classes: Sequence[str], attributes: Mapping[str, Sequence[object]]) -> None:
        self._check_scope(dn)
        self.counts.adds += 1
        self._write(
            lambda: self.connection.add(dn, list(object_classes), dict(attributes)), f"add {dn!r}"
        )

    def move(self, dn: str, new_superior: str, controls: Sequence[Any] | None = None) -> str:
        """Move the entry `dn` (keeping its RDN and its children) under `new_superior`, in one modify
        DN; returns its new DN. Only the target is checked against the base DN (C-3): the caller
        (agent.directory.national) decides where an entry may come from."""
        rdn = "+".join(safe_rdn(dn))
        target = f"{rdn},{new_superior}"
        self._check_scope(target)
        self.counts.moves += 1
        self._write(lambda: self.connection.modify_dn(dn, rdn, delete_old_dn=True, new_superior=new_superior,
                                                      controls=controls), f"move {dn!r} to {new_superior!r}")
        return target

    # --- the agent's own entries ------------------------------------------------------------
    # State the agent keeps for itself beside the accounts (the org registry under ou=services, like
    # the lease): written where the directory's access control lets the agent, never an entry under
    # the accounts' base DN, so that C-3 still holds for every account.

    def _check_own_entry(self, dn: str) -> None:
        if self._below_base(dn) or dn_key(dn) == dn_key(self.base_dn):
            raise ScopeError(f"{dn!r} is under the accounts' base DN {self.base_dn!r}: the agent's own"
                             " entries live beside the accounts (e.g. under ou=services)")

    def read_own_entry(self, dn: str, attributes: Sequence[str]) -> dict[str, list[bytes]] | None:
        """The raw attributes of one of the agent's own entries, None when it does not exist."""
        self._check_own_entry(dn)
        self.counts.searches += 1
        try:
            self.connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE,
                                   attributes=list(attributes))
        except ldap_errors.LDAPNoSuchObjectResult:
            return None
        except (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPSocketOpenError) as error:
            raise DirectoryUnavailable(f"directory connection lost reading {dn!r}: {error}") from None
        except ldap_errors.LDAPOperationResult as error:
            raise DirectoryUnavailable(f"reading {dn!r} refused: {error.description}") from None
        entries = [item for item in self.connection.response or [] if item.get("type") == "searchResEntry"]
        return (entries[0].get("raw_attributes") or {}) if entries else None

    def add_own_entry(self, dn: str, object_classes: Sequence[str], attributes: Mapping[str, Sequence[object]]
                      ) -> None:
        self._check_own_entry(dn)
        self.counts.adds += 1
        self._write(lambda: self.connection.add(dn, list(object_classes), dict(attributes)), f"add {dn!r}")

    def replace_own_values(self, dn: str, attribute: str, values: Sequence[str]) -> None:
        """Replace every value of `attribute` of one of the agent's own entries, in one modify."""
        self._check_own_entry(dn)
        self.counts.modifies += 1
        self._write(lambda: self.connection.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, list(values))]}),
                    f"modify {dn!r}")

    def delete_subtree(self, dn: str) -> int:
        """Delete an entry and everything below it; returns the number of entries deleted."""
        self._check_scope(dn)
        if self.flavour.tree_delete and not self.settings.is_mock:
            self.counts.deletes += 1
            self._write(
                lambda: self.connection.delete(dn, controls=[(TREE_DELETE_CONTROL, True, None)]),
                f"tree delete {dn!r}",
            )
            return 1
        # No subtree-delete control on OpenLDAP or 389-DS: delete the leaves first.
        below = [found for found, _ in self.search("(objectClass=*)", [], base=dn, missing_ok=True)]
        if not below:
            # Moved out (another authority took it in, issue 15) or deleted since it was read.
            raise DirectoryWriteError(f"delete {dn!r} refused: no such object (it is no longer there)",
                                      DirectoryWriteError.NO_SUCH_OBJECT)
        below.sort(key=lambda item: len(parse_dn(item)), reverse=True)
        for entry_dn in below:
            self._check_scope(entry_dn)
            self.counts.deletes += 1
            self._write(functools.partial(self.connection.delete, entry_dn), f"delete {entry_dn!r}")
        return len(below)

    def _write(self, send: Callable[[], Any], what: str) -> None:
        try:
            accepted = send()
        except (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPSocketOpenError) as error:
            raise DirectoryUnavailable(f"directory connection lost during {what}: {error}") from None
        except ldap_errors.LDAPOperationResult as error:
            raise DirectoryWriteError(
                f"{what} refused: {error.description} ({error.message or 'no detail'})", error.result
            ) from None
        if not accepted:
            result = self.connection.result or {}
            raise DirectoryWriteError(
                f"{what} refused: {result.get('description')} ({result.get('message') or 'no detail'})",
                result.get("result"),
            )
        if self.on_write is not None:
            self.on_write()

    def close(self) -> None:
        # Unbinding a broken connection must not mask the error that broke it, nor leave its socket
        # open (ldap3's unbind raises before closing it when the server is gone).
        for connection in (self._writer, self.connection):
            if connection is not None:
                discard_connection(connection)
        self._writer = None

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# What a conditional modify gets when the value it names is no longer the one stored (RFC 4511):
# noSuchAttribute, constraintViolation, attributeOrValueExists.
LOST_RACE_CODES = frozenset((16, 19, 20))


def _modify_changes(operations: Sequence[Operation]) -> dict[str, list[tuple[int, list[str]]]]:
    changes: dict[str, list[tuple[int, list[str]]]] = {}
    for attribute, operation, values in operations:
        changes.setdefault(attribute, []).append((_OPERATIONS[operation], list(values)))
    return changes


def _dn_key(dn: str) -> object:
    """A DN to compare with another, parsed (servers return their own escaping and case)."""
    try:
        return dn_key(dn)
    except DnError:
        return dn.lower()


def discard_connection(connection: Any) -> None:
    """Close a connection that failed to open or bind. ldap3 leaves the socket of a refused or
    failed connection open for the garbage collector (a ResourceWarning, and a file descriptor
    held meanwhile), and unbind() may itself raise after a failed StartTLS."""
    with contextlib.suppress(Exception):
        connection.unbind()
    sock = getattr(connection, "socket", None)
    if sock is not None:
        with contextlib.suppress(Exception):
            sock.close()
    with contextlib.suppress(Exception):
        connection.strategy.close()
