"""deploy/active-directory/README.md, "One national directory: moving accounts in from another
authority" (issue 15, C-3), run as written on a Samba AD DC with the hwb schema (tests/servers/samba.py):
authorities 681 and 682 as two OUs under the national OU=people, and 682's own service account
made and delegated by the guide's ```sh national block (its ```sh national-settings names are this
DC's), distinct from the fixture's hwb-agent.

Proven with 682's account: its own import takes a learner who left 681 (MIS-2, disabled) in, with
the child objects (MIS-3), enabled again, in its own OU; it cannot modify a property of, reset the
password of, create, tree-delete or move anything in, into or within 681's OU (insufficientAccess-
Rights, 50; a plain delete of a user with children 66). Each of the three ACEs of the move is
needed: an account with the other two only is refused the move (50). And the limit AD sets: the
rights of a move are a delete's and a rename's, so a 681 user with nothing below it can be deleted
or renamed in place.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import ldap3
import pytest
import yaml
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult, LDAPNotAllowedOnNotLeafResult

from agent.actions.mis.transfer import MOVED_EVENT, TRANSFERRED_EVENT
from agent.core.dn import is_below
from tests.actions.mis.national_support import (
    Authority,
    add_content,
    entries_below,
    learner,
    package,
    school,
    with_mis_id,
)
from tests.builders import write_config
from tests.deploy.guide import REPO, SETTING, blocks
from tests.servers import samba

pytestmark = pytest.mark.samba

GUIDE = REPO / "deploy" / "active-directory" / "README.md"
LEFT, MOVED = date(2026, 10, 1), date(2026, 10, 5)
ALED = learner(1)
PASSWORD = "Passw0rd!mover"


def _block(kind: str) -> str:
    [block] = [block for block in blocks(GUIDE) if block.words == ["sh", kind]]
    return block.body


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Iterator[tuple[samba.SambaServer, dict[str, str]]]:
    """A DC with OU=681 and OU=682 (an OU=mis each) under the national OU, and the guide's block run."""
    if not samba.samba_binary() or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("Samba AD DC and root are required in CI (run .ci/install-servers.sh)", pytrace=False)
        pytest.skip("needs Samba AD DC (samba-ad-dc samba-ad-provision ldb-tools) and root")
    server = samba.start_samba()
    try:
        with server.connect() as connection:
            for code in ("681", "682"):
                connection.add(f"OU={code},{server.base_dn}", ["organizationalUnit"], {"ou": code})
                connection.add(f"OU=mis,OU={code},{server.base_dn}", ["organizationalUnit"], {"ou": "mis"})
        folder = tmp_path_factory.mktemp("national-ad")
        values = {
            "DOMAIN_DN": server.suffix,
            "SAM_LDB": str(server.sam_ldb),
            "NATIONAL_OU": server.base_dn,
            "RECEIVING_OU": f"OU=682,{server.base_dn}",
            "SENDING_OU": f"OU=mis,OU=681,{server.base_dn}",
            "RECEIVING_AGENT": "hwb-agent-682",
            "RECEIVING_PASSWORD_FILE": str(folder / "credentials" / "swansea.bind-password"),
        }
        names = [
            found["name"]
            for line in _block("national-settings").splitlines()
            if (found := SETTING.match(line))
        ]
        assert sorted(names) == sorted(set(values) - {"DOMAIN_DN", "SAM_LDB"}), names
        completed = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + _block("national")],
            cwd=REPO,
            env={**os.environ, **values},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert completed.stdout.split()[-1] == "4", (
            completed.stdout
        )  # dsacl get: the move's three ACEs and the inherited read
        yield server, values
    finally:
        server.destroy()


