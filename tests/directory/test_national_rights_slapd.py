"""deploy/openldap/national-acl.ldif on a real slapd (issue 15, C-3): two authorities, 681 and 682,
under one national base DN, each instance bound as its own agent (cn=hwb-agent-681, cn=hwb-agent-682),
with the national rules loaded instead of agent-acl.ldif and limits.ldif and Debian's catch-all
"to * by * read" deleted, so that those rules alone decide what the agents may do.

Proven: 682's agent takes a learner who left 681 (MIS-2, disabled by 681's own agent) in through
its own import, children kept (MIS-3), and the move ran on a connection bound as 682's agent; 681's
agent may do the same the other way. 682's agent cannot modify an attribute of, add or delete an
entry in 681's subtree, nor move anything within, into or out of it but a learner into its own
ou=mis (insufficientAccessRights, 50); neither agent reads a userPassword anywhere, its own
included; the national read is the account attributes the agent reads, not others; each agent
keeps its own lease only. Each of the move's grants is needed: with add or delete alone on
`entry`, or no delete on the old parent's `children`, slapd refuses the move. And the limit slapd
sets: the rights of a move out are a delete's, so 682's agent may delete a 681 learner's account
that has nothing below it (one with content: 66).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import ldap3
import pytest
import yaml
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult, LDAPNotAllowedOnNotLeafResult

from agent.actions.mis.transfer import MOVED_EVENT, TRANSFERRED_EVENT
from agent.actions.session import open_directory
from agent.core.dn import is_below
from agent.core.model import Reason
from agent.directory.national import national_directory
from tests.actions.mis.national_support import (
    Authority,
    add_content,
    authorities,
    entries_below,
    learner,
    package,
    school,
    with_mis_id,
)
from tests.servers import slapd
from tests.servers.base import ServerError

pytestmark = pytest.mark.slapd

NATIONAL_ACL = slapd.DEPLOY / "national-acl.ldif"
CODES = ("681", "682")
AGENTS = {code: f"cn=hwb-agent-{code},ou=services,{slapd.SUFFIX}" for code in CODES}
PASSWORDS = {code: f"agent-{code}-Secret" for code in CODES}
JOINED, LEFT, MOVED = date(2026, 9, 10), date(2026, 10, 1), date(2026, 10, 5)
ALED, CERI = learner(1), learner(2, "Ceri", "Morgan")
INSUFFICIENT = 50


def _ldapi_search(server: slapd.SlapdServer, base: str, *attributes: str) -> str:
    completed = subprocess.run(
        [
            "ldapsearch",
            "-Q",
            "-LLL",
            "-Y",
            "EXTERNAL",
            "-H",
            server.ldapi_url,
            "-o",
            "ldif-wrap=no",
            "-b",
            base,
            *attributes,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return completed.stdout


@pytest.fixture(scope="module")
def national_slapd() -> Iterator[slapd.SlapdServer]:
    """A slapd deployed as deploy/openldap/README.md says, with national-acl.ldif for agent-acl.ldif
    and limits.ldif, no read for everybody, and the two agents, leases and org registries."""
    if not slapd.slapd_binary():
        if os.environ.get("CI"):
            pytest.fail("slapd is required in CI (run .ci/install-servers.sh)", pytrace=False)
        pytest.skip("slapd is not installed (Debian: slapd ldap-utils)")
    server = slapd.start_slapd(deploy=False)
    try:
        for name, how in slapd.DEPLOY_STEPS:
            if name in ("agent-acl.ldif", "limits.ldif"):
                continue  # the national file holds both for the two agents
            text = (slapd.DEPLOY / name).read_text()
            server.ldapi_config(text) if how == "config" else server.add_ldif(text)
        server.ldapi_config(NATIONAL_ACL.read_text())
        rules = [
            line
            for line in _ldapi_search(server, "olcDatabase={1}mdb,cn=config", "olcAccess").splitlines()
            if line.startswith("olcAccess: ")
        ]
        catch_all = [
            found[1] for line in rules if (found := re.match(r"olcAccess: \{(\d+)\}to \* by \* read$", line))
        ]
        if len(catch_all) != 1:
            raise ServerError(f"expected Debian's one 'to * by * read' rule, found {rules}")
        server.ldapi_config(
            "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcAccess\n"
            f"olcAccess: {{{catch_all[0]}}}\n-\n"
        )
        server.add_ldif(f"dn: {server.base_dn}\nobjectClass: organizationalUnit\nou: people\n")
        for code in CODES:
            server.add_ldif(
                f"dn: {AGENTS[code]}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
                f"cn: hwb-agent-{code}\nuserPassword: {PASSWORDS[code]}\n\n"
                f"dn: cn=hwb-agent-{code}-lease,ou=services,{slapd.SUFFIX}\nobjectClass: hwbLease\n"
                f"cn: hwb-agent-{code}-lease\n\n"
                f"dn: cn=hwb-agent-{code}-orgs,ou=services,{slapd.SUFFIX}\nobjectClass: hwbOrgRegistry\n"
                f"cn: hwb-agent-{code}-orgs\n"
            )
        yield server
    finally:
        server.destroy()


@pytest.fixture
def wales(tmp_path, national_slapd, monkeypatch) -> Iterator[dict[str, Authority]]:
    """681 and 682 with an ou=mis each, each instance configured with its own agent's bind DN."""
    national_slapd.clear_base()
    try:
        found = authorities(tmp_path, national_slapd, monkeypatch, *CODES)
        for code, authority in found.items():
            national_slapd.add_ldif(
                f"dn: ou=mis,ou={code},{national_slapd.base_dn}\nobjectClass: organizationalUnit\nou: mis\n"
            )
            variable = f"HWB_TEST_AGENT_{code}_PASSWORD"
            monkeypatch.setenv(variable, PASSWORDS[code])
            data = yaml.safe_load(authority.config_path.read_text(encoding="utf-8"))
            data["directory"].update(bind_dn=AGENTS[code], password_env=variable)
            authority.config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
        yield found
    finally:
        national_slapd.clear_base()


