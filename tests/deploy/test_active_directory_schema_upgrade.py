"""The schema upgrade of deploy/active-directory/README.md ("Upgrading a schema loaded before a later
release"): on a Samba DC that loaded the schema of an earlier release (the first release, without
hwbOrganisation, hwbTransferredFrom, hwbTransferredAt, hwbReminderSent and hwbOrgRegistry; the
reminders release, issue 14, with hwbReminderSent only; or no part at all), the README's block brings
the schema to the shipped part files: every attribute and class of the files is there with the files'
values, a user holds a value of each new hwbAccount attribute, an hwbOrgRegistry entry holds
hwbOrganisation values, data written before the upgrade is untouched, and a second run of the block
succeeds and changes no schema entry. The Windows records of the section are checked against part 2.
"""

from __future__ import annotations

import os
import re
import subprocess

import ldap3
import pytest
from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult, LDAPException

from tests.deploy.guide import REPO, blocks
from tests.servers import samba

pytestmark = pytest.mark.samba
GUIDE = REPO / "deploy" / "active-directory" / "README.md"
PARTS = sorted((REPO / "deploy" / "active-directory").glob("hwb-schema-*.ldif"))
SECTION = "### Upgrading a schema loaded before a later release"

# What each earlier release lacked: attributes (and their mayContain in hwbAccount) and classes.
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


def _section() -> str:
    text = GUIDE.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


def _upgrade_block() -> str:
    [block] = [block for block in blocks(GUIDE) if block.words == ["sh", "upgrade"]]
    return block.body


def _records(text: str) -> list[str]:
    """The records of an LDIF text (comment lines dropped)."""
    records = []
    for record in re.split(r"\n\s*\n", text):
        lines = [line for line in record.splitlines() if line and not line.startswith("#")]
        if lines:
            records.append("\n".join(lines))
    return records


def _earlier(text: str, attributes: set[str], classes: set[str]) -> str:
    """A schema part as an earlier release had it: without these attributes and classes."""
    kept = [record for record in _records(text)
            if not any(f"\nlDAPDisplayName: {name}\n" in f"{record}\n" for name in attributes | classes)]
    lines = [line for line in "\n\n".join(kept).splitlines()
             if line.removeprefix("mayContain: ") not in attributes]
    result = "\n".join(lines) + "\n"
    for name in attributes | classes:
        assert name not in result, name
    return result


def _expected(suffix: str) -> dict[str, dict[str, set[str]]]:
    """Per schema entry (lower-case cn) of the parts: the values (lower case) each attribute must hold."""
    expected: dict[str, dict[str, set[str]]] = {}
    for part in PARTS:
        for record in _records(part.read_text()):
            dn, *lines = record.replace("DC=X", suffix).splitlines()
            if dn.strip() == "dn:":
                continue  # schemaUpdateNow
            entry = expected.setdefault(dn.split(",")[0].removeprefix("dn: CN=").lower(), {})
            for line in lines:
                name, _, value = line.partition(": ")
                if name not in ("changetype", "add", "-") and line != "-":
                    entry.setdefault(name, set()).add(value.lower())
    return expected


def _schema_entries(server: samba.SambaServer) -> dict[str, dict[str, list[str]]]:
    """The forest's schema entries named by the parts: every attribute, as text."""
    names = _expected(server.suffix)
    found: dict[str, dict[str, list[str]]] = {}
    with server.connect() as connection:
        for cn in names:
            connection.search(f"CN=Schema,CN=Configuration,{server.suffix}", f"(cn={cn})",
                              ldap3.LEVEL, attributes=["*", "uSNChanged"])
            for entry in connection.response:
                if entry["type"] == "searchResEntry":
                    found[cn] = {name: [value.decode(errors="replace") for value in values]
                                 for name, values in entry["raw_attributes"].items()}
    return found


def _ldbmodify(server: samba.SambaServer, path) -> None:
    subprocess.run(["ldbmodify", "-H", str(server.sam_ldb), "--option=dsdb:schema update allowed=true",
                    str(path)], check=True, capture_output=True, timeout=120)


def _run_block(server: samba.SambaServer) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _upgrade_block()], cwd=REPO, timeout=300, capture_output=True,
        text=True, env={**os.environ, "DOMAIN_DN": server.suffix, "SAM_LDB": str(server.sam_ldb)})
    assert completed.returncode == 0, f"the upgrade block failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def test_the_block_derives_its_records_from_the_shipped_parts():
    """No schema record is copied into the README (it could drift from the parts): the block reads them."""
    body = _upgrade_block()
    assert "deploy/active-directory/hwb-schema-*.ldif" in body
    assert "attributeSchema" not in body and "classSchema" not in body and "attributeID" not in body
    assert _upgrade_block() in _section()


def test_the_windows_records_are_the_later_values_of_hwbaccount_in_part_2():
    """ldifde -k skips an existing class whole, so the section's records add hwbAccount's later
    mayContain values one per record (a value already there is skipped alone)."""
    [windows] = [block for block in blocks(GUIDE) if block.words == ["ldif", "hwb-account-upgrade.ldif"]]
    assert windows.body in _section()
    *records, refresh = _records(windows.body)
    assert refresh == "dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-"
    assert all(record.splitlines()[:3] == ["dn: CN=hwbAccount,CN=Schema,CN=Configuration,DC=X",
                                           "changetype: modify", "add: mayContain"] for record in records)
    listed = [line.removeprefix("mayContain: ") for record in records for line in record.splitlines()
              if line.startswith("mayContain: ")]
    assert len(listed) == len(records)  # one value per record
    in_part_2 = _expected("DC=X")["hwbaccount"]["mayContain"]
    later = {name.lower() for name in ADDED_AFTER_THE_FIRST_RELEASE} & in_part_2
    assert {name.lower() for name in listed} == later
    assert all(name in PARTS[0].read_text() for name in ADDED_AFTER_THE_FIRST_RELEASE)