@pytest.fixture
def swansea(national, tmp_path, monkeypatch) -> Iterator[Authority]:
    """682's instance, bound as the account the guide made; every user the test adds removed after."""
    server, values = national
    monkeypatch.setenv("HWB_TEST_AGENT_682_PASSWORD", Path(values["RECEIVING_PASSWORD_FILE"]).read_text())
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    directory = data["directory"]
    directory.pop("state_file")
    directory.pop("password")
    directory.update(
        url=server.url,
        bind_dn=agent_dn(server),
        password_env="HWB_TEST_AGENT_682_PASSWORD",
        base_dn=values["RECEIVING_OU"],
        national_base_dn=values["NATIONAL_OU"],
        flavour=server.flavour,
        page_size=25,
    )
    data["local_authority"] = {"code": "682", "name": "Authority 682"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        yield Authority("682", path, server)
    finally:
        with server.connect() as connection:
            for code in ("681", "682"):
                connection.search(
                    f"OU=mis,OU={code},{server.base_dn}", "(objectClass=*)", ldap3.LEVEL, attributes=[]
                )
                for entry in [e["dn"] for e in connection.response if e.get("type") == "searchResEntry"]:
                    server.purge(connection, entry)


def agent_dn(server) -> str:
    return f"CN=hwb-agent-682,OU=services,{server.suffix}"


@contextmanager
def agent(national) -> Iterator[ldap3.Connection]:
    """A connection bound as 682's account that raises on every refusal."""
    server, values = national
    connection = ldap3.Connection(
        server.url,
        agent_dn(server),
        Path(values["RECEIVING_PASSWORD_FILE"]).read_text(),
        auto_bind=True,
        raise_exceptions=True,
    )
    try:
        yield connection
    finally:
        connection.unbind()


def in_681(server, uid: str, mis_id: str, *, disabled: bool = False) -> str:
    dn = server.add_user(
        uid,
        PASSWORD,
        parent_dn=f"OU=mis,OU=681,{server.base_dn}",
        attributes={
            "hwbCategory": "mis",
            "hwbRole": "learner",
            "hwbMisId": mis_id,
            "hwbSchool": school("681"),
            "hwbLocalAuthority": "681",
            "hwbLeavingDate": server.time_value("20261001000000Z"),
        },
    )
    if disabled:  # as 681's sweep leaves a leaver (MIS-2)
        with server.connect() as connection:
            connection.modify(
                dn,
                {
                    "userAccountControl": [(ldap3.MODIFY_REPLACE, [str(samba.USER_DISABLED)])],
                    "hwbDisabledReason": [(ldap3.MODIFY_REPLACE, ["left"])],
                    "hwbDisabledAt": [(ldap3.MODIFY_REPLACE, ["20261001110000.0Z"])],
                },
            )
    return dn


def snapshot(server, dn: str) -> dict[str, dict]:
    """Every object of the subtree at `dn` with its attributes and uSNChanged, as the admin sees them."""
    with server.connect() as connection:
        connection.search(dn, "(objectClass=*)", ldap3.SUBTREE, attributes=["*", "uSNChanged"])
        return {
            entry["dn"].lower(): dict(entry["raw_attributes"])
            for entry in connection.response
            if entry.get("type") == "searchResEntry"
        }


def test_mis_3_682s_own_account_takes_a_681_learner_in_with_its_children(national, swansea) -> None:
    server, _ = national
    old_dn = in_681(server, "ajones", ALED.mis_id, disabled=True)
    children = add_content(server, old_dn, "files")
    assert not server.can_bind(old_dn, PASSWORD)

    report = swansea.import_feed(
        package(swansea.config_path.parent / "682-feed", "682", {ALED: school("682")}), MOVED
    )

    assert swansea.config.directory.bind_dn == agent_dn(server)
    assert report.errors == [] and report.plan.counts()["create"] == 0
    [done] = report.transfers
    assert done.source_dn.lower() == old_dn.lower() and is_below(done.target_dn, swansea.base_dn)
    [dn] = with_mis_id(server, ALED.mis_id)
    assert dn.lower() == done.target_dn.lower()
    assert len(entries_below(server, dn)) == len(children) and entries_below(server, old_dn) == set()
    account = swansea.accounts()["ajones"]
    assert account.enabled and account.leaving_date is None and account.local_authority == "682"
    assert server.can_bind(dn, PASSWORD)  # enabled again (MIS-3)
    assert [
        r["event"] for r in swansea.audit_records() if r["event"] in (MOVED_EVENT, TRANSFERRED_EVENT)
    ] == [MOVED_EVENT, TRANSFERRED_EVENT]


def test_c_3_682s_account_can_write_nothing_in_681s_ou_but_the_move_out(national, swansea) -> None:
    server, _ = national
    mis = f"OU=mis,OU=681,{server.base_dn}"
    theirs = in_681(server, "ajones", ALED.mis_id)
    add_content(server, theirs, "files")
    content = f"CN=files,{theirs}"  # the child_ldif of the Samba fixture: a classStore
    mine = server.add_user("bmorgan", PASSWORD, parent_dn=f"OU=mis,{swansea.base_dn}")
    before = snapshot(server, f"OU=681,{server.base_dn}")
    refused = {
        "modify hwbSchool": lambda c: c.modify(
            theirs, {"hwbSchool": [(ldap3.MODIFY_REPLACE, [school("682")])]}
        ),
        "disable": lambda c: c.modify(
            theirs, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(samba.USER_DISABLED)])]}
        ),
        "modify description": lambda c: c.modify(theirs, {"description": [(ldap3.MODIFY_REPLACE, ["x"])]}),
        "modify the OU": lambda c: c.modify(mis, {"description": [(ldap3.MODIFY_REPLACE, ["x"])]}),
        "reset the password": lambda c: c.extend.microsoft.modify_password(theirs, "An0ther!password"),
        "tree-delete a learner with content": lambda c: c.delete(
            theirs, controls=[(samba.TREE_DELETE, True, None)]
        ),
        "delete the content": lambda c: c.delete(content),
        "create a user": lambda c: c.add(f"CN=new,{mis}", ["user"], {"sAMAccountName": "new681"}),
        "create below a user": lambda c: c.add(f"CN=more,{theirs}", ["classStore"]),
        "move its own user into 681": lambda c: c.modify_dn(mine, "CN=bmorgan", new_superior=mis),
        "move a 681 learner within 681": lambda c: c.modify_dn(
            theirs, "CN=ajones", new_superior=f"OU=681,{server.base_dn}"
        ),
        "move a 681 learner out of the national OU": lambda c: c.modify_dn(
            theirs, "CN=ajones", new_superior=f"CN=Users,{server.suffix}"
        ),
    }
    with agent(national) as connection:
        for what, attempt in refused.items():
            with pytest.raises(LDAPInsufficientAccessRightsResult):
                attempt(connection)
                pytest.fail(f"682's account could {what} in 681's OU")
        with pytest.raises(LDAPNotAllowedOnNotLeafResult):  # a learner with content: never deleted
            connection.delete(theirs)
    assert snapshot(server, f"OU=681,{server.base_dn}") == before
    assert mine.lower() in entries_below(server, f"OU=mis,{swansea.base_dn}")