def account(server, code: str, uid: str, mis_id: str, role: str = "learner", **extra: str) -> str:
    return server.add_user(
        uid,
        "pw-Secret-1",
        parent_dn=f"ou=mis,ou={code},{server.base_dn}",
        attributes={
            "hwbCategory": "mis",
            "hwbRole": role,
            "hwbMisId": mis_id,
            "hwbSchool": school(code),
            "hwbLocalAuthority": code,
            **extra,
        },
    )


@contextmanager
def agent(server, code: str) -> Iterator[ldap3.Connection]:
    """A connection bound as authority `code`'s agent that raises on every refusal."""
    connection = ldap3.Connection(
        server.url, AGENTS[code], PASSWORDS[code], auto_bind=True, raise_exceptions=True
    )
    try:
        yield connection
    finally:
        connection.unbind()


def snapshot(server, dn: str) -> dict[str, dict]:
    """Every entry of the subtree at `dn` with all its attributes, as the admin sees them."""
    with server.connect() as connection:
        connection.search(dn, "(objectClass=*)", ldap3.SUBTREE, attributes=["*", "+"])
        return {
            entry["dn"].lower(): dict(entry["raw_attributes"])
            for entry in connection.response
            if entry.get("type") == "searchResEntry"
        }


def modrdns_by_bind_dn(server, dn: str) -> list[tuple[str, int]]:
    """(bind DN of the connection, result) of every modify DN of `dn`, from slapd's stats log."""
    binds: dict[str, str] = {}
    moves: dict[tuple[str, str], None] = {}
    results: dict[tuple[str, str], int] = {}
    for line in server.log_path.read_text(errors="replace").splitlines():
        if found := re.search(r'conn=(\d+) op=\d+ BIND dn="([^"]*)"', line):
            binds[found[1]] = found[2].lower()
        elif (found := re.search(r'conn=(\d+) op=(\d+) MODRDN dn="([^"]*)"', line)) and found[
            3
        ].lower() == dn.lower():
            moves[(found[1], found[2])] = None
        elif found := re.search(r"conn=(\d+) op=(\d+) RESULT tag=\d+ err=(\d+)", line):
            results[(found[1], found[2])] = int(found[3])
    return [(binds.get(conn, ""), results.get((conn, op), -1)) for conn, op in moves]


