"""The two hot paths of the wire (issues 7 and 10).

1. Search result entries decoded leanly (`lean_entries`): ldap3 turns every
   entry into two dicts, converting each attribute name and value through
   several configuration look-ups; the agent only wants the DN and the raw
   values, which is a few tuple look-ups into what ldap3's own fast BER
   decoder already produced. ~45 us of ~120 us per entry here. Only for the
   agent's own read connection (gateway.connect); the write connection keeps
   ldap3's full decoding.

2. Modify and add requests with a bounded number in flight on one bound
   connection (`ModifyPipeline`).

A sweep's changes are independent per account, so they need not wait for each
other's round trip. ldap3's SYNC connection methods wait for each result
before they return, and its ASYNC strategy's receiver thread fights the
sending thread for the GIL (measured here: no faster than one at a time). So
this module splits what `Connection.modify` / `Connection.add` do into their
two halves and interleaves them itself, with no protocol code of its own:

- each request is built by ldap3 (`ldap3.operation.modify.modify_operation`,
  `ldap3.operation.add.add_operation`, with the connection's own
  `auto_encode`/`check_names`) and sent with the connection's strategy
  `send(message_type, request)`, which numbers it, wraps it in ldap3's
  LDAPMessage, encodes it with ldap3's BER encoder and writes it to the socket
  (TLS included) — exactly what `Connection.modify` does before it waits;
- the results are read with the strategy's `receiving()` (whole LDAP
  messages off the socket, TLS included) and decoded with ldap3's
  `decode_message_fast` and the strategy's `decode_response_fast`, which is
  what the SYNC strategy's `_get_response` does. `_get_response` itself
  cannot serve a window: it raises on any message for another request, and a
  window's results arrive several to a read.

Reliance on ldap3's strategy (checked with ldap3 2.9.1; pyproject.toml pins
the range): `strategy.send(...)` returns the message id and records the
request in `strategy._outstanding`, which its own `get_response` would pop;
this module pops it when the result arrives (else it would grow by one entry
per write). `strategy.receiving()` returns [] once the server has closed the
connection, and raises LDAPSocketReceiveError (after closing the socket) on a
socket error or when the connection's `receive_timeout` passes.

Bounded waits (issue 11): `receive_timeout` bounds each read off the socket, not the wait for one
result, which may take several reads. So `result` (and the one-at-a-time `flush`) keep a deadline
of `receive_timeout` from when they start waiting and give each read of `receiving()` only what is
left of it (the socket's timeout, TLS included; `_DeadlineSocket`); once it has passed the read
fails, ldap3 closes the socket and LDAPSocketReceiveError comes out: a server that stopped
answering, or one that trickles bytes without ever completing a result, costs at most the
configured timeout. Sends are bounded by the same socket timeout.

Cost (tests/perf/request_cost.py, tests/perf/README.md): ~470 us of client CPU to build and send
one modify this way, ~1.1 ms an add, against ~20 us and ~40 us with issue 7's hand-written BER; the
write window is now bound by that, not by the round trip.

Every result is read and checked; at most `window` requests are ever waiting
for theirs, since sending thousands without reading the replies breaks the
connection (LDAP-NOTES.md). When a SASL security layer is negotiated on the
connection (in ldap3 2.9.1: DIGEST-MD5 with integrity, `sasl_credentials`
ending in 'sign' on a connection without TLS), the window is refused: ldap3's
`receiving()` unwraps one SASL buffer per read and drops a second buffer that
arrives in the same read, which a window of results does. The pipeline then
sends one request at a time, each result read before the next request goes
out (a warning is logged once per pipeline).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from itertools import count
from typing import Any

import structlog
from ldap3 import DIGEST_MD5, EXTERNAL, GSSAPI, PLAIN, SASL
from ldap3.operation.add import add_operation
from ldap3.operation.modify import modify_operation
from ldap3.utils.asn1 import decode_message_fast
from ldap3.utils.conv import to_unicode

Operation = tuple[str, str, tuple[str, ...]]

log = structlog.get_logger("agent.directory.pipeline")

# ldap3's change operation numbers (RFC 4511 4.6), as modify_operation takes them.
_OPERATION_CODES = {"add": 0, "delete": 1, "replace": 2}
_WRITE_RESPONSES = frozenset(("modifyResponse", "addResponse"))
_SEARCH_RESULT_ENTRY = 4  # [APPLICATION 4]
# SASL mechanisms after which ldap3 2.9.1 never negotiates a security layer: EXTERNAL and PLAIN
# have none, and its GSSAPI negotiates "no security layer" (protocol/sasl/kerberos.py).
_NO_LAYER_MECHANISMS = frozenset((EXTERNAL, PLAIN, GSSAPI))


class _DeadlineSocket:
    """The connection's socket, as `strategy.receiving()` sees it while the pipeline waits for a
    result: each `recv` gets only what is left until `deadline`, and none once it has passed
    (TimeoutError, which ldap3 turns into LDAPSocketReceiveError after closing the socket).
    `receiving()` reads until it has a whole message, so its own reads, each bounded by
    `receive_timeout`, are not bounded together: a server that sends a byte now and then would keep
    it reading for ever. Everything else goes to the socket itself."""

    def __init__(self, sock: Any, deadline: float, timeout: float):
        self._sock = sock
        self._deadline = deadline
        self._timeout = timeout

    def recv(self, size: int) -> bytes:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no result from the server within {self._timeout:g} s")
        self._sock.settimeout(left)
        try:
            data: bytes = self._sock.recv(size)
        except TimeoutError:
            raise TimeoutError(f"no result from the server within {self._timeout:g} s") from None
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def lean_entries(connection: Any) -> None:
    """Make `connection` decode search result entries as {"dn", "raw_attributes", "type"} only.

    Everything else (results, controls, referrals) still goes through ldap3. For the agent's own
    read connection: nothing that uses it reads the formatted "attributes" of an entry.
    """
    strategy = connection.strategy
    decode_other = strategy.decode_response_fast

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != _SEARCH_RESULT_ENTRY:
            other: dict[str, Any] = decode_other(message)
            return other
        # payload: (objectName, attributes: SEQUENCE OF (type, SET OF value)), each element a
        # (class, constructed, tag, value) tuple from ldap3.utils.asn1.decode_sequence.
        payload = message["payload"]
        raw_dn = payload[0][3]
        try:
            dn = raw_dn.decode("utf-8")
        except UnicodeDecodeError:
            dn = to_unicode(raw_dn, from_server=True)  # the server encodings ldap3 is told of
        raw: dict[str, list[bytes]] = {}
        for attribute in payload[1][3]:
            name_and_values = attribute[3]
            raw[name_and_values[0][3].decode("utf-8")] = [bytes(value[3]) for value in name_and_values[1][3]]
        return {"type": "searchResEntry", "dn": dn, "raw_dn": raw_dn, "raw_attributes": raw,
                "attributes": {}}

    strategy.decode_response_fast = decode


def security_layer(connection: Any) -> str | None:
    """Why `connection` carries a SASL security layer (so no window of writes), or None when it has none.

    TLS is not a SASL layer: ldap3 reads whole TLS records from the wrapped socket, so a window is
    fine over StartTLS and LDAPS. A SASL layer wraps every LDAP message in a buffer of its own,
    which ldap3 2.9.1 implements only for DIGEST-MD5 integrity (qop auth-int, asked for with
    `sasl_credentials=(realm, user, password, authz, 'sign')` on a connection without TLS; ldap3 sets
    `_digest_md5_kic` once it is negotiated)."""
    if connection.authentication != SASL:
        return None
    mechanism = connection.sasl_mechanism
    if mechanism in _NO_LAYER_MECHANISMS:
        return None
    if mechanism == DIGEST_MD5:
        credentials = connection.sasl_credentials or ()
        asked = (len(credentials) == 5 and tuple(credentials)[4] == "sign"  # (…, qop) as ldap3 takes it
                 and not connection.server.ssl)
        if asked or getattr(connection, "_digest_md5_kic", None):
            return "a DIGEST-MD5 integrity layer (qop auth-int) is negotiated on the connection"
        return None
    return f"SASL {mechanism} may negotiate a security layer ldap3 cannot pipeline"


class ModifyPipeline:
    """Sends modifies (and adds) on `connection` (bound, SYNC, nothing else in flight) and collects
    their results, in the order sent.

    `send` and `send_add` build the request at once (so a bad value fails there) and queue it;
    `flush` hands the queue to ldap3's strategy, and `result` waits for one request's result. A lost
    connection raises from `flush` or `result`: LDAPCommunicationError (ldap3's, from the socket) or
    ConnectionError (a notice of disconnection, the server closing the connection, or a message
    that answers nothing sent)."""

    def __init__(self, connection: Any):
        self.connection = connection
        self.strategy = connection.strategy
        # The longest wait for one result (None: the connection has no timeout, nor then the pipeline).
        self.timeout: float | None = connection.receive_timeout
        self.one_at_a_time = security_layer(connection)
        if self.one_at_a_time:
            log.warning("write_window_refused", reason=self.one_at_a_time,
                        detail="writes go one at a time on this connection")
        self._tokens = count(1)
        self.outgoing: list[tuple[int, str, Any]] = []  # (token, message type, request)
        self.message_ids: dict[int, int] = {}  # token -> message id, once sent
        self.results: dict[int, dict[str, Any]] = {}  # message id -> result, once received

    def send(self, dn: str, operations: Sequence[Operation]) -> int:
        """Queue one modify (all `operations` in one request); returns the token for `result`."""
        changes: dict[str, list[tuple[int, list[Any]]]] = {}
        for attribute, operation, values in operations:
            changes.setdefault(attribute, []).append((_OPERATION_CODES[operation], list(values)))
        connection = self.connection
        request = modify_operation(dn, changes, connection.auto_encode, connection.server.schema,
                                   validator=connection.server.custom_validator,
                                   check_names=connection.check_names)
        return self._queue("modifyRequest", request)

    def send_add(self, dn: str, attributes: Sequence[tuple[str, Sequence[str | bytes]]]) -> int:
        """Queue one add (object classes among the attributes); like `send`."""
        connection = self.connection
        request = add_operation(dn, dict(attributes), connection.auto_encode, connection.server.schema,
                                validator=connection.server.custom_validator,
                                check_names=connection.check_names)
        return self._queue("addRequest", request)

    def _queue(self, message_type: str, request: Any) -> int:
        token = next(self._tokens)
        self.outgoing.append((token, message_type, request))
        return token

    def flush(self) -> None:
        """Send the queued requests through ldap3's strategy (one at a time, each result read before
        the next goes out, when the connection has a SASL security layer)."""
        outgoing, self.outgoing = self.outgoing, []
        for token, message_type, request in outgoing:
            # strategy.send: ldap3's LDAPMessage, message id, BER encoding and socket write (with
            # the SASL layer's wrapping, if any). Raises LDAPSocketSendError / LDAPSocketOpenError.
            message_id = self.strategy.send(message_type, request)
            self.message_ids[token] = message_id
            if self.one_at_a_time:
                self._await(message_id)

    def result(self, token: int) -> dict[str, Any]:
        """The result of one modify or add sent earlier (waits for it): result, description, message."""
        self.flush()
        message_id = self.message_ids.pop(token)
        self._await(message_id)
        return self.results.pop(message_id)

    def _await(self, message_id: int) -> None:
        """Read until the result of `message_id` is in, for at most `timeout` seconds in all."""
        if message_id in self.results:
            return
        if self.timeout is None:
            while message_id not in self.results:
                self._receive()
            return
        connection = self.connection
        real = connection.socket
        bounded = _DeadlineSocket(real, time.monotonic() + self.timeout, self.timeout)
        connection.socket = bounded  # what strategy.receiving() reads from, one recv at a time
        try:
            while message_id not in self.results:
                self._receive()
        finally:
            if connection.socket is bounded:
                connection.socket = real
            with contextlib.suppress(OSError):  # closed meanwhile: the next read or send raises
                real.settimeout(self.timeout)

    def _receive(self) -> None:
        """Read what the server has sent (at least one whole message) and file each result."""
        messages = self.strategy.receiving()  # raises LDAPSocketReceiveError on a lost connection
        if not messages:
            self._lost("the server closed the connection")
        outstanding = self.strategy._outstanding  # what strategy.send recorded (see the module doc)
        for raw in messages:
            message = decode_message_fast(raw)
            response = self.strategy.decode_response_fast(message)
            message_id = message["messageID"]
            answered = response.get("type") in _WRITE_RESPONSES and message_id in outstanding
            if message_id == 0 or not answered:
                # The server is closing the session (RFC 4511 4.4.1), or answered nonsense.
                self._lost(f"unexpected message from the server: {response.get('description')}"
                           f" {response.get('message') or ''}".rstrip())
            del outstanding[message_id]
            self.results[message_id] = response

    def _lost(self, why: str) -> None:
        self.results.clear()
        self.message_ids.clear()
        self.strategy._outstanding.clear()
        raise ConnectionError(why)
