"""The schema upgrade of deploy/389ds/README.md (step 1's note): on a 389-DS instance started with the
99hwb.ldif of an earlier release (the first release, without hwbOrganisation, hwbTransferredFrom,
hwbTransferredAt, hwbReminderSent and hwbOrgRegistry; or the reminders release, issue 14, with
hwbReminderSent only), step 1's two commands as written (the file replaced whole, `dsconf ... schema
reload --wait`, no restart) load every addition: a user holds a value of each new hwbAccount
attribute, an hwbOrgRegistry entry holds hwbOrganisation values, data written before is untouched,
and running the commands a second time is harmless."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import ldap3
import pytest
from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult, LDAPException

from tests.deploy.guide import REPO, runnable_blocks, secret_file
from tests.servers import ds389

pytestmark = pytest.mark.ds389
GUIDE = REPO / "deploy" / "389ds" / "README.md"
ADDED_AFTER_THE_FIRST_RELEASE = {"hwbOrganisation", "hwbTransferredFrom", "hwbTransferredAt",
                                 "hwbReminderSent"}
EARLIER = {
    "first-release": (ADDED_AFTER_THE_FIRST_RELEASE, {"hwbOrgRegistry"}),
    "reminders-release": (ADDED_AFTER_THE_FIRST_RELEASE - {"hwbReminderSent"}, {"hwbOrgRegistry"}),
}
KEY = "14:expiry:2027-01-31"
FROM = "uid=upgrade.user,ou=people,dc=swansea,dc=example,dc=org"  # its DN in the other authority
ORGANISATIONS = ['{"id": "org-1", "type": "school", "number": "6812345", "name": "Ysgol Un"}',
                 '{"id": "org-2", "type": "school", "number": "6812346", "name": "Ysgol Dau"}']


def _schema_block() -> str:
    [block] = [block for block in runnable_blocks(GUIDE) if "99hwb.ldif" in block.body]
    return block.body


def _earlier(attributes: set[str], classes: set[str]) -> str:
    """deploy/389ds/99hwb.ldif as an earlier release had it: without these attributes and classes."""
    lines = []
    for line in ds389.SCHEMA_LDIF.read_text().splitlines():
        if any(f"NAME '{name}'" in line for name in attributes | classes):
            continue
        for name in attributes:  # out of hwbAccount's MAY list
            line = re.sub(rf"\s*\$\s*{name}\b|\b{name}\s*\$\s*", "", line)
        lines.append(line)
    text = "\n".join(lines) + "\n"
    for name in attributes | classes:
        assert name not in text, name
    return text


@pytest.fixture
def instance() -> Iterator[ds389.Ds389Server]:
    if not ds389.dscreate_binary() or os.geteuid() != 0:
        pytest.skip("needs 389-ds-base and root (389-DS runs as the dirsrv user)")
    server = ds389.start_ds389(bare=True)
    try:
        yield server
    finally:
        server.destroy()


def _run_step_1(server: ds389.Ds389Server, dm_password_file: str) -> None:
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _schema_block()], cwd=REPO, timeout=300, capture_output=True,
        text=True, env={**os.environ, "SCHEMA_DIR": str(server.config_dir / "schema"),
                        "LDAP_URI": server.url, "DM_PASSWORD_FILE": dm_password_file})
    assert completed.returncode == 0, f"step 1 failed:\n{completed.stdout}\n{completed.stderr}"


def _schema_names(server: ds389.Ds389Server) -> set[str]:
    with server.connect() as connection:
        kinds = ["attributeTypes", "objectClasses"]
        connection.search("cn=schema", "(objectClass=*)", ldap3.BASE, attributes=kinds)
        found = connection.response[0]["raw_attributes"]
        definitions = [value.decode() for kind in kinds for value in found[kind]]
    return {name for text in definitions for name in re.findall(r"NAME '([^']+)'", text)}


@pytest.mark.parametrize("earlier", list(EARLIER))
def test_step_1_upgrades_an_earlier_schema(instance, earlier, tmp_path):
    server = instance
    attributes, classes = EARLIER[earlier]
    (server.config_dir / "schema" / "99hwb.ldif").write_text(_earlier(attributes, classes))
    server.stop()
    server.start()  # as a server running the earlier release's schema since its start
    assert not (attributes | classes) & _schema_names(server)
    user = f"uid=upgrade.user,{server.suffix}"
    registry = f"cn=hwb-agent-orgs,{server.suffix}"
    before = {"hwbSponsor": ["admin1"], "hwbReminderSent": []}
    if "hwbReminderSent" not in attributes:  # the reminders release: a reminder already recorded
        before["hwbReminderSent"] = ["7:expiry:2027-01-31"]
    with server.connect(check_names=False) as connection:
        connection.add(user, ["inetOrgPerson", "hwbAccount"],
                       {"uid": "upgrade.user", "cn": "Upgrade", "sn": "User",
                        **{name: values for name, values in before.items() if values}})
        with pytest.raises(LDAPException):
            connection.modify(user, {"hwbTransferredFrom": [(ldap3.MODIFY_REPLACE, [FROM])]})
        with pytest.raises(LDAPException):
            connection.add(registry, ["hwbOrgRegistry"], {"cn": "hwb-agent-orgs"})

    dm_password_file = str(secret_file(tmp_path / "dm.password", server.admin_password))
    _run_step_1(server, dm_password_file)

    shipped = set(re.findall(r"NAME '([^']+)'", ds389.SCHEMA_LDIF.read_text()))
    assert shipped <= _schema_names(server)
    with server.connect(check_names=False) as connection:
        connection.modify(user, {
            "hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY, "56:expiry:2027-01-31"])],
            "hwbTransferredFrom": [(ldap3.MODIFY_REPLACE, [FROM])],
            "hwbTransferredAt": [(ldap3.MODIFY_REPLACE, ["20270115093000Z"])],
        })
        with pytest.raises(LDAPAttributeOrValueExistsResult):
            connection.modify(user, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY])]})
        connection.add(registry, ["hwbOrgRegistry"],
                       {"cn": "hwb-agent-orgs", "hwbOrganisation": ORGANISATIONS})

    _run_step_1(server, dm_password_file)  # a second time: harmless

    with server.connect(check_names=False) as connection:
        connection.search(server.suffix, "(&(hwbTransferredAt<=20270131000000Z)(hwbSponsor=admin1))",
                          ldap3.SUBTREE, attributes=["hwbSponsor", *sorted(ADDED_AFTER_THE_FIRST_RELEASE)])
        [found] = [item for item in connection.response if item["type"] == "searchResEntry"]
        assert found["dn"].lower() == user.lower()  # GeneralizedTime, ordered on the server
        values = {name: sorted(value.decode() for value in items)
                  for name, items in found["raw_attributes"].items()}
        assert values["hwbReminderSent"] == sorted([KEY, "56:expiry:2027-01-31", *before["hwbReminderSent"]])
        assert values["hwbTransferredFrom"] == [FROM]
        assert values["hwbTransferredAt"] == ["20270115093000Z"]
        assert values["hwbSponsor"] == before["hwbSponsor"]  # untouched
        connection.search(registry, "(objectClass=hwbOrgRegistry)", ldap3.BASE,
                          attributes=["hwbOrganisation"])
        stored = connection.response[0]["raw_attributes"]["hwbOrganisation"]
        assert sorted(value.decode() for value in stored) == sorted(ORGANISATIONS)
