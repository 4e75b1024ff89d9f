"""The assertion control (RFC 4528): a write the server applies only while its entry still matches.

A conjunction of equality matches and absent attributes is all the agent asserts, so that is all this
module builds: the control's value is the BER of an RFC 4511 Filter, made from pyasn1-modules'
LDAPv3 definitions (ldap3 has no public encoder for a filter)."""

from __future__ import annotations

from dataclasses import dataclass

from pyasn1.codec.ber import encoder
from pyasn1_modules import rfc2251

from agent.directory.filters import escape

ASSERTION_CONTROL = "1.3.6.1.1.12"
# The result of a write whose assertion no longer holds.
ASSERTION_FAILED = 122


@dataclass(frozen=True)
class Assertion:
    """What an entry must still hold: `equal` attribute values, and no value of the `absent` ones."""

    equal: tuple[tuple[str, str], ...] = ()
    absent: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The assertion as an LDAP filter string, for messages and logs."""
        parts = [f"({name}={escape(value)})" for name, value in self.equal]
        parts += [f"(!({name}=*))" for name in self.absent]
        return f"(&{''.join(parts)})"

    def control(self) -> tuple[str, bool, bytes]:
        """The critical control, as ldap3 takes controls: a server that cannot honour it refuses
        the write rather than make it unconditionally."""
        return ASSERTION_CONTROL, True, self.encoded()

    def encoded(self) -> bytes:
        if not self.equal and not self.absent:
            raise ValueError("an assertion needs at least one value or absent attribute")
        assertion = rfc2251.Filter()
        conjunction = assertion["and"]
        for position, (name, value) in enumerate(self.equal):
            match = conjunction[position]["equalityMatch"]
            match["attributeDesc"] = name
            match["assertionValue"] = value.encode("utf-8")
        for position, name in enumerate(self.absent, start=len(self.equal)):
            conjunction[position]["not"]["present"] = name
        return bytes(encoder.encode(assertion))
