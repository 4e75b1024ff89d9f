"""The schema upgrade of deploy/openldap/README.md (issue 14): on slapd servers that loaded an earlier
hwb-schema.ldif (without hwbReminderSent; without the organisation registry either; or already up to
date), the README's block adds what is missing and hwbAccount may then hold hwbReminderSent."""

from __future__ import annotations

import os
import re
import subprocess

import ldap3
import pytest
from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult, LDAPUndefinedAttributeTypeResult

from tests.deploy.guide import REPO, blocks
from tests.servers import slapd
from tests.servers.test_schema_files import definitions

pytestmark = pytest.mark.slapd
GUIDE = REPO / "deploy" / "openldap" / "README.md"
SCHEMA = REPO / "deploy" / "openldap" / "hwb-schema.ldif"
KEY = "14:expiry:2027-01-31"


def _schema_without(attributes: set[str], classes: set[str]) -> str:
    """hwb-schema.ldif as an earlier release had it: without these attribute types and classes."""
    lines = ["dn: cn=hwb,cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: hwb"]
    for name, text in definitions(SCHEMA, "olcAttributeTypes:").items():
        if name not in attributes:
            lines.append(text)
    for name, text in definitions(SCHEMA, "olcObjectClasses:").items():
        if name not in classes:
            for attribute in attributes:
                text = re.sub(rf"\s*\$\s*{attribute}\b|\b{attribute}\s*\$\s*", "", text)
            lines.append(text)
    text = "\n".join(lines) + "\n"
    for name in attributes | classes:
        assert f"'{name}'" not in text and f" {name} " not in text, name
    return text


def _upgrade_block() -> str:
    [block] = [block for block in blocks(GUIDE) if block.words == ["sh", "upgrade"]]
    return block.body


EARLIER = {
    "before-reminders": ({"hwbReminderSent"}, set()),
    "before-the-org-registry": ({"hwbReminderSent", "hwbOrganisation"}, {"hwbOrgRegistry"}),
    "up-to-date": (set(), set()),
}


@pytest.mark.parametrize("earlier", list(EARLIER))
def test_the_upgrade_brings_an_earlier_schema_to_the_files(earlier):
    if not slapd.slapd_binary():
        pytest.skip("slapd is not installed")
    attributes, classes = EARLIER[earlier]
    server = slapd.start_slapd(deploy=False)
    try:
        server.ldapi_config(_schema_without(attributes, classes))
        dn = f"uid=old,{server.suffix}"
        with server.connect() as connection:
            connection.add(dn, ["inetOrgPerson", "hwbAccount"], {"uid": "old", "cn": "Old", "sn": "Old",
                                                                "hwbCategory": "non-mis"})
            if attributes:
                with pytest.raises(LDAPUndefinedAttributeTypeResult):
                    connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY])]})
        tools = os.path.dirname(slapd._tool("ldapmodify"))
        subprocess.run(["bash", "-euo", "pipefail", "-c", _upgrade_block()], check=True, timeout=60,
                       cwd=REPO, capture_output=True,
                       env={**os.environ, "LDAPI": server.ldapi_url, "PATH": f"{tools}:{os.environ['PATH']}"})
        with server.connect() as connection:
            connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY, "56:expiry:2027-01-31"])]})
            with pytest.raises(LDAPAttributeOrValueExistsResult):
                connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY])]})
            connection.add(f"cn=orgs,{server.suffix}", ["hwbOrgRegistry"], {"cn": "orgs"})
            connection.search(dn, "(objectClass=*)", ldap3.BASE,
                              attributes=["hwbCategory", "hwbReminderSent"])
            entry = connection.response[0]["attributes"]
            assert entry["hwbCategory"] == ["non-mis"]
            assert sorted(entry["hwbReminderSent"]) == [KEY, "56:expiry:2027-01-31"]
    finally:
        server.destroy()
