"""The transfer flow of issue 15 on the embedded directory (ldap3's mock), fast: two authorities'
configurations sharing one state file. The mock moves an entry without its children (LDAP-NOTES:
it keeps no tree), so content is proven on slapd and Samba (test_transfer_slapd/samba.py); here
the plan, the two audited steps, the flag, the guard and a re-import."""

from __future__ import annotations

import json
from datetime import date

import yaml

from agent.actions.audit import AuditTrail
from agent.actions.mis.apply import import_feed, with_feed_date
from agent.actions.mis.feed_reader import read_feed
from agent.actions.mis.transfer import MOVED_EVENT, TRANSFERRED_EVENT
from agent.actions.session import open_directory
from agent.core.model import Role
from agent.directory.embedded import STATE_VERSION
from agent.settings import config as config_module
from tests.actions.mis.national_support import learner, package, school, staff
from tests.builders import learner as account_of
from tests.builders import left, noon, write_config
from tests.directory.populate import entry_for

NATIONAL = "ou=people,dc=test,dc=example"
MOVED = date(2026, 10, 5)
ALED, SIAN = learner(1), staff(7)


def two_authorities(tmp_path):
    """Configurations of 681 and 682 on one embedded state file, 681 holding Aled (a learner who
    left and was disabled) and Siân (staff, the same)."""
    state = tmp_path / "wales.json"
    configs = {}
    for code in ("681", "682"):
        folder = tmp_path / code
        folder.mkdir()
        directory = {"base_dn": f"ou={code},{NATIONAL}", "state_file": str(state),
                     "national_base_dn": NATIONAL}
        path = write_config(folder, {"directory": directory,
                                     "local_authority": {"code": code, "name": f"Authority {code}"}})
        configs[code] = path
    cardiff = config_module.load(configs["681"])
    people = [
        account_of(uid="ajones", dn=f"uid=ajones,ou=mis,ou=681,{NATIONAL}", mis_id=ALED.mis_id,
                   school=school("681"), local_authority="681", leaving_date=date(2026, 10, 1),
                   **left(date(2026, 10, 1))),
        account_of(uid="sevans", dn=f"uid=sevans,ou=mis,ou=681,{NATIONAL}", mis_id=SIAN.mis_id,
                   role=Role.STAFF, school=school("681"), local_authority="681",
                   leaving_date=date(2026, 10, 1),
                   **left(date(2026, 10, 1))),
    ]
    ous = [NATIONAL, f"ou=681,{NATIONAL}", f"ou=682,{NATIONAL}", f"ou=mis,ou=681,{NATIONAL}"]
    entries = [{"dn": dn, "attributes": {"objectClass": ["organizationalUnit"], "ou": [dn.split(",")[0][3:]]}}
               for dn in ous]
    for person in people:
        dn, attributes = entry_for(cardiff, person)
        attributes["hwbLocalAuthority"] = ["681"]
        entries.append({"dn": dn, "attributes": attributes})
    state.write_text(json.dumps({"version": STATE_VERSION, "entries": entries}), encoding="utf-8")
    return configs


def run_import(path, feed_path, day, **options):
    config = config_module.load(path)
    feed = with_feed_date(read_feed(feed_path, config.mis, config.policy.timezone), day)
    audit = AuditTrail(config.logging.audit_file)
    try:
        with open_directory(config) as directory:
            return import_feed(directory, config, audit, feed, noon(day), **options)
    finally:
        audit.close()


def test_a_learner_of_681_is_transferred_into_682_and_staff_flagged_on_the_embedded_directory(
        tmp_path) -> None:
    configs = two_authorities(tmp_path)
    feed = package(tmp_path / "feed", "682", {ALED: school("682"), SIAN: school("682")})

    report = run_import(configs["682"], feed, MOVED, confirm=True)

    assert report.errors == []
    [done] = report.transfers
    assert done.source_dn == f"uid=ajones,ou=mis,ou=681,{NATIONAL}"
    assert done.target_dn == f"uid=ajones,ou=mis,ou=682,{NATIONAL}" and done.enabled
    [flag] = report.flags
    assert flag.rule == "MIS-4" and flag.dn == f"uid=sevans,ou=mis,ou=681,{NATIONAL}"
    config = config_module.load(configs["682"])
    with open_directory(config) as directory:
        accounts = {a.uid: a for a in directory.accounts()}
    assert set(accounts) == {"ajones"}  # Siân stays in 681; nobody created
    aled = accounts["ajones"]
    assert aled.enabled and aled.school == school("682") and aled.local_authority == "682"
    assert aled.leaving_date is None and aled.transferred_from == done.source_dn
    lines = [json.loads(line) for line in config.logging.audit_file.read_text().splitlines()]
    events = [line["event"] for line in lines if line.get("phase") == "outcome"]
    assert events == [MOVED_EVENT, TRANSFERRED_EVENT]

    again = run_import(configs["682"], feed, MOVED, confirm=True)
    assert again.transfers == [] and again.applied == [] and again.operations["writes"] == 0


def test_c_8_a_transfer_counts_like_a_create_and_is_held_until_confirmed(tmp_path) -> None:
    configs = two_authorities(tmp_path)
    data = yaml.safe_load(configs["682"].read_text())
    data["mis"] = {"guard": {"max_creates": 0}}
    configs["682"].write_text(yaml.safe_dump(data))
    feed = package(tmp_path / "feed", "682", {ALED: school("682")})

    held = run_import(configs["682"], feed, MOVED)

    assert held.held and held.transfers == [] and [a.kind.value for a in held.plan.held] == ["transfer"]
    assert "transfer" in held.guard_message()
    done = run_import(configs["682"], feed, MOVED, confirm=True)
    assert len(done.transfers) == 1
