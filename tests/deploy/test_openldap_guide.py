"""deploy/openldap/README.md, run as written against a fresh slapd (a Debian-like cn=config with
only the suffix entry and ou=people: tests/servers/slapd.py with deploy=False).

Every ```sh test block of the guide runs (copy with your suffix, steps 1-9 including the agent's
password from a file with ``ldappasswd -T``, the Check section); then this module checks what the
guide promises: the schema and every index of indexes.ldif are there, ppolicy locks, the agent
binds with the password file the guide made, writes what the ACL lets it write and nothing else,
and its paged reads are not cut at the server's size limit.

Not run: ``hwb-agent check-config`` (named in the guide's text; the agent's own tests cover it).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from tests.deploy.guide import REPO, run_guide, secret_file
from tests.servers import slapd
from tests.servers.base import TestServer

GUIDE = REPO / "deploy" / "openldap" / "README.md"
pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def bare_slapd() -> Iterator[TestServer]:
    if not slapd.slapd_binary():
        pytest.skip("slapd is not installed (Debian: slapd ldap-utils)")
    server = slapd.start_slapd(deploy=False)
    try:
        server.add_ldif(f"dn: {server.base_dn}\nobjectClass: organizationalUnit\nou: people\n")
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def followed(bare_slapd: TestServer, tmp_path_factory) -> dict[str, str]:
    """The guide, run once; returns the values it ran with."""
    folder = tmp_path_factory.mktemp("openldap-guide")
    values = {
        "SUFFIX": bare_slapd.suffix,
        "ADMIN_DN": bare_slapd.admin_dn,
        "ADMIN_PASSWORD_FILE": str(secret_file(folder / "admin.password", bare_slapd.admin_password)),
        "AGENT_PASSWORD_FILE": str(folder / "credentials" / "cardiff.bind-password"),
        "LDAPI": bare_slapd.ldapi_url or "",
        "LDAP_URI": bare_slapd.url,
    }
    run_guide(GUIDE, values)
    return values


def _agent_password(values: dict[str, str]) -> str:
    path = Path(values["AGENT_PASSWORD_FILE"])
    assert path.stat().st_mode & 0o077 == 0, "the guide's password file must be private"
    return path.read_text()


def _config_values(server: TestServer, base: str, attribute: str) -> list[str]:
    completed = subprocess.run(
        ["ldapsearch", "-Q", "-LLL", "-o", "ldif-wrap=no", "-Y", "EXTERNAL", "-H", server.ldapi_url or "",
         "-b", base, "-s", "base", attribute],
        capture_output=True, text=True, check=True,
    )
    return [line.split(": ", 1)[1] for line in completed.stdout.splitlines()
            if line.lower().startswith(attribute.lower() + ": ")]


def test_the_schema_and_every_index_of_the_guide_are_in_place(bare_slapd, followed):
    with bare_slapd.connect() as connection:
        connection.search("cn=Subschema", "(objectClass=*)", ldap3.BASE, attributes=["objectClasses"])
        classes = " ".join(connection.response[0]["attributes"]["objectClasses"])
    assert "NAME 'hwbAccount'" in classes and "NAME 'hwbLease'" in classes
    database = "olcDatabase={1}mdb,cn=config"
    indexes = {re.sub(r"^\{\d+\}", "", value) for value in _config_values(bare_slapd, database, "olcDbIndex")}
    wanted = [line.split(": ", 1)[1] for line in (REPO / "deploy" / "openldap" / "indexes.ldif").read_text()
              .splitlines() if line.startswith("olcDbIndex: ")]
    assert wanted and set(wanted) <= indexes
    assert _config_values(bare_slapd, database, "olcLastBind") == ["TRUE"]
    assert _config_values(bare_slapd, f"olcOverlay={{0}}ppolicy,{database}", "olcOverlay") == ["{0}ppolicy"]


def test_the_agent_binds_with_the_guides_password_file_and_writes_only_what_the_acl_allows(
        bare_slapd, followed):
    password = _agent_password(followed)
    user = bare_slapd.add_user("guide.user", "User-Secret-1", attributes={"hwbCategory": "non-mis"})
    outside = f"cn=default,ou=policies,{bare_slapd.suffix}"
    with bare_slapd.connect(bare_slapd.agent_dn, password) as agent:
        agent.modify(user, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["000001010000Z"])],
                            "hwbDisabledReason": [(ldap3.MODIFY_REPLACE, ["expired"])]})
        agent.search(user, "(objectClass=*)", ldap3.BASE, attributes=["userPassword", "hwbCategory"])
        attributes = agent.response[0]["attributes"]
        assert attributes["hwbCategory"] in (["non-mis"], "non-mis") and not attributes.get("userPassword")
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            agent.modify(outside, {"pwdMaxFailure": [(ldap3.MODIFY_REPLACE, ["3"])]})
    assert not bare_slapd.can_bind(user, "User-Secret-1")  # the agent's lock holds (ppolicy)


def test_the_agents_paged_reads_are_not_cut_at_the_size_limit(bare_slapd, followed):
    assert bare_slapd.size_limit is not None
    count = bare_slapd.size_limit + 10
    bare_slapd.add_ldif("\n\n".join(bare_slapd.user_ldif(f"paged{number}") for number in range(count)))
    with bare_slapd.connect(bare_slapd.agent_dn, _agent_password(followed)) as agent:
        entries = agent.extend.standard.paged_search(
            bare_slapd.base_dn, "(uid=paged*)", attributes=["uid"], paged_size=20, generator=False)
        assert len([entry for entry in entries if entry["type"] == "searchResEntry"]) == count
