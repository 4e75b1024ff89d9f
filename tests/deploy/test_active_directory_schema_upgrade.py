"""The upgrade of deploy/active-directory/README.md for a schema loaded before hwbReminderSent
(issue 14): on a Samba DC with the earlier three parts, the README's block adds the multi-valued
attribute to the schema and to hwbAccount; its record is the one of part 1."""

from __future__ import annotations

import os
import subprocess

import ldap3
import pytest
from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult, LDAPException

from tests.deploy.guide import REPO, blocks
from tests.servers import samba

pytestmark = pytest.mark.samba
GUIDE = REPO / "deploy" / "active-directory" / "README.md"
PARTS = sorted((REPO / "deploy" / "active-directory").glob("hwb-schema-*.ldif"))


def _upgrade_block() -> str:
    [block] = [block for block in blocks(GUIDE) if block.words == ["sh", "upgrade"]]
    return block.body


def _earlier(text: str) -> str:
    """A schema part as it was before hwbReminderSent."""
    records = [record for record in text.split("\n\n")
               if "lDAPDisplayName: hwbReminderSent" not in record]
    return "\n\n".join(records).replace("mayContain: hwbReminderSent\n", "")


def test_the_readme_block_carries_the_record_of_part_1():
    record = next(item for item in PARTS[0].read_text().split("\n\n") if "hwbReminderSent" in item)
    assert record.strip().replace("DC=X", "$DOMAIN_DN") in _upgrade_block()


def test_the_upgrade_adds_the_attribute_to_a_dc_with_the_earlier_schema(tmp_path):
    if not samba.samba_binary() or os.geteuid() != 0:
        pytest.skip("needs Samba AD DC (samba-ad-dc samba-ad-provision ldb-tools) and root")
    server = samba.start_samba(bare=True)
    try:
        for part in PARTS:
            earlier = tmp_path / part.name
            earlier.write_text(_earlier(part.read_text()).replace("DC=X\n", f"{server.suffix}\n"))
            assert "hwbReminderSent" not in earlier.read_text()
            subprocess.run(["ldbmodify", "-H", str(server.sam_ldb),
                            "--option=dsdb:schema update allowed=true", str(earlier)],
                           check=True, capture_output=True, timeout=120)
        administrator = f"CN=Administrator,CN=Users,{server.suffix}"
        key = "14:expiry:2027-01-31"
        with server.connect() as connection:
            connection.modify(administrator, {"hwbSponsor": [(ldap3.MODIFY_REPLACE, ["admin1"])]})
            with pytest.raises(LDAPException):  # the earlier schema has no such attribute
                connection.modify(administrator, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [key])]})
        subprocess.run(["bash", "-euo", "pipefail", "-c", _upgrade_block()], check=True, timeout=120,
                       capture_output=True,
                       env={**os.environ, "DOMAIN_DN": server.suffix, "SAM_LDB": str(server.sam_ldb)})
        with server.connect() as connection:
            connection.modify(administrator,
                              {"hwbReminderSent": [(ldap3.MODIFY_ADD, [key, "56:expiry:2027-01-31"])]})
            with pytest.raises(LDAPAttributeOrValueExistsResult):
                connection.modify(administrator, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [key])]})
            connection.search(administrator, "(objectClass=*)", ldap3.BASE, attributes=["hwbReminderSent"])
            assert sorted(connection.response[0]["attributes"]["hwbReminderSent"]) == [
                "14:expiry:2027-01-31", "56:expiry:2027-01-31"]
    finally:
        server.destroy()