@pytest.fixture
def bare_dc():
    if not samba.samba_binary() or os.geteuid() != 0:
        pytest.skip("needs Samba AD DC (samba-ad-dc samba-ad-provision ldb-tools) and root")
    server = samba.start_samba(bare=True)
    try:
        yield server
    finally:
        server.destroy()


@pytest.mark.parametrize("earlier", [*EARLIER, "no-part-loaded"])
def test_the_upgrade_brings_an_earlier_schema_to_the_parts(bare_dc, earlier, tmp_path):
    server = bare_dc
    schema_dn = f"CN=Schema,CN=Configuration,{server.suffix}"
    user = f"CN=upgrade.user,CN=Users,{server.suffix}"
    registry = f"CN=hwb-agent-orgs,CN=Users,{server.suffix}"
    before_upgrade: dict[str, list[str]] = {"hwbSponsor": [], "hwbReminderSent": []}
    if earlier in EARLIER:
        attributes, classes = EARLIER[earlier]
        for part in PARTS:
            path = tmp_path / part.name
            text = _earlier(part.read_text(), attributes, classes)
            path.write_text(text.replace("DC=X\n", f"{server.suffix}\n"))
            _ldbmodify(server, path)
        before_upgrade["hwbSponsor"] = ["admin1"]
        if "hwbReminderSent" not in attributes:  # the reminders release: a reminder already recorded
            before_upgrade["hwbReminderSent"] = ["7:expiry:2027-01-31"]
        with server.connect() as connection:
            written = {name: items for name, items in before_upgrade.items() if items}
            connection.add(user, ["user"], {"sAMAccountName": "upgrade.user", **written})
            for name in sorted(attributes):  # the earlier schema has no such attribute
                connection.search(schema_dn, f"(lDAPDisplayName={name})", ldap3.LEVEL)
                assert not [item for item in connection.response if item["type"] == "searchResEntry"], name
            with pytest.raises(LDAPException):
                connection.modify(user, {"hwbTransferredFrom": [(ldap3.MODIFY_REPLACE, ["uid=x,o=y"])]})
            with pytest.raises(LDAPException):
                connection.add(registry, ["hwbOrgRegistry"], {})
    else:
        with server.connect() as connection:
            connection.add(user, ["user"], {"sAMAccountName": "upgrade.user"})

    _run_block(server)

    loaded = _schema_entries(server)
    for cn, attributes_of in _expected(server.suffix).items():
        assert cn in loaded, f"{cn} is not in the schema after the upgrade"
        for name, values in attributes_of.items():
            have = {value.lower() for value in loaded[cn].get(name, [])}
            assert values <= have, f"{cn}: {name} lacks {sorted(values - have)}"
    with server.connect() as connection:
        connection.modify(user, {
            "hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY, "56:expiry:2027-01-31"])],
            "hwbTransferredFrom": [(ldap3.MODIFY_REPLACE, [FROM])],
            "hwbTransferredAt": [(ldap3.MODIFY_REPLACE, ["20270115093000.0Z"])],
        })
        with pytest.raises(LDAPAttributeOrValueExistsResult):
            connection.modify(user, {"hwbReminderSent": [(ldap3.MODIFY_ADD, [KEY])]})
        connection.add(registry, ["hwbOrgRegistry"], {"hwbOrganisation": ORGANISATIONS})
        connection.search(f"CN=Users,{server.suffix}", "(hwbTransferredAt<=20270131000000.0Z)", ldap3.LEVEL,
                          attributes=["hwbSponsor", *sorted(ADDED_AFTER_THE_FIRST_RELEASE)])
        [found] = [item for item in connection.response if item["type"] == "searchResEntry"]
        assert found["dn"].lower() == user.lower()  # GeneralizedTime, ordered on the server
        values = {name: [value.decode() for value in items]
                  for name, items in found["raw_attributes"].items()}
        assert sorted(values["hwbReminderSent"]) == sorted([KEY, "56:expiry:2027-01-31",
                                                            *before_upgrade["hwbReminderSent"]])
        assert values["hwbTransferredFrom"] == [FROM]
        assert values["hwbTransferredAt"] == ["20270115093000.0Z"]
        assert values["hwbSponsor"] == before_upgrade["hwbSponsor"]  # untouched
        connection.search(registry, "(objectClass=hwbOrgRegistry)", ldap3.BASE,
                          attributes=["hwbOrganisation"])
        stored = connection.response[0]["raw_attributes"]["hwbOrganisation"]
        assert sorted(value.decode() for value in stored) == sorted(ORGANISATIONS)

    before = {cn: entry["uSNChanged"] for cn, entry in loaded.items()}
    _run_block(server)  # a second run: nothing left to add
    after = {cn: entry["uSNChanged"] for cn, entry in _schema_entries(server).items()}
    assert after == before
