"""deploy/active-directory/README.md, "Set up on Samba AD DC", run as written against a Samba DC
provisioned for this module alone (tests/servers/samba.py with bare=True: no hwb schema, no agent
account, default password policy), then the agent's own sweep as the service account the guide
made, with config/example-active-directory.yaml filled in for this DC.

Run: the settings are this DC's; every ```sh test block (the three schema parts with ldbmodify,
the OU and account with samba-tool, the five ACEs with samba-tool dsacl, the LDAPS check).
Checked afterwards: the schema is usable over LDAP without a restart; a sweep as hwb-agent
disables an expired account (NM-3) and re-enables a learner who is current again (MIS-3); the
account's write to a user outside the delegated OU is refused (insufficientAccessRights, 50).

Not run (no Windows DC here): the "Set up on Windows" section (ldifde, New-ADUser, dsacls).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
import pytest
import yaml
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from tests.deploy.guide import REPO, run_guide
from tests.servers import samba
from tests.servers.base import TestServer

GUIDE = REPO / "deploy" / "active-directory" / "README.md"
EXAMPLE = REPO / "config" / "example-active-directory.yaml"
PASSWORD = "Passw0rd!guide"
pytestmark = pytest.mark.samba


@pytest.fixture(scope="module")
def bare_samba() -> Iterator[samba.SambaServer]:
    import os

    if not samba.samba_binary() or os.geteuid() != 0:
        pytest.skip("needs Samba AD DC (samba-ad-dc samba-ad-provision ldb-tools) and root")
    server = samba.start_samba(bare=True)
    try:
        with server.connect() as connection:  # the accounts OU exists before the guide starts
            connection.add(server.base_dn, ["organizationalUnit"], {"ou": "people"})
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def followed(bare_samba: samba.SambaServer, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("ad-guide")
    assert bare_samba.tls is not None and bare_samba.ldaps_url
    values = {
        "DOMAIN_DN": bare_samba.suffix,
        "SAM_LDB": str(bare_samba.sam_ldb),
        "ACCOUNTS_OU": bare_samba.base_dn,
        "AGENT_PASSWORD_FILE": str(folder / "credentials" / "cardiff.bind-password"),
        "LDAP_URI": bare_samba.ldaps_url,
        "CA_FILE": str(bare_samba.tls.ca_file),
    }
    completed = run_guide(GUIDE, values)
    assert completed.stdout.strip().splitlines()[-1] == "5", completed.stdout  # dsacl get: 5 ACEs
    return values


def _time(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S.0Z")


def _configuration(server: samba.SambaServer, values: dict[str, str], folder: Path) -> Path:
    """config/example-active-directory.yaml with this DC's URL, DNs, CA and the guide's password file."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["directory"].update(
        url=server.ldaps_url, ca_file=values["CA_FILE"], base_dn=values["ACCOUNTS_OU"],
        bind_dn=f"CN=hwb-agent,OU=services,{values['DOMAIN_DN']}",
        password_file=values["AGENT_PASSWORD_FILE"], domain_controllers=[server.ldaps_url],
    )
    data["logging"]["audit_file"] = str(folder / "audit.jsonl")
    data["safety"] = {"max_change_percent": 100}  # two accounts: any change is 50% of them
    path = folder / "cardiff.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_schema_is_usable_over_ldap_at_once(bare_samba, followed):
    dn = bare_samba.add_user("guide.schema", PASSWORD, attributes={"hwbCategory": "non-mis"})
    with bare_samba.connect() as connection:
        connection.search(dn, "(hwbCategory=non-mis)", ldap3.BASE, attributes=["hwbCategory"])
        assert len(connection.response) == 1
        connection.delete(dn)


def test_a_sweep_as_the_service_account_disables_and_enables(bare_samba, followed, tmp_path):
    now = datetime.now(UTC)
    expired = bare_samba.add_user("guide.expired", PASSWORD, attributes={
        "hwbCategory": "non-mis", "hwbNonMisType": "governor", "hwbSponsor": "admin.guide",
        "hwbExpiryDate": (now - timedelta(days=3)).strftime("%Y%m%d000000.0Z"),
    })
    mover = bare_samba.add_user("guide.mover", PASSWORD, attributes={
        "hwbCategory": "mis", "hwbRole": "learner", "hwbSchool": "6812001", "hwbMisId": "A123456789012",
        "hwbDisabledReason": "left", "hwbDisabledAt": _time(now - timedelta(days=40)),
    })
    with bare_samba.connect() as connection:
        connection.modify(mover, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(samba.USER_DISABLED)])]})
    config = _configuration(bare_samba, followed, tmp_path)
    completed = subprocess.run([sys.executable, "-m", "agent", "--config", str(config), "sweep", "--json"],
                               cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    done = {(action["uid"], action["action"], action["rule"]) for action in report["actions"]}
    assert {("guide.expired", "disable", "NM-3"), ("guide.mover", "enable", "MIS-3")} <= done, report
    assert not report["errors"], report
    assert not bare_samba.can_bind(expired, PASSWORD)
    assert bare_samba.can_bind(mover, PASSWORD)


def test_the_service_account_cannot_write_outside_its_ou(bare_samba: TestServer, followed):
    outside = bare_samba.add_user("guide.outside", PASSWORD, parent_dn=f"CN=Users,{bare_samba.suffix}")
    password = Path(followed["AGENT_PASSWORD_FILE"]).read_text()
    disable = {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(samba.USER_DISABLED)])]}
    with bare_samba.connect(f"CN=hwb-agent,OU=services,{bare_samba.suffix}", password) as agent:
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            agent.modify(outside, disable)
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            agent.modify(outside, {"description": [(ldap3.MODIFY_REPLACE, ["changed by the agent"])]})
    assert bare_samba.can_bind(outside, PASSWORD)
