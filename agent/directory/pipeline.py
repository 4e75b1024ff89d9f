"""The two hot paths of the wire, below ldap3's per-request cost (issue 7).

1. Search result entries decoded leanly (`lean_entries`): ldap3 turns every
   entry into two dicts, converting each attribute name and value through
   several configuration look-ups; the agent only wants the DN and the raw
   values, which is a few tuple look-ups into what ldap3's own fast BER
   decoder already produced. ~45 us of ~120 us per entry here.

2. Modify and add requests with a bounded number in flight on one bound connection.

A sweep's changes are independent per account, so they need not wait for each
other's round trip. ldap3 can pipeline only through its ASYNC strategy, whose
receiver thread fights the sending thread for the GIL (measured here: no
faster than one at a time), and it spends ~200 us of pure-Python pyasn1 work
building each modify request, more than slapd needs to apply it. So this
module encodes the ModifyRequest (RFC 4511 4.6) itself, a few lines of BER,
sends it on the socket of a connection that ldap3 opened and bound (TLS
included), and reads the results with ldap3's own fast decoder. Nothing else
uses it: reads, binds and single writes stay on ldap3's public API.

Every result is read and checked; at most `window` requests are ever waiting
for theirs, since sending thousands without reading the replies breaks the
connection (LDAP-NOTES.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ldap3.utils.asn1 import decode_message_fast
from ldap3.utils.conv import to_unicode

Operation = tuple[str, str, tuple[str, ...]]

_OPERATION_CODES = {"add": 0, "delete": 1, "replace": 2}
_MODIFY_RESPONSE = 7  # [APPLICATION 7]
_ADD_RESPONSE = 9  # [APPLICATION 9]
_WRITE_RESPONSES = frozenset((_MODIFY_RESPONSE, _ADD_RESPONSE))
_SEARCH_RESULT_ENTRY = 4  # [APPLICATION 4]


def lean_entries(connection: Any) -> None:
    """Make `connection` decode search result entries as {"dn", "raw_attributes", "type"} only.

    Everything else (results, controls, referrals) still goes through ldap3. For the agent's own
    read connection: nothing that uses it reads the formatted "attributes" of an entry.
    """
    strategy = connection.strategy
    decode_other = strategy.decode_response_fast

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != _SEARCH_RESULT_ENTRY:
            return decode_other(message)
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


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _octets(text: str | bytes) -> bytes:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    if len(data) < 0x80:  # the usual case, inline: an add carries a dozen of these
        return b"\x04" + bytes((len(data),)) + data
    return _tlv(0x04, data)


def _message(message_id: int, request: bytes) -> bytes:
    identifier = _tlv(0x02, message_id.to_bytes(message_id.bit_length() // 8 + 1, "big"))
    return _tlv(0x30, identifier + request)


def encode_modify(message_id: int, dn: str, operations: Sequence[Operation]) -> bytes:
    """LDAPMessage { messageID, ModifyRequest { object, changes } } as BER (no controls)."""
    changes = b"".join(
        _tlv(0x30, _tlv(0x0A, bytes((_OPERATION_CODES[operation],)))
             + _tlv(0x30, _octets(attribute) + _tlv(0x31, b"".join(_octets(value) for value in values))))
        for attribute, operation, values in operations
    )
    request = _tlv(0x66, _octets(dn) + _tlv(0x30, changes))  # [APPLICATION 6] constructed
    return _message(message_id, request)


def encode_add(message_id: int, dn: str, attributes: Sequence[tuple[str, Sequence[str | bytes]]]) -> bytes:
    """LDAPMessage { messageID, AddRequest { entry, attributes } } as BER (RFC 4511 4.7, no controls)."""
    listed = b"".join(
        _tlv(0x30, _octets(name) + _tlv(0x31, b"".join(_octets(value) for value in values)))
        for name, values in attributes
    )
    return _message(message_id, _tlv(0x68, _octets(dn) + _tlv(0x30, listed)))  # [APPLICATION 8]


class ModifyPipeline:
    """Sends modifies (and adds) on `connection` (bound, SYNC, nothing else in flight) and collects
    their results."""

    def __init__(self, connection: Any):
        self.connection = connection
        self.results: dict[int, dict[str, Any]] = {}
        self.outgoing: list[bytes] = []

    def send(self, dn: str, operations: Sequence[Operation]) -> int:
        """Queue one modify; it goes out with the next flush (or before any result is awaited)."""
        message_id = self.connection.server.next_message_id()
        self.outgoing.append(encode_modify(message_id, dn, operations))
        return message_id

    def send_add(self, dn: str, attributes: Sequence[tuple[str, Sequence[str | bytes]]]) -> int:
        """Queue one add (object classes among the attributes); like `send`."""
        message_id = self.connection.server.next_message_id()
        self.outgoing.append(encode_add(message_id, dn, attributes))
        return message_id

    def flush(self) -> None:
        """Send the queued modifies in one write (one system call for a window, not one each)."""
        if self.outgoing:
            data = b"".join(self.outgoing)
            self.outgoing.clear()
            self.connection.socket.sendall(data)

    def result(self, message_id: int) -> dict[str, Any]:
        """The result of one modify or add sent earlier (waits for it): result, description, message."""
        self.flush()
        strategy = self.connection.strategy
        while message_id not in self.results:
            for raw in strategy.receiving():  # raises LDAPSocketReceiveError on a lost connection
                message = decode_message_fast(raw)
                response = strategy.decode_response_fast(message)
                if message["messageID"] == 0 or message["protocolOp"] not in _WRITE_RESPONSES:
                    # The server is closing the session (RFC 4511 4.4.1), or answered nonsense.
                    self.results.clear()
                    raise ConnectionError(
                        f"unexpected message from the server: {response.get('description')}"
                        f" {response.get('message') or ''}".rstrip()
                    )
                self.results[message["messageID"]] = response
        return self.results.pop(message_id)
