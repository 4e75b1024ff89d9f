"""Delta packages that omit orgs.csv or list only the orgs that changed (issue 11, item 5): the
org registry in the directory remembers what earlier packages said, on the mock and on slapd."""

from __future__ import annotations

import json

import ldap3
import pytest
import yaml

from agent.cli import main
from agent.core.mis.org_registry import KnownOrg, decode, encode, merged
from agent.core.mis.upn import make_upn
from tests.actions.mis.apply_targets import DAY1, DAY2, Target, at
from tests.actions.mis.support import ENROLLMENTS_HEADER, SAMPLES, USERS_HEADER

REGISTRY = "cn=hwb-agent-orgs,ou=services,dc=example,dc=org"
MODIFIED = "2026-11-28T17:45:00.000Z"


def manifest(orgs: str, users: str = "delta", enrollments: str = "absent") -> str:
    return ("propertyName,value\noneroster.version,1.1\n"
            f"file.orgs,{orgs}\nfile.users,{users}\nfile.enrollments,{enrollments}\n")


def learner(source_id: str, org: str, serial: int, given: str = "Nia", status: str = "active") -> str:
    upn = make_upn(f"6812001260{serial:02d}")
    return (f"{source_id},{status},{MODIFIED},true,{org},student,{source_id},,{given},Evans,,{upn},,,,,05,\n")


@pytest.fixture
def registry_target(target: Target) -> Target:
    """The import target with mis.org_registry_dn set, and an empty registry on slapd (the
    deployment guide's service-account.ldif creates the entry; the server is shared)."""
    data = yaml.safe_load(target.config_path.read_text(encoding="utf-8"))
    data.setdefault("mis", {})["org_registry_dn"] = REGISTRY
    target.config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    if target.server is not None:
        with target.server.connect() as connection:
            connection.modify(REGISTRY, {"hwbOrganisation": [(ldap3.MODIFY_REPLACE, [])]})
    return target


def run(target: Target, capsys, day, *arguments: str) -> tuple[int, dict | str, str]:
    code = main(["--config", str(target.config_path), "import-mis", *arguments], clock=lambda: at(day))
    captured = capsys.readouterr()
    out: dict | str = json.loads(captured.out) if "--json" in arguments and captured.out else captured.out
    return code, out, captured.err


def package(tmp_path, name: str, *, orgs_mode: str, orgs: str | None, users: str,
            enrollments: str | None = None):
    folder = tmp_path / name
    folder.mkdir()
    enrollments_mode = "delta" if enrollments else "absent"
    (folder / "manifest.csv").write_text(manifest(orgs_mode, enrollments=enrollments_mode))
    if orgs is not None:
        (folder / "orgs.csv").write_text(orgs)
    (folder / "users.csv").write_text(USERS_HEADER + users)
    if enrollments is not None:
        (folder / "enrollments.csv").write_text(ENROLLMENTS_HEADER + enrollments)
    return folder


def stored(target: Target) -> dict[str, KnownOrg]:
    from agent.directory.org_registry import read_registry

    with target.connect() as directory:
        return read_registry(directory, REGISTRY).orgs


def test_a_delta_without_orgs_resolves_organisations_of_earlier_packages(registry_target, capsys, tmp_path):
    target = registry_target
    code, report, _ = run(target, capsys, DAY1, str(SAMPLES / "day1"), "--json")
    assert code == 0
    assert report["org_registry"]["total"] == 4 and len(report["org_registry"]["added"]) == 4
    radnor = KnownOrg("org-radnor", "school", "6812150", "Radnor Primary School")
    assert stored(target)["org-radnor"] == radnor
    audit = [line for line in target.audit_records() if line["event"] == "org_registry_updated"]
    assert len(audit) == 1 and audit[0]["rule"] == "MIS-1" and audit[0]["actor"] == "mis-import"

    # The next day's delta omits orgs.csv: one learner at a school the registry knows, one at an
    # organisation nobody ever listed.
    delta = package(tmp_path, "delta", orgs_mode="absent", orgs=None,
                    users=learner("stu-new1", "org-radnor", 1)
                    + learner("stu-new2", "org-nowhere", 2, "Ifan"))
    writes_before = target.server_writes()
    code, report, _ = run(target, capsys, DAY2, str(delta), "--json")
    assert code == 0
    created = [action for action in report["actions"] if action["action"] == "create"]
    assert [(action["uid"], action["schools"]) for action in created] == [("nevans", ["6812150"])]
    (error,) = report["row_errors"]
    assert (error["file"], error["row"], error["kind"]) == ("users.csv", 3, "unknown-org")
    assert "'org-nowhere'" in error["reason"] and "no earlier package listed" in error["reason"]
    assert report["org_registry"] is None  # nothing new to remember: not even written
    accounts = target.accounts()
    assert accounts["nevans"].school == "6812150" and "ievans" not in accounts
    if writes_before is not None:
        assert target.server_writes() == writes_before + 1  # the one add