def test_mis_3_682s_own_agent_takes_a_learner_who_left_681_in_with_its_content(
    wales, national_slapd, tmp_path
) -> None:
    cardiff, swansea = wales["681"], wales["682"]
    assert (cardiff.config.directory.bind_dn, swansea.config.directory.bind_dn) == (
        AGENTS["681"],
        AGENTS["682"],
    )
    # 681's agent, with its own subtree's rights only: creates, records the leaving date, disables.
    day1 = {ALED: school("681"), CERI: school("681")}
    assert not cardiff.import_feed(package(tmp_path / "681-day1", "681", day1), JOINED).errors
    [created] = [a for a in cardiff.accounts().values() if a.mis_id == ALED.mis_id]
    children = add_content(national_slapd, created.dn, "files", "mail")
    assert not cardiff.import_feed(package(tmp_path / "681-day2", "681", {CERI: school("681")}), LEFT).errors
    assert [(row.action, row.rule) for row in cardiff.sweep(LEFT).actions] == [("disable", "MIS-2")]
    assert cardiff.accounts()[created.uid].disabled_reason is Reason.LEFT

    report = swansea.import_feed(package(tmp_path / "682-day3", "682", {ALED: school("682")}), MOVED)

    assert report.errors == [] and report.plan.counts()["create"] == 0
    [done] = report.transfers
    assert done.source_dn == created.dn and is_below(done.target_dn, swansea.base_dn)
    assert [dn.lower() for dn in with_mis_id(national_slapd, ALED.mis_id)] == [done.target_dn.lower()]
    moved = swansea.accounts()[created.uid]
    assert moved.enabled and moved.leaving_date is None and moved.local_authority == "682"
    assert entries_below(national_slapd, done.target_dn) == {
        child.lower().replace(created.dn.lower(), done.target_dn.lower()) for child in children
    }
    assert entries_below(national_slapd, created.dn) == set()
    assert [
        r["event"] for r in swansea.audit_records() if r["event"] in (MOVED_EVENT, TRANSFERRED_EVENT)
    ] == [MOVED_EVENT, TRANSFERRED_EVENT]
    # The one modify DN of the account ran on a connection bound as 682's agent, and succeeded.
    assert modrdns_by_bind_dn(national_slapd, created.dn) == [(AGENTS["682"].lower(), 0)]


def test_681s_agent_takes_a_682_learner_in_the_same_way(wales, national_slapd) -> None:
    source = account(national_slapd, "682", "bmorgan", "Z682200119001")
    add_content(national_slapd, source, "files")
    with open_directory(wales["681"].config) as directory:
        national = national_directory(directory)
        assert national is not None
        [found] = national.find(["Z682200119001"])
        target = national.move_in(found, f"ou=mis,{directory.base_dn}")
    assert len(entries_below(national_slapd, target)) == 1 and entries_below(national_slapd, source) == set()
    assert modrdns_by_bind_dn(national_slapd, source) == [(AGENTS["681"].lower(), 0)]


def test_c_3_682s_agent_can_modify_add_or_delete_nothing_in_681s_subtree(wales, national_slapd) -> None:
    theirs = account(national_slapd, "681", "ajones", ALED.mis_id)
    [content] = add_content(national_slapd, theirs, "files")
    staff = account(national_slapd, "681", "sevans", "STF-0007", role="staff")
    mis = f"ou=mis,ou=681,{national_slapd.base_dn}"
    before = snapshot(national_slapd, f"ou=681,{national_slapd.base_dn}")
    refused = {
        "modify hwbSchool": lambda c: c.modify(
            theirs, {"hwbSchool": [(ldap3.MODIFY_REPLACE, [school("682")])]}
        ),
        "disable": lambda c: c.modify(
            theirs, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["000001010000Z"])]}
        ),
        "modify uid": lambda c: c.modify(theirs, {"uid": [(ldap3.MODIFY_ADD, ["ajones2"])]}),
        "modify the content": lambda c: c.modify(content, {"description": [(ldap3.MODIFY_ADD, ["x"])]}),
        "modify the OU": lambda c: c.modify(mis, {"description": [(ldap3.MODIFY_ADD, ["x"])]}),
        "delete the content": lambda c: c.delete(content),
        "delete a staff account": lambda c: c.delete(staff),
        "add an account": lambda c: c.add(f"uid=new,{mis}", ["inetOrgPerson"], {"cn": "n", "sn": "n"}),
        "add below an account": lambda c: c.add(f"ou=more,{theirs}", ["organizationalUnit"], {"ou": "more"}),
    }
    with agent(national_slapd, "682") as connection:
        for what, attempt in refused.items():
            with pytest.raises(LDAPInsufficientAccessRightsResult):
                attempt(connection)
                pytest.fail(f"682's agent could {what} in 681's subtree")
        with pytest.raises(LDAPNotAllowedOnNotLeafResult):  # a learner with content: never deleted
            connection.delete(theirs)
    assert snapshot(national_slapd, f"ou=681,{national_slapd.base_dn}") == before