def test_the_limit_ad_sets_a_move_is_a_delete_and_a_rename_so_a_leaf_681_user_can_be_both(
    national, swansea
) -> None:
    """AD cannot grant "move without delete": the move's delete right deletes a user with nothing
    below it, and its write property on name and cn renames one in place. If this starts to fail,
    the grant got narrower: say so in the README's section and deploy/directories.md."""
    server, _ = national
    renamed = in_681(server, "ajones", ALED.mis_id)
    leaf = in_681(server, "cevans", "Z681200119003")
    with agent(national) as connection:
        connection.modify_dn(renamed, "CN=ajones-renamed")
        connection.delete(leaf)
    assert [re.sub(r",.*", "", dn) for dn in with_mis_id(server, ALED.mis_id)] == ["CN=ajones-renamed"]
    assert with_mis_id(server, "Z681200119003") == []


# Under Samba's own Python, on the running DC's sam.ldb (as samba-tool does): one account per
# variant, with the guide's ACEs for 682 but one of the move's three left out.
PARTIAL_GRANTS = r"""
import sys
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils
import ldb

smb_conf, national, receiving, sending, password, *variants = sys.argv[1:]
lp = LoadParm()
lp.load(smb_conf)
samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
utils = SDUtils(samdb)
user = "bf967aba-0de6-11d0-a285-00aa003049e2"
move = {"DC": "(OA;;DC;%s;;{sid})" % user,
        "name": "(OA;CIIO;WP;bf967a0e-0de6-11d0-a285-00aa003049e2;%s;{sid})" % user,
        "cn": "(OA;CIIO;WP;bf96793f-0de6-11d0-a285-00aa003049e2;%s;{sid})" % user}
for variant in variants:
    name = "hwb-no-" + variant
    samdb.newuser(name, password, userou="OU=services", useusernameascn=True)
    found = samdb.search(base="CN=%s,OU=services,%s" % (name, samdb.domain_dn()), scope=ldb.SCOPE_BASE,
                         attrs=["objectSid"])
    sid = samdb.schema_format_value("objectSid", found[0]["objectSid"][0]).decode()
    utils.dacl_add_ace(national, "(A;CI;RPLCLORC;;;%s)" % sid)
    utils.dacl_add_ace(receiving, "(OA;CI;CCDC;%s;;%s)" % (user, sid))
    for kind, ace in move.items():
        if kind != variant:
            utils.dacl_add_ace(sending, ace.format(sid=sid))
"""
VARIANTS = {"DC": "access_denied renaming", "name": "has no wp on name", "cn": "has no wp on cn"}


@pytest.fixture(scope="module")
def partial_grants(national) -> dict[str, str]:
    """variant -> DN of an account that has all the move's ACEs but that one."""
    server, values = national
    completed = subprocess.run(
        [
            samba.SYSTEM_PYTHON,
            "-c",
            PARTIAL_GRANTS,
            str(server.smb_conf),
            values["NATIONAL_OU"],
            values["RECEIVING_OU"],
            values["SENDING_OU"],
            PASSWORD,
            *VARIANTS,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return {variant: f"CN=hwb-no-{variant},OU=services,{server.suffix}" for variant in VARIANTS}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_of_the_moves_three_aces_is_needed(national, swansea, partial_grants, variant) -> None:
    """What the README says of Samba: a move needs delete (DC on the OU) and write property on
    name and on cn of the user, though the RDN is kept; without any one of them it is refused (50)."""
    server, values = national
    theirs = in_681(server, "ajones", ALED.mis_id)
    connection = ldap3.Connection(
        server.url, partial_grants[variant], PASSWORD, auto_bind=True, raise_exceptions=True
    )
    try:
        with pytest.raises(LDAPInsufficientAccessRightsResult) as refused:
            connection.modify_dn(theirs, "CN=ajones", new_superior=f"OU=mis,{values['RECEIVING_OU']}")
    finally:
        connection.unbind()
    assert VARIANTS[variant] in str(refused.value), refused.value
    assert [dn.lower() for dn in with_mis_id(server, ALED.mis_id)] == [theirs.lower()]