def test_a_delta_orgs_file_lists_only_what_changed_and_withdraws_what_is_deleted(
        registry_target, capsys, tmp_path):
    target = registry_target
    assert run(target, capsys, DAY1, str(SAMPLES / "day1"))[0] == 0
    orgs = ("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
            f"org-new,active,{MODIFIED},Ysgol Newydd,school,6812999,org-la-681\n"
            f"org-radnor,tobedeleted,{MODIFIED},Radnor Primary School,school,6812150,org-la-681\n")
    users = (learner("stu-a", "org-new", 3, "Alaw")            # the new school, listed now
             + learner("stu-b", "org-glanceubal", 4, "Bedwyr")  # unchanged, so not listed: remembered
             + learner("stu-c", "org-radnor", 5, "Cai"))        # withdrawn by this very delta
    code, report, _ = run(target, capsys, DAY2, str(package(tmp_path, "d", orgs_mode="delta", orgs=orgs,
                                                            users=users)), "--json")
    assert code == 0
    schools = {action["uid"]: action["schools"] for action in report["actions"]
               if action["action"] == "create"}
    assert schools == {"aevans": ["6812999"], "bevans": ["6812001"]}
    (error,) = report["row_errors"]
    assert error["row"] == 4 and "'org-radnor'" in error["reason"]
    memory = report["org_registry"]
    assert memory["added"] == ["org-new"] and memory["removed"] == ["org-radnor"]
    assert set(stored(target)) == {"org-la-681", "org-glanceubal", "org-llanishen", "org-new"}


def test_without_a_registry_a_delta_without_orgs_is_refused_before_anything_is_opened(
        target, capsys, tmp_path):
    delta = package(tmp_path, "delta", orgs_mode="absent", orgs=None, users=learner("stu-1", "org-a", 6))
    code, out, err = run(target, capsys, DAY2, str(delta))
    assert code == 2 and out == ""
    assert "orgs.csv" in err and "set mis.org_registry_dn" in err and "nothing was written" in err
    assert not target.config.logging.audit_file.exists()


def test_a_bulk_users_file_always_needs_its_orgs(registry_target, capsys, tmp_path):
    folder = package(tmp_path, "bulk", orgs_mode="absent", orgs=None,
                     users=learner("stu-1", "org-radnor", 7).replace(f"active,{MODIFIED}", ","))
    (folder / "manifest.csv").write_text(manifest("absent", users="bulk"))
    code, _, err = run(registry_target, capsys, DAY2, str(folder))
    assert code == 2 and "a bulk users file needs its orgs.csv" in err


def test_a_dry_run_remembers_nothing(registry_target, capsys):
    code, report, _ = run(registry_target, capsys, DAY1, str(SAMPLES / "day1"), "--dry-run", "--json")
    assert code == 0 and report["org_registry"] is None
    assert stored(registry_target) == {}


# --- the pure part -------------------------------------------------------------------------------


def test_registry_values_round_trip_and_bad_ones_are_named():
    school = KnownOrg("org-1", "school", "6812001", "Ysgol Gymraeg Glan Ceubal")
    district = KnownOrg("org-la", "district", None, "Cardiff, \"Caerdydd\"")
    assert decode(encode(school)) == school and decode(encode(district)) == district
    assert encode(school) == encode(KnownOrg("org-1", "school", "6812001", "Ysgol Gymraeg Glan Ceubal"))
    for text, why in [("{", "not JSON"), ("[]", "not a JSON object"), ('{"id":"x"}', "non-empty text id"),
                      ('{"id":"x","type":"school"}', "needs its number")]:
        with pytest.raises(ValueError, match=why):
            decode(text)


def test_merging_keeps_what_a_package_does_not_mention():
    known = {"a": KnownOrg("a", "school", "1", "A"), "b": KnownOrg("b", "school", "2", "B")}
    after = merged(known, [KnownOrg("b", "school", "2", "B renamed"), KnownOrg("c", "district", None)], ["a"])
    assert after == {"b": KnownOrg("b", "school", "2", "B renamed"), "c": KnownOrg("c", "district", None)}
    assert known["a"].name == "A"  # not changed in place
