"""DN comparison (agent.core.dn) and connection failures (agent.directory.gateway.connect), no server."""

from __future__ import annotations

import gc
import socket
import warnings

import pytest

from agent.actions.session import open_directory
from agent.core.dn import DnError, dn_key, is_below, same_dn
from agent.core.errors import DirectoryUnavailable
from agent.core.policy import PolicySettings
from agent.settings import config as config_module
from tests.builders import non_mis


@pytest.mark.parametrize(("first", "second"), [
    (r"CN=com\,ma,OU=people,DC=school,DC=test", r"cn=com\2Cma, ou=People,dc=school,dc=test"),
    (r"uid=Si\C3\A2n,ou=people,dc=example,dc=org", "UID=siân,OU=people,DC=example,DC=org"),
    (r"uid=a\2a\28b\29,ou=x", r"uid=a*\(b\),ou=x"),
    (r"cn=a+uid=b,ou=x", r"uid=B+cn=A,ou=x"),
])
def test_the_same_dn_escaped_and_cased_differently_compares_equal(first: str, second: str):
    assert dn_key(first) == dn_key(second) and same_dn(first, second)


def test_an_escaped_comma_is_part_of_the_value_not_an_rdn_boundary():
    assert not same_dn(r"uid=a\,ou=x,dc=y", "uid=a,ou=x,dc=y")
    assert is_below(r"uid=a\,ou=x,ou=people,dc=y", "OU=People,DC=Y")
    assert not is_below(r"ou=people\,dc=y", "ou=people,dc=y")
    with pytest.raises(DnError):
        dn_key("not a dn")


def test_c2_protected_dns_match_whatever_escaping_the_server_returns():
    settings = PolicySettings(protected=frozenset({r"uid=break\,glass,ou=people,dc=test,dc=example"}))
    account = non_mis(uid="break,glass", dn=r"UID=break\2Cglass,OU=People,DC=test,DC=example")
    assert settings.is_protected(account)
    assert not settings.is_protected(non_mis())


def test_a_refused_connection_fails_cleanly_and_leaves_no_socket_open():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = config_module.parse({
        "local_authority": {"code": "681", "name": "x"},
        "directory": {"url": f"ldap://127.0.0.1:{port}", "base_dn": "ou=people,dc=x", "flavour": "openldap",
                      "timeout_seconds": 2},
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(DirectoryUnavailable, match="cannot connect"):
            open_directory(config)
        gc.collect()


def _mapper(data):
    from agent.directory.connection import mapper_for

    config = config_module.parse(data)
    return mapper_for(config.directory, config.attributes)


def test_ad_writes_and_filters_generalized_time_with_the_fraction_samba_needs(tmp_path):
    """Samba refuses YYYYMMDDHHMMSSZ (21) and a filter value without ".0Z" silently matches nothing."""
    from datetime import UTC, date, datetime

    from agent.core import criteria as c
    from agent.directory import codecs
    from agent.directory.filters import FilterRenderer

    base = {"local_authority": {"code": "681", "name": "x"},
            "directory": {"url": "ldap://127.0.0.2", "base_dn": "OU=people,DC=x",
                          "flavour": "active-directory"}}
    mapper = _mapper(base)
    assert mapper.time_fraction and mapper.auxiliary_class is None
    operations = mapper.lifecycle_operations({"expiry_date": date(2026, 1, 31),
                                              "disabled_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)})
    assert operations == [("hwbExpiryDate", "replace", ("20260131000000.0Z",)),
                          ("hwbDisabledAt", "replace", ("20260102030405.0Z",))]
    rendered = FilterRenderer(mapper).render(c.AtMost("expiry_date", date(2026, 1, 31)))
    assert rendered == "(hwbExpiryDate<=20260131235959.0Z)"
    assert codecs.parse_date("20260131000000.0Z") == date(2026, 1, 31)
    assert codecs.parse_generalized_time("20260102030405.0Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    openldap = {**base, "directory": {**base["directory"], "flavour": "openldap"}}
    slapd = _mapper(openldap)
    assert not slapd.time_fraction and slapd.auxiliary_class is None  # hwbCategory implies the class
    foreign = {**openldap, "attributes": {"category": "employeeType"}}
    assert _mapper(foreign).auxiliary_class == "hwbAccount"
    assert slapd.lifecycle_operations({"expiry_date": date(2026, 1, 31)})[0][2] == ("20260131000000Z",)


def test_a_new_ad_user_is_enabled_with_a_password_nobody_knows():
    from agent.directory.flavours import flavour_for
    from agent.settings.attributes import Flavour

    active_directory = flavour_for(Flavour.ACTIVE_DIRECTORY)
    first = active_directory.enabling_attributes()
    second = active_directory.enabling_attributes()
    assert first["userAccountControl"] == ["512"] and first["pwdLastSet"] == ["0"]
    assert first["unicodePwd"] != second["unicodePwd"]
    password = first["unicodePwd"][0].decode("utf-16-le")
    assert password.startswith('"') and password.endswith('"') and len(password) > 30
    mock = active_directory.enabling_attributes(real_server=False)
    assert mock == {"userAccountControl": ["512"]}
    assert flavour_for(Flavour.OPENLDAP).enabling_attributes() == {}
    assert flavour_for(Flavour.DS389).enabling_attributes() == {}