def test_c_3_682s_agent_moves_nothing_but_a_681_learner_into_its_own_ou_mis(wales, national_slapd) -> None:
    base = national_slapd.base_dn
    theirs = account(national_slapd, "681", "ajones", ALED.mis_id)
    staff = account(national_slapd, "681", "sevans", "STF-0007", role="staff")
    mine = account(national_slapd, "682", "bmorgan", "Z682200119001")
    refused = {
        "move its own learner into 681": (mine, "uid=bmorgan", f"ou=mis,ou=681,{base}"),
        "move a 681 staff account in (MIS-4)": (staff, "uid=sevans", f"ou=mis,ou=682,{base}"),
        "move a 681 learner within 681": (theirs, "uid=ajones", f"ou=681,{base}"),
        "move a 681 learner out of the national base": (theirs, "uid=ajones", f"ou=services,{slapd.SUFFIX}"),
        "rename a 681 learner in place": (theirs, "uid=ajones2", None),
    }
    before = snapshot(national_slapd, base)
    with agent(national_slapd, "682") as connection:
        for what, (dn, rdn, parent) in refused.items():
            with pytest.raises(LDAPInsufficientAccessRightsResult):
                connection.modify_dn(dn, rdn, delete_old_dn=True, new_superior=parent)
                pytest.fail(f"682's agent could {what}")
    assert snapshot(national_slapd, base) == before
    # Nor may 681's agent push its own learner into 682.
    with agent(national_slapd, "681") as connection, pytest.raises(LDAPInsufficientAccessRightsResult):
        connection.modify_dn(theirs, "uid=ajones", delete_old_dn=True, new_superior=f"ou=mis,ou=682,{base}")
    assert snapshot(national_slapd, base) == before


def test_no_agent_reads_a_userpassword_anywhere_its_own_included(wales, national_slapd) -> None:
    dns = [account(national_slapd, code, f"pupil{code}", f"Z{code}200119009") for code in CODES]
    for code in CODES:
        with agent(national_slapd, code) as connection:
            connection.search(
                national_slapd.base_dn, "(objectClass=*)", ldap3.SUBTREE, attributes=["*", "userPassword"]
            )
            seen = {
                entry["dn"].lower(): entry["raw_attributes"]
                for entry in connection.response
                if entry.get("type") == "searchResEntry"
            }
            assert {dn.lower() for dn in dns} <= set(seen)  # both learners are visible ...
            assert all(
                not attributes.get("userPassword") for attributes in seen.values()
            )  # ... not a password
            connection.raise_exceptions = False
            for dn, password in [
                (dns[0], "pw-Secret-1"),
                (dns[1], "pw-Secret-1"),
                (AGENTS[code], PASSWORDS[code]),
            ]:
                assert connection.compare(dn, "userPassword", password) is False
                assert connection.result["result"] in (INSUFFICIENT, 32), (
                    connection.result
                )  # 32: not even seen
            # Its own password neither (Debian's "by self write" would let it: national-acl {8}).
            connection.modify(
                AGENTS[code], {"userPassword": [(ldap3.MODIFY_REPLACE, ["chosen-by-the-agent"])]}
            )
            assert connection.result["result"] == INSUFFICIENT
    for code in CODES:  # and still binds with it
        assert national_slapd.can_bind(AGENTS[code], PASSWORDS[code])


def test_the_national_read_is_the_attributes_the_agent_reads_of_an_account(wales, national_slapd) -> None:
    theirs = account(
        national_slapd, "681", "ajones", ALED.mis_id, description="681's note", telephoneNumber="1"
    )
    with agent(national_slapd, "682") as connection:
        connection.search(theirs, "(objectClass=*)", ldap3.BASE, attributes=["*", "+"])
        [entry] = connection.response
    names = {name.lower() for name in entry["raw_attributes"]}
    assert {
        "uid",
        "hwbmisid",
        "hwbcategory",
        "hwbrole",
        "hwbschool",
        "objectclass",
        "createtimestamp",
    } <= names
    assert not names & {"description", "telephonenumber", "userpassword", "modifiersname", "entryuuid"}
    with agent(
        national_slapd, "681"
    ) as connection:  # its own authority's agent reads everything but passwords
        connection.search(theirs, "(objectClass=*)", ldap3.BASE, attributes=["*"])
        assert {"description", "telephonenumber"} <= {
            name.lower() for name in connection.response[0]["raw_attributes"]
        }


