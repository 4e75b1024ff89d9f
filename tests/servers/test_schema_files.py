"""The shipped schema files agree with agent/directory/fields.py and with each other (no server)."""

from __future__ import annotations

import re
from pathlib import Path

from agent.settings.attributes import LIFECYCLE_FIELDS, MULTI_VALUED_FIELDS, Encoding
from tests.servers.slapd import DEPLOY_STEPS

REPO = Path(__file__).resolve().parents[2]
OPENLDAP = REPO / "deploy" / "openldap"
ARC = "2.25.217864779204001762096724465836728287125"
AD_ARC = "1.2.840.113556.1.8000.2554.41959.15087.1200.19837.48147.10470848.14188437"
LEASE = {"hwbLeaseHolder": Encoding.STRING, "hwbLeaseExpiry": Encoding.TIME}
# Multi-valued, one value per item, outside the hwbAccount class.
MULTI_VALUED = {"hwbOrganisation": Encoding.STRING}
GENERALIZED_TIME = "1.3.6.1.4.1.1466.115.121.1.24"
# Every attribute is single-valued but these: the registry's, and hwbReminderSent in hwbAccount (one
# value per reminder sent, issue 14).
SEVERAL = set(MULTI_VALUED) | {LIFECYCLE_FIELDS[field].name for field in MULTI_VALUED_FIELDS}


def unfolded(path: Path) -> list[str]:
    """LDIF lines with continuations joined and comments dropped."""
    lines: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def definitions(path: Path, prefix: str) -> dict[str, str]:
    """NAME -> whole definition for lines starting with prefix."""
    found = {}
    for line in unfolded(path):
        if line.startswith(prefix):
            name = re.search(r"NAME '([^']+)'", line).group(1)
            found[name] = line
    return found


def expected_attributes() -> dict[str, Encoding]:
    return {spec.name: spec.encoding for spec in LIFECYCLE_FIELDS.values()} | LEASE | MULTI_VALUED


def test_openldap_schema_defines_every_lifecycle_attribute_single_valued_with_the_right_rules():
    attributes = definitions(OPENLDAP / "hwb-schema.ldif", "olcAttributeTypes:")
    assert set(attributes) == set(expected_attributes())
    oids = [re.search(r"\( (\S+)", text).group(1) for text in attributes.values()]
    assert len(set(oids)) == len(oids)
    for name, encoding in expected_attributes().items():
        text = attributes[name]
        assert ("SINGLE-VALUE" in text) is (name not in SEVERAL), name
        assert re.search(rf"\( {re.escape(ARC)}\.1\.\d+ ", text), name
        if encoding in (Encoding.DATE, Encoding.TIME):
            assert f"SYNTAX {GENERALIZED_TIME}" in text, name
            assert "EQUALITY generalizedTimeMatch" in text and "ORDERING generalizedTimeOrderingMatch" in text
        elif name in MULTI_VALUED:
            assert "EQUALITY caseExactMatch" in text, name  # JSON values: case is meaningful
        else:
            assert "EQUALITY caseIgnoreMatch" in text, name


def test_openldap_classes_hold_the_lifecycle_and_lease_attributes():
    classes = definitions(OPENLDAP / "hwb-schema.ldif", "olcObjectClasses:")
    account, lease = classes["hwbAccount"], classes["hwbLease"]
    assert "AUXILIARY" in account and f"{ARC}.2.1 " in account
    may = re.search(r"MAY \(([^)]*)\)", account).group(1)
    assert {name.strip() for name in may.split("$")} == {spec.name for spec in LIFECYCLE_FIELDS.values()}
    assert "STRUCTURAL" in lease and "MUST cn" in lease and f"{ARC}.2.2 " in lease
    assert "hwbLeaseHolder" in lease and "hwbLeaseExpiry" in lease
    registry = classes["hwbOrgRegistry"]
    assert "STRUCTURAL" in registry and "MUST cn" in registry and "MAY hwbOrganisation" in registry


def test_389ds_schema_matches_the_openldap_one():
    openldap = definitions(OPENLDAP / "hwb-schema.ldif", "olcAttributeTypes:")
    ds389 = definitions(REPO / "deploy" / "389ds" / "99hwb.ldif", "attributeTypes:")
    assert {name: text.split(": ", 1)[1] for name, text in ds389.items()} == {
        name: text.split(": ", 1)[1] for name, text in openldap.items()
    }
    classes = definitions(REPO / "deploy" / "389ds" / "99hwb.ldif", "objectClasses:")
    assert {name: text.split(": ", 1)[1] for name, text in classes.items()} == {
        name: text.split(": ", 1)[1] for name, text in definitions(OPENLDAP / "hwb-schema.ldif",
                                                                  "olcObjectClasses:").items()
    }


def test_active_directory_schema_has_the_same_names_and_syntaxes():
    parts = sorted((REPO / "deploy" / "active-directory").glob("hwb-schema-*.ldif"))
    text = "\n\n".join(path.read_text() for path in parts)
    records = [record for record in text.split("\n\n") if "objectClass: attributeSchema" in record]
    found = {}
    for record in records:
        name = re.search(r"^lDAPDisplayName: (\S+)$", record, re.M).group(1)
        found[name] = record
        single = "FALSE" if name in SEVERAL else "TRUE"
        assert f"isSingleValued: {single}" in record, name
        assert re.search(rf"^attributeID: {re.escape(AD_ARC)}\.1\.\d+$", record, re.M)
    assert set(found) == set(expected_attributes())
    for name, encoding in expected_attributes().items():
        syntax = "2.5.5.11" if encoding in (Encoding.DATE, Encoding.TIME) else "2.5.5.12"
        assert f"attributeSyntax: {syntax}" in found[name], name
    account = next(record for record in text.split("\n\n") if "lDAPDisplayName: hwbAccount" in record)
    may = set(re.findall(r"^mayContain: (\S+)$", account, re.M))
    assert may == {spec.name for spec in LIFECYCLE_FIELDS.values()}


def test_indexed_attributes_exist_and_every_deploy_ldif_is_loaded_by_the_fixture():
    schema = set(definitions(OPENLDAP / "hwb-schema.ldif", "olcAttributeTypes:"))
    indexed = [line.split(":", 1)[1].split()[0] for line in unfolded(OPENLDAP / "indexes.ldif")
               if line.startswith("olcDbIndex:")]
    assert {name for name in indexed if name.startswith("hwb")} <= schema
    assert {"hwbCategory", "hwbRole", "hwbExpiryDate", "hwbLeavingDate", "pwdLastSuccess"} <= set(indexed)
    # The slapd fixture applies the deployment guide: no LDIF may be shipped that it skips, but for
    # the national topology's ACL, which replaces steps 8 and 9 and is loaded by its own test.
    alternatives = {"national-acl.ldif": "tests/directory/test_national_rights_slapd.py"}
    assert {path.name for path in OPENLDAP.glob("*.ldif")} - set(alternatives) == {
        name for name, _ in DEPLOY_STEPS}
    for name, test in alternatives.items():
        assert name in (REPO / test).read_text(encoding="utf-8")
