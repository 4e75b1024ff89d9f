"""Issue 3, "Done when": the administrator's walk-through on the demo directory, end to end.

Time passes through the test clock of the command line (`admin_env.now`), the
same way for every command: no production code can set the agent's clock.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.actions.admin.conftest import BASE_DN


def test_governor_lifecycle_create_expire_find_show_activate(admin_env):
    env = admin_env
    # 1. Create a governor for 3 months (NM-1).
    code, out, err = env.run("create", "--type", "governor", "--given-name", "Gwen", "--surname", "Parry",
                             "--mail", "gwen.parry@governors.example", "--sponsor", "admin.cardiff",
                             "--duration", "3m")
    assert code == 0, err
    assert "created gwen.parry" in out and "expires on 2027-02-16 [NM-1]" in out

    # 2. Not yet in the 8-week list; seven weeks later it is (NM-8). The governor signs in meanwhile.
    assert "gwen.parry" not in env.run("expiring", "--sponsor", "admin.cardiff")[1]
    with env.directory() as directory:
        account = directory.find("uid", "gwen.parry")[0]
        directory.modify(account.dn, directory.mapper.lifecycle_operations(
            {"last_sign_in": env.instant(date(2027, 1, 20))}))
    env.now += timedelta(weeks=7)
    code, out, _ = env.run("expiring", "--sponsor", "admin.cardiff")
    assert "gwen.parry" in out and out.splitlines()[0].endswith("[NM-8]")

    # 3. The forecast shows the NM-3 disable the day after the expiry date; a sweep then applies it.
    forecast = env.run_json("sweep", "--dry-run", "--as-of", "2027-02-17")
    assert {"uid": "gwen.parry", "rule": "NM-3"}.items() <= next(
        row for row in forecast["actions"] if row["uid"] == "gwen.parry").items()
    env.now = env.instant(date(2027, 2, 17), 2)
    env.run_json("sweep", "--confirm-mass-change")
    assert not env.account("gwen.parry").enabled

    # 4. Find it among the inactive non-MIS accounts, show it, activate it with an extension (C-1).
    inactive = env.run_json("list", "--category", "non-mis", "--active", "N")
    assert "gwen.parry" in [row["uid"] for row in inactive]
    code, out, _ = env.run("show", "gwen.parry")
    assert "disabled (expired)" in out and "expiry passed: NM-5 needs an extension" in out
    code, _, err = env.run("activate", "gwen.parry", "--by", "admin.cardiff")
    assert code == 3 and "refused (NM-5)" in err
    code, out, err = env.run("activate", "gwen.parry", "--by", "admin.cardiff", "--duration", "3m")
    assert code == 0, err
    account = env.account("gwen.parry")
    assert account.enabled and account.expiry_date == date(2027, 5, 17)
    assert account.dn == f"uid=gwen.parry,ou=non-mis,{BASE_DN}"

    # Every step is in the audit trail with its rule and actor.
    steps = [(r["event"], r["rule"], r["actor"]) for r in env.audit() if r["uid"] == "gwen.parry"]
    assert steps == [("account_created", "NM-1", "admin.cardiff"),
                     ("account_disabled", "NM-3", "agent"),
                     ("operation_refused", "NM-5", "admin.cardiff"),
                     ("account_reactivated", "NM-5", "admin.cardiff")]


def test_service_desk_reactivates_a_staff_leaver_flagged_by_the_sweep(admin_env):
    env = admin_env
    report = env.run_json("sweep", "--confirm-mass-change")
    waiting = [row["uid"] for row in report["flags"] if row["rule"] == "MIS-4"]
    assert waiting
    uid = waiting[0]
    code, out, err = env.run("service-desk-reactivate", uid, "--by", "servicedesk.jane",
                             "--ticket", "HWB-104300")
    assert code == 0, err
    assert "[MIS-4]" in out
    again = env.run_json("sweep")
    assert uid not in [row["uid"] for row in again["flags"]]
    assert env.account(uid).enabled
