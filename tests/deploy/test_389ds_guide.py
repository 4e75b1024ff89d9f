"""deploy/389ds/README.md, run as written against a 389-DS instance made for this module alone
(tests/servers/ds389.py with bare=True: dscreate with the suffix entry only, no hwb schema, no
Account Policy, no agent; the fixture's test-only settings stay: loopback, size limit 50, dynamic
plugins).

Run: every ```sh test block (99hwb.ldif into the schema directory and `dsconf ... schema reload`,
dynamic plugins, account-policy.ldif, agent.ldif, the agent's password set by Directory Manager
replacing userPassword, the bind and lastLoginTime check). Checked afterwards: the schema is
there; the agent binds with the guide's password file, locks an account under the base DN (its
bind is then refused with 53), pages past the size limit, and cannot write outside the base DN.

Not run: `dsctl INSTANCE restart` (only needed without dynamic plugins; the fixture has no
systemd instance) and `hwb-agent check-config` (covered by the agent's own tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from tests.deploy.guide import REPO, run_guide, secret_file
from tests.servers import ds389

GUIDE = REPO / "deploy" / "389ds" / "README.md"
PASSWORD = "User-Secret-1"
pytestmark = pytest.mark.ds389


@pytest.fixture(scope="module")
def bare_389() -> Iterator[ds389.Ds389Server]:
    if not ds389.dscreate_binary() or os.geteuid() != 0:
        pytest.skip("needs 389-ds-base and root (389-DS runs as the dirsrv user)")
    server = ds389.start_ds389(bare=True)
    try:
        server.add_ldif(f"dn: {server.base_dn}\nobjectClass: organizationalUnit\nou: people\n\n"
                        f"dn: ou=others,{server.suffix}\nobjectClass: organizationalUnit\nou: others\n")
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def followed(bare_389: ds389.Ds389Server, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("389ds-guide")
    values = {
        "SUFFIX": bare_389.suffix,
        "BASE_DN": bare_389.base_dn,
        "SCHEMA_DIR": str(bare_389.config_dir / "schema"),
        "LDAP_URI": bare_389.url,
        "DM_PASSWORD_FILE": str(secret_file(folder / "dm.password", bare_389.admin_password)),
        "AGENT_PASSWORD_FILE": str(folder / "credentials" / "cardiff.bind-password"),
    }
    run_guide(GUIDE, values)
    return values


def _agent(server: ds389.Ds389Server, values: dict[str, str]) -> ldap3.Connection:
    return server.connect(server.agent_dn, Path(values["AGENT_PASSWORD_FILE"]).read_text(), check_names=False)


def test_the_schema_is_loaded_without_a_restart(bare_389, followed):
    with bare_389.connect() as connection:
        connection.search("cn=schema", "(objectClass=*)", ldap3.BASE, attributes=["objectClasses"])
        classes = " ".join(connection.response[0]["attributes"]["objectClasses"])
    assert "'hwbAccount'" in classes and "'hwbLease'" in classes


def test_the_agent_locks_an_account_under_the_base_dn_and_nothing_outside(bare_389, followed):
    inside = bare_389.add_user("guide.inside", PASSWORD, attributes={"hwbCategory": "non-mis"})
    outside = bare_389.add_user("guide.outside", PASSWORD, parent_dn=f"ou=others,{bare_389.suffix}")
    with _agent(bare_389, followed) as agent:
        agent.modify(inside, {"nsAccountLock": [(ldap3.MODIFY_REPLACE, ["TRUE"])],
                              "hwbDisabledReason": [(ldap3.MODIFY_REPLACE, ["expired"])]})
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            agent.modify(outside, {"nsAccountLock": [(ldap3.MODIFY_REPLACE, ["TRUE"])]})
    assert bare_389.bind_result(inside, PASSWORD)["result"] == 53
    assert bare_389.can_bind(outside, PASSWORD)


def test_the_agents_paged_reads_are_not_cut_at_the_size_limit(bare_389, followed):
    assert bare_389.size_limit is not None
    count = bare_389.size_limit + 10
    bare_389.add_ldif("\n\n".join(bare_389.user_ldif(f"paged{number}") for number in range(count)))
    with _agent(bare_389, followed) as agent:
        entries = agent.extend.standard.paged_search(
            bare_389.base_dn, "(uid=paged*)", attributes=["uid"], paged_size=20, generator=False)
        assert len([entry for entry in entries if entry["type"] == "searchResEntry"]) == count
