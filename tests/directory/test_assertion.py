"""The assertion control's value (RFC 4528). Its effect on a real server (a move refused with 122
when the entry changed since it was read, made when it did not) is in test_national.py."""

import pytest
from pyasn1.codec.ber import decoder
from pyasn1_modules import rfc2251

from agent.directory.assertion import ASSERTION_CONTROL, Assertion


def test_an_equality_and_an_absent_attribute_encode_as_an_rfc_4511_filter() -> None:
    assertion = Assertion(equal=(("hwbMisId", "Z1"),), absent=("hwbState",))
    # and [0] { equalityMatch [3] { "hwbMisId", "Z1" }, not [2] { present [7] "hwbState" } }
    assert assertion.encoded().hex() == (
        "a01c" "a30e" "0408" + b"hwbMisId".hex() + "0402" + b"Z1".hex()
        + "a20a" "8708" + b"hwbState".hex()
    )


def test_values_go_as_utf_8_octets_unescaped_and_decode_back() -> None:
    assertion = Assertion(equal=(("cn", "Siân (*) \\ Jones"), ("loginDisabled", "TRUE")))
    decoded, rest = decoder.decode(assertion.encoded(), asn1Spec=rfc2251.Filter())
    assert rest == b""
    matches = [item["equalityMatch"] for item in decoded["and"]]
    assert [(str(m["attributeDesc"]), bytes(m["assertionValue"]).decode()) for m in matches] == [
        ("cn", "Siân (*) \\ Jones"), ("loginDisabled", "TRUE"),
    ]
    # The text form, for messages, is escaped as a filter (RFC 4515).
    assert str(assertion) == "(&(cn=Siân \\28\\2a\\29 \\5c Jones)(loginDisabled=TRUE))"


def test_the_control_is_critical_so_a_server_without_it_refuses_the_write() -> None:
    oid, critical, value = Assertion(absent=("hwbState",)).control()
    assert (oid, critical) == (ASSERTION_CONTROL, True) and value.startswith(b"\xa0")


def test_an_empty_assertion_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Assertion().encoded()
