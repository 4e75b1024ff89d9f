"""The upgrade of deploy/openldap/README.md for a schema loaded before hwbReminderSent (issue 14): on
a slapd with the earlier schema, the README's block adds the attribute and lets hwbAccount hold it;
its definitions are those of hwb-schema.ldif."""

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


def _earlier_schema() -> str:
    """hwb-schema.ldif as it was before hwbReminderSent (the attribute and its MAY entry removed)."""
    text = SCHEMA.read_text()
    definition = r"olcAttributeTypes: \( \S+ NAME 'hwbReminderSent'.*?\)\n(?=olc)"
    text = re.sub(definition, "", text, flags=re.S)
    text = text.replace(" $\n    hwbReminderSent ) )", " ) )")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"
    assert "hwbReminderSent" not in text
    return text


def _upgrade_block() -> str:
    [block] = [block for block in blocks(GUIDE) if block.words == ["sh", "upgrade"]]
    return block.body


def test_the_readme_block_carries_the_schema_files_definitions():
    body = " ".join(_upgrade_block().split())
    for name, text in {**definitions(SCHEMA, "olcAttributeTypes:"), **definitions(SCHEMA, "olcObjectClasses:")
                       }.items():
        if name in ("hwbReminderSent", "hwbAccount", "hwbLease"):
            assert " ".join(text.split()) in body, name


def test_the_upgrade_adds_the_attribute_to_a_server_with_the_earlier_schema(tmp_path):
    if not slapd.slapd_binary():
        pytest.skip("slapd is not installed")
    server = slapd.start_slapd(deploy=False)
    try:
        server.ldapi_config(_earlier_schema())
        dn = f"uid=old,{server.suffix}"
        with server.connect() as connection:
            connection.add(dn, ["inetOrgPerson", "hwbAccount"], {"uid": "old", "cn": "Old", "sn": "Old",
                                                                "hwbCategory": "non-mis"})
            with pytest.raises(LDAPUndefinedAttributeTypeResult):  # the earlier schema: no such attribute
                connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, ["14:expiry:2027-01-31"])]})
        tools = os.path.dirname(slapd._tool("ldapmodify"))
        subprocess.run(["bash", "-euo", "pipefail", "-c", _upgrade_block()], check=True, timeout=60,
                       env={**os.environ, "LDAPI": server.ldapi_url, "PATH": f"{tools}:{os.environ['PATH']}"})
        with server.connect() as connection:
            connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, ["14:expiry:2027-01-31",
                                                                           "56:expiry:2027-01-31"])]})
            with pytest.raises(LDAPAttributeOrValueExistsResult):
                connection.modify(dn, {"hwbReminderSent": [(ldap3.MODIFY_ADD, ["14:expiry:2027-01-31"])]})
            connection.search(dn, "(objectClass=*)", ldap3.BASE,
                              attributes=["hwbCategory", "hwbReminderSent"])
            entry = connection.response[0]["attributes"]
            assert entry["hwbCategory"] == ["non-mis"]
            assert sorted(entry["hwbReminderSent"]) == ["14:expiry:2027-01-31", "56:expiry:2027-01-31"]
    finally:
        server.destroy()