def test_each_agent_keeps_its_own_lease_and_org_registry_only(wales, national_slapd) -> None:
    attribute = {"lease": "hwbLeaseHolder", "orgs": "hwbOrganisation"}
    for code, other in (("681", "682"), ("682", "681")):
        with agent(national_slapd, code) as connection:
            for kind, name in attribute.items():
                own = f"cn=hwb-agent-{code}-{kind},ou=services,{slapd.SUFFIX}"
                assert connection.modify(own, {name: [(ldap3.MODIFY_REPLACE, [f"held by {code}"])]})
                with pytest.raises(LDAPInsufficientAccessRightsResult):
                    connection.modify(
                        f"cn=hwb-agent-{other}-{kind},ou=services,{slapd.SUFFIX}",
                        {name: [(ldap3.MODIFY_REPLACE, [f"taken by {code}"])]},
                    )


def test_the_limit_slapd_sets_a_move_out_is_a_delete_so_a_leaf_681_learner_can_be_deleted(
    wales, national_slapd
) -> None:
    """slapd cannot grant "move without delete" (slapd.access(5): a modify DN needs write on `entry`
    and delete on the old parent's `children`; a delete needs delete on both). If this starts to
    fail, the grant got narrower: say so in national-acl.ldif and deploy/directories.md."""
    leaf = account(national_slapd, "681", "ajones", ALED.mis_id)
    with agent(national_slapd, "682") as connection:
        connection.delete(leaf)
    assert with_mis_id(national_slapd, ALED.mis_id) == []


def _file_rules() -> dict[int, str]:
    """national-acl.ldif's olcAccess values by index, unfolded (LDIF continuation lines)."""
    unfolded = re.sub(r"\n ", "", NATIONAL_ACL.read_text())
    return {int(found[1]): found[2] for found in re.finditer(r"^olcAccess: \{(\d+)\}(.*)$", unfolded, re.M)}


@contextmanager
def rule_replaced(server, index: int, text: str) -> Iterator[None]:
    """The database's olcAccess {index} replaced by `text` for a while, then the file's again."""

    def put(value: str) -> None:
        server.ldapi_config(
            "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcAccess\n"
            f"olcAccess: {{{index}}}\n-\nadd: olcAccess\nolcAccess: {{{index}}}{value}\n-\n"
        )

    put(text)
    try:
        yield
    finally:
        put(_file_rules()[index])


@pytest.mark.parametrize(
    ("index", "old", "new", "message"),
    [
        (4, '" write', '" =z', "no write access to old entry"),  # delete alone on `entry`
        (4, '" write', '" =a', "no write access to old entry"),  # add alone on `entry`
        (5, '" =z', '" none', "no write access to parent's children"),  # nothing on the old parent
    ],
    ids=["entry-delete-only", "entry-add-only", "no-children-delete"],
)
def test_each_move_grant_is_needed_no_less_will_do(wales, national_slapd, index, old, new, message) -> None:
    """What national-acl.ldif says of slapd.access(5): a move needs write (both add and delete) on
    `entry`, and delete on the old parent's `children`; with less, slapd refuses it (50)."""
    rule = _file_rules()[index]
    assert "ou=mis,ou=681" in rule and rule.count(old) == 1
    theirs = account(national_slapd, "681", "ajones", ALED.mis_id)
    with (
        rule_replaced(national_slapd, index, rule.replace(old, new)),
        agent(national_slapd, "682") as connection,
        pytest.raises(LDAPInsufficientAccessRightsResult, match=re.escape(message)),
    ):
        connection.modify_dn(
            theirs, "uid=ajones", delete_old_dn=True, new_superior=f"ou=mis,ou=682,{national_slapd.base_dn}"
        )
    assert with_mis_id(national_slapd, ALED.mis_id) == [theirs]
    with agent(national_slapd, "682") as connection:  # the file's rule again: the move goes through
        connection.modify_dn(
            theirs, "uid=ajones", delete_old_dn=True, new_superior=f"ou=mis,ou=682,{national_slapd.base_dn}"
        )
