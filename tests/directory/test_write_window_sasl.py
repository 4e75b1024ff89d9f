"""No window of writes under a SASL security layer (issue 10): ldap3 2.9.1's receiving() unwraps one
SASL buffer per read and drops a second one read with it, which a window of results would be.

The decision is ldap3's client-side state (which qop its DIGEST-MD5 asks for), so the first test
needs no server; the fallback it selects (one request in flight at a time) runs against a real slapd.
"""

from __future__ import annotations

import uuid

import ldap3
import pytest

from agent.directory.pipeline import ModifyPipeline, security_layer


def _connection(url: str = "ldap://127.0.0.1:9", **options) -> ldap3.Connection:
    return ldap3.Connection(ldap3.Server(url, get_info=ldap3.NONE), **options)


@pytest.mark.parametrize(("options", "url", "layered"), [
    ({"user": "cn=a", "password": "x"}, "ldap://127.0.0.1:9", False),  # simple bind
    ({"authentication": ldap3.SASL, "sasl_mechanism": ldap3.EXTERNAL, "sasl_credentials": ""},
     "ldapi:///tmp/socket", False),
    ({"authentication": ldap3.SASL, "sasl_mechanism": ldap3.DIGEST_MD5,
      "sasl_credentials": (None, "agent", "pw", None)}, "ldap://127.0.0.1:9", False),  # qop auth
    ({"authentication": ldap3.SASL, "sasl_mechanism": ldap3.DIGEST_MD5,
      "sasl_credentials": (None, "agent", "pw", None, "sign")}, "ldap://127.0.0.1:9", True),  # auth-int
    # Over LDAPS ldap3 does not ask for integrity (TLS has it): no SASL layer.
    ({"authentication": ldap3.SASL, "sasl_mechanism": ldap3.DIGEST_MD5,
      "sasl_credentials": (None, "agent", "pw", None, "sign")}, "ldaps://127.0.0.1:9", False),
    ({"authentication": ldap3.SASL, "sasl_mechanism": ldap3.GSSAPI}, "ldap://127.0.0.1:9", False),
    ({"authentication": ldap3.SASL, "sasl_mechanism": "SCRAM-SHA-256"}, "ldap://127.0.0.1:9", True),
])
def test_window_refused_exactly_when_a_sasl_security_layer_is_negotiated(options, url, layered):
    connection = _connection(url, **options)
    reason = security_layer(connection)
    assert (reason is not None) is layered
    assert ModifyPipeline(connection).one_at_a_time == reason


def test_digest_md5_layer_seen_once_negotiated_even_without_the_credentials_flag():
    connection = _connection(authentication=ldap3.SASL, sasl_mechanism=ldap3.DIGEST_MD5,
                             sasl_credentials=(None, "agent", "pw", None))
    connection._digest_md5_kic = b"k" * 16  # what ldap3's sasl_digest_md5 sets for qop auth-int
    assert "DIGEST-MD5" in security_layer(connection)


@pytest.mark.slapd
def test_one_at_a_time_fallback_has_each_result_before_the_next_request_goes_out(slapd_server):
    tag = uuid.uuid4().hex[:8]
    dns = [slapd_server.add_user(f"sasl-{tag}-{index}", "pw", attributes={"hwbCategory": "mis"})
           for index in range(4)]
    with slapd_server.connect() as connection:
        pipeline = ModifyPipeline(connection)
        assert pipeline.one_at_a_time is None  # a simple bind: the window is allowed
        pipeline.one_at_a_time = "as under a SASL layer"
        tokens = [pipeline.send(dn, [("hwbSponsor", "replace", (f"s{index}",))])
                  for index, dn in enumerate(dns)]
        tokens.append(pipeline.send(f"uid=ghost-{tag},{slapd_server.base_dn}",
                                    [("hwbSponsor", "replace", ("x",))]))
        pipeline.flush()
        # Every result already read by flush itself: never more than one request in flight.
        assert len(pipeline.results) == len(tokens) and not connection.strategy._outstanding
        results = [pipeline.result(token) for token in tokens]
        assert [result["result"] for result in results] == [0, 0, 0, 0, 32]  # 32: noSuchObject
        for index, dn in enumerate(dns):
            connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["hwbSponsor"])
            assert connection.response[0]["raw_attributes"]["hwbSponsor"] == [f"s{index}".encode()]
