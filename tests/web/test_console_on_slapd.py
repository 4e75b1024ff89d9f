"""The console on a real OpenLDAP slapd (issue 13): sign-in is a bind as the administrator, over
StartTLS with the directory's CA, checked by the server; the seed's procedure then enables the account
in the directory (ppolicy's lock removed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.settings import config as config_module
from tests.web.conftest import csrf, sign_in

# ldap3 2.9.1 checks the server's name with ssl.match_hostname (deprecated since Python 3.7): as in
# tests/directory/test_write_window_tls.py.
pytestmark = [pytest.mark.slapd, pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def slapd(request, monkeypatch, tmp_path):
    server = request.getfixturevalue("slapd_server")
    tag = request.node.name[-16:].replace("[", "").replace("]", "").replace("_", "-")
    admins = f"ou=admins-{tag},{server.suffix}"
    accounts = f"ou=console-{tag},{server.base_dn}"
    group = f"cn=la-admins-{tag},{admins}"
    expired = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y%m%d000000Z")
    disabled = (datetime.now(UTC) - timedelta(days=19)).strftime("%Y%m%d020000Z")
    server.add_ldif(f"""dn: {admins}
objectClass: organizationalUnit
ou: admins-{tag}

dn: uid=la.{tag},{admins}
objectClass: inetOrgPerson
uid: la.{tag}
cn: Gwenllian Ifans
sn: Ifans
mail: la.{tag}@example.org
userPassword: {PASSWORD}

dn: {group}
objectClass: groupOfNames
cn: la-admins-{tag}
member: uid=la.{tag},{admins}

dn: {accounts}
objectClass: organizationalUnit
ou: console-{tag}

dn: uid=gov.{tag},{accounts}
objectClass: inetOrgPerson
objectClass: hwbAccount
uid: gov.{tag}
cn: Iolo Morgan
sn: Morgan
mail: gov.{tag}@example.org
hwbCategory: non-mis
hwbNonMisType: governor
hwbLocalAuthority: 681
hwbSponsor: la.{tag}
hwbDuration: 3m
hwbExpiryDate: {expired}
hwbDisabledReason: expired
hwbDisabledAt: {disabled}
pwdAccountLockedTime: 000001010000Z
""")
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", server.agent_password)
    config = config_module.parse({
        "local_authority": {"code": "681", "name": "slapd"},
        "directory": {"url": server.url, "start_tls": True, "ca_file": str(server.tls.ca_file),
                      "base_dn": server.base_dn, "bind_dn": server.agent_dn,
                      "password_env": "HWB_TEST_AGENT_PASSWORD", "flavour": "openldap"},
        "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
        "web": {"session_secret_file": str(_secret(tmp_path)), "roles": {"la_admins_group": group}},
    }, "slapd-console")
    yield config, server, tag
    server.delete_subtree(accounts)
    server.delete_subtree(admins)


def _secret(tmp_path):
    path = tmp_path / "session-secret"
    path.write_bytes(b"k" * 40)
    return path


def test_sign_in_binds_as_the_administrator_and_activate_enables_the_account(slapd, make_app):
    config, server, tag = slapd
    client = make_app(config).test_client()
    assert sign_in(client, f"la.{tag}", "wrong password").status_code == 401
    assert sign_in(client, f"nobody.{tag}", PASSWORD).status_code == 401
    assert sign_in(client, f"la.{tag}", PASSWORD).status_code == 302
    listing = client.get("/accounts?active=N")
    assert f'id="view-gov.{tag}"' in listing.text
    manage = client.get(f"/accounts/gov.{tag}/manage")
    assert 'id="activate-expired"' in manage.text
    response = client.post(f"/accounts/gov.{tag}/activate",
                           data={"csrf_token": csrf(manage.text), "duration": "1m"})
    assert response.status_code == 302
    with server.connect() as connection:
        connection.search(f"uid=gov.{tag},ou=console-{tag},{server.base_dn}", "(objectClass=*)",
                          search_scope="BASE", attributes=["pwdAccountLockedTime", "hwbReactivatedBy"])
        entry = connection.entries[0]
    assert not entry.pwdAccountLockedTime.values and entry.hwbReactivatedBy.value == f"la.{tag}"
