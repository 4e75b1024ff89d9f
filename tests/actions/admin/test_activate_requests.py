"""`activate` (NM-5), `service-desk-reactivate` (MIS-4) and activation requests (C-1) on the mock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from agent.actions import requests
from agent.actions.sweep import sweep
from agent.core.model import Reason
from tests.actions.admin.conftest import TODAY, mis, non_mis


def expired(**extra):
    return non_mis(expiry=TODAY - timedelta(days=10), disabled_reason=Reason.EXPIRED.value,
                   disabled_at=datetime(2026, 11, 7, 2, tzinfo=UTC), **extra)


def _disabled_at(env, day):
    return env.instant(day, 2)


# --- activate ----------------------------------------------------------------------------------


def test_nm5_activate_expired_without_extension_is_refused_and_changes_nothing(admin_env):
    admin_env.add("gov.old", "non-mis", non_mis(expiry=TODAY - timedelta(days=10),
                                                disabled_reason="expired",
                                                disabled_at=_disabled_at(admin_env, TODAY)), enabled=False)
    code, out, err = admin_env.run("activate", "gov.old", "--by", "admin.test")
    assert code == 3 and out == ""
    assert ("refused (NM-5): the expiry date 2026-11-06 of gov.old has passed: an expired account can only"
            " be reactivated together with an extension") in err
    assert not admin_env.account("gov.old").enabled
    refusal = admin_env.audit()[-1]
    assert (refusal["event"], refusal["rule"], refusal["actor"], refusal["operation"]) == (
        "operation_refused", "NM-5", "admin.test", "activate")


def test_nm5_activate_with_extension_enables_and_extends_in_one_modify(admin_env):
    admin_env.add("gov.old", "non-mis", non_mis(expiry=TODAY - timedelta(days=10),
                                                disabled_reason="expired",
                                                disabled_at=_disabled_at(admin_env, TODAY)), enabled=False)
    code, out, err = admin_env.run("activate", "gov.old", "--by", "Admin Test", "--duration", "1m")
    assert code == 0, err
    assert out.startswith("activated gov.old") and "extended by 1m to 2026-12-16 (NM-6)" in out
    account = admin_env.account("gov.old")
    assert account.enabled and account.disabled_reason is None and account.disabled_at is None
    assert account.expiry_date == date(2026, 12, 16) and account.duration.value == "1m"
    assert account.reactivated_at == admin_env.now and account.reactivated_by == "Admin Test"
    record = admin_env.audit()[-1]
    assert (record["event"], record["rule"], record["actor"]) == ("account_reactivated", "NM-5", "Admin Test")
    assert record["before"]["enabled"] is False and record["after"]["enabled"] is True
    assert record["before"]["expiry_date"] == "2026-11-06" and record["after"]["expiry_date"] == "2026-12-16"
    assert record["after"]["disabled_reason"] is None


def test_nm5_activate_keeps_the_expiry_and_restarts_the_inactivity_clock(admin_env):
    admin_env.add("gov.idle", "non-mis", non_mis(expiry=TODAY + timedelta(days=40),
                                                 disabled_reason="inactive",
                                                 disabled_at=_disabled_at(admin_env, TODAY)),
                  enabled=False, created=TODAY - timedelta(days=200))
    result = admin_env.run_json("activate", "gov.idle", "--by", "a")
    assert result["changed"] and result["rule"] == "NM-5"
    assert result["after"]["enabled"] is True and "expiry_date" not in result["after"]
    shown = admin_env.run_json("show", "gov.idle")
    assert shown["enabled"] and shown["expiry_date"] == (TODAY + timedelta(days=40)).isoformat()
    # The next transition is the expiry (NM-3), not inactivity: the 90 days start again today.
    assert shown["next"] == {"date": (TODAY + timedelta(days=41)).isoformat(), "action": "disable",
                             "rule": "NM-3"}


def test_nm5_activate_an_enabled_account_changes_nothing(admin_env):
    admin_env.add("gov.live", "non-mis", non_mis())
    code, out, _ = admin_env.run("activate", "gov.live", "--by", "a")
    assert code == 0 and out.startswith("unchanged gov.live: gov.live is already enabled")


def test_mis3_activate_an_mis_learner_is_refused_with_an_explanation(admin_env):
    admin_env.add("pupil.left", "learners", mis("learner", mis_id="A681200077777",
                                                 leaving_date=TODAY - timedelta(days=5),
                                                 disabled_reason="left"), enabled=False)
    code, _, err = admin_env.run("activate", "pupil.left", "--by", "a")
    assert code == 3
    assert "refused (MIS-3): pupil.left is an MIS learner account (disabled): learners are reactivated by" \
           " the MIS" in err


def test_mis4_activate_an_mis_staff_account_points_to_the_service_desk(admin_env):
    admin_env.add("teacher.left", "staff", mis("staff", mis_id="STF9", leaving_date=TODAY - timedelta(days=5),
                                                disabled_reason="left"), enabled=False)
    code, _, err = admin_env.run("activate", "teacher.left", "--by", "a")
    assert code == 3
    assert (f"hwb-agent --config {admin_env.path / 'config.yaml'} service-desk-reactivate teacher.left"
            " --by ID --ticket REF") in err


def test_nm2_activate_a_learners_non_mis_account_is_refused(admin_env):
    admin_env.add("pupil.now", "learners", mis("learner", mis_id="A681200066666", mail="pupil@x.example"))
    admin_env.add("gov.pupil", "non-mis", expired(mail="PUPIL@x.example"), enabled=False)
    code, _, err = admin_env.run("activate", "gov.pupil", "--by", "a", "--duration", "1m")
    assert code == 3 and "refused (NM-2)" in err and "learner account pupil.now" in err


def test_c2_activate_a_protected_account_is_refused(admin_env):
    code, _, err = admin_env.run("activate", "hwb-breakglass", "--by", "a", "--duration", "1m")
    assert code == 3 and "refused (C-2)" in err


# --- service desk ----------------------------------------------------------------------------------


def test_mis4_service_desk_reactivates_a_staff_leaver_and_mis2_leaves_it_enabled(admin_env):
    leaving = TODAY - timedelta(days=2)
    admin_env.add("teacher.gone", "staff", mis("staff", mis_id="STF10", leaving_date=leaving,
                                                disabled_reason="left",
                                                disabled_at=_disabled_at(admin_env, leaving)), enabled=False)
    code, out, err = admin_env.run("service-desk-reactivate", "teacher.gone", "--by", "desk.jane",
                                   "--ticket", "HWB-123456")
    assert code == 0, err
    assert "not disabled again for the leaving date 2026-11-14 (MIS-2)" in out and "[MIS-4]" in out
    account = admin_env.account("teacher.gone")
    assert account.enabled and account.reactivated_by == "desk.jane"
    assert account.reactivation_ticket == "HWB-123456" and account.reactivated_at == admin_env.now
    record = admin_env.audit()[-1]
    assert (record["rule"], record["actor"], record["ticket"]) == ("MIS-4", "desk.jane", "HWB-123456")
    # A sweep the next day does not disable it again for the same leaving date (MIS-2).
    with admin_env.directory() as directory, admin_env.audit_trail() as audit:
        report = sweep(directory, admin_env.config, audit, admin_env.now + timedelta(days=1))
    assert "teacher.gone" not in [row.uid for row in report.actions]
    assert admin_env.account("teacher.gone").enabled
    shown = admin_env.run_json("show", "teacher.gone")
    assert shown["why"]["rule"] == "MIS-2" and "not disabled again" in shown["why"]["detail"]
    assert shown["reactivation_ticket"] == "HWB-123456"


def test_mis4_service_desk_refuses_learners_and_non_mis_accounts(admin_env):
    admin_env.add("pupil.gone", "learners", mis("learner", mis_id="A681200055555",
                                                 leaving_date=TODAY - timedelta(days=5),
                                                 disabled_reason="left"), enabled=False)
    admin_env.add("gov.gone", "non-mis", expired(), enabled=False)
    code, _, err = admin_env.run("service-desk-reactivate", "pupil.gone", "--by", "d", "--ticket", "T")
    assert code == 3 and "refused (MIS-3)" in err
    code, _, err = admin_env.run("service-desk-reactivate", "gov.gone", "--by", "d", "--ticket", "T")
    assert code == 3 and "refused (MIS-4)" in err and "activate gov.gone --by ID" in err


def test_mis4_service_desk_needs_a_ticket(admin_env):
    code, _, err = admin_env.run("service-desk-reactivate", "hwb-breakglass", "--by", "d", "--ticket", " ")
    assert code == 2 and "--ticket must not be empty" in err


# --- C-1 activation requests ----------------------------------------------------------------------------


def _request(env, uid, *, by="portal:admin.test", duration=None):
    with env.directory() as directory:
        fields = {"activation_requested_at": env.now - timedelta(minutes=5), "activation_requested_by": by}
        if duration:
            fields["activation_duration"] = duration
        directory.modify(directory.find("uid", uid)[0].dn, directory.mapper.lifecycle_operations(fields))


def test_c1_demo_request_is_honoured_and_cleared_in_the_same_modify(admin_env):
    with admin_env.directory() as directory:
        [pending] = list(requests.pending_requests(directory))
    assert pending.activation_request.duration.value == "3m" and not pending.enabled
    code, out, err = admin_env.run("requests")
    assert code == 0, err
    assert "1 pending activation request: 1 activated" in out
    account = admin_env.account(pending.uid)
    assert account.enabled and account.activation_request is None
    assert account.expiry_date == date(2027, 2, 16) and account.reactivated_by == "portal:admin.cardiff"
    for attribute in ("hwbActivationRequestedAt", "hwbActivationRequestedBy", "hwbActivationDuration"):
        assert admin_env.raw(pending.uid, attribute) == []
    record = admin_env.audit()[-1]
    assert (record["event"], record["rule"], record["actor"]) == ("activation_request_honoured", "C-1",
                                                                   "portal:admin.cardiff")
    assert record["request"]["duration"] == "3m" and "[NM-5]" in record["detail"]
    # Nothing pending any more: the fast path is one search and no write.
    with admin_env.directory() as directory, admin_env.audit_trail() as audit:
        summary = requests.honour_activation_requests(directory, admin_env.config, audit, admin_env.now)
        assert summary.found == 0
        assert (directory.counts.searches, directory.counts.writes) == (1, 0)


def test_c1_refused_request_is_cleared_and_its_refusal_recorded(admin_env):
    admin_env.add("gov.ask", "non-mis", expired(), enabled=False)
    _request(admin_env, "gov.ask", by="portal:head.x")  # no duration: expired, so refused (NM-5)
    result = admin_env.run_json("requests")
    refused = [row for row in result["requests"] if row["uid"] == "gov.ask"]
    assert refused[0]["outcome"] == "refused" and refused[0]["rule"] == "NM-5"
    account = admin_env.account("gov.ask")
    assert not account.enabled and account.activation_request is None
    [refusal] = admin_env.raw("gov.ask", "hwbActivationRefusal")
    assert refusal.startswith("2026-11-16T12:00:00Z NM-5: the expiry date 2026-11-06 of gov.ask has passed")
    record = [r for r in admin_env.audit() if r["uid"] == "gov.ask"][-1]
    assert (record["event"], record["rule"], record["actor"]) == ("activation_request_refused", "NM-5",
                                                                   "portal:head.x")
    assert record["before"]["activation_request"]["requested_by"] == "portal:head.x"
    assert record["after"] == {"activation_request": None, "activation_refusal": refusal}
    # A later successful request clears the refusal too.
    _request(admin_env, "gov.ask", by="portal:head.x", duration="1m")
    admin_env.run("requests")
    assert admin_env.account("gov.ask").enabled
    assert admin_env.raw("gov.ask", "hwbActivationRefusal") == []


def test_c1_request_for_a_staff_account_is_refused_and_cleared(admin_env):
    admin_env.add("teacher.ask", "staff", mis("staff", mis_id="STF11", disabled_reason="left"), enabled=False)
    _request(admin_env, "teacher.ask")
    admin_env.run("requests")
    assert admin_env.account("teacher.ask").activation_request is None
    assert "MIS-4" in admin_env.raw("teacher.ask", "hwbActivationRefusal")[0]


def test_c1_request_with_a_bad_duration_is_reported_and_gets_no_write(admin_env):
    admin_env.add("gov.bad", "non-mis", expired(), enabled=False)
    _request(admin_env, "gov.bad", duration="2y")
    result = admin_env.run_json("requests")
    [row] = [row for row in result["requests"] if row["uid"] == "gov.bad"]
    assert row["outcome"] == "errors" and row["rule"] == "C-7"
    assert "hwbActivationDuration='2y'" in row["detail"] and "1m, 3m, 6m, eoy" in row["detail"]
    # C-7: left as it is (no refusal written, the request still pending), and nothing audited.
    assert admin_env.raw("gov.bad", "hwbActivationDuration") == ["2y"]
    assert admin_env.raw("gov.bad", "hwbActivationRefusal") == []
    assert not [record for record in admin_env.audit() if record["uid"] == "gov.bad"]


def test_c1_request_with_an_unreadable_time_is_reported_and_gets_no_write(admin_env):
    admin_env.add("gov.badtime", "non-mis", expired(), enabled=False)
    with admin_env.directory() as directory:
        dn = directory.find("uid", "gov.badtime")[0].dn
        directory.modify(dn, [("hwbActivationRequestedAt", "replace", ("yesterday",))])
    result = admin_env.run_json("requests")
    [row] = [row for row in result["requests"] if row["uid"] == "gov.badtime"]
    assert row["outcome"] == "errors" and "hwbActivationRequestedAt='yesterday'" in row["detail"]
    assert admin_env.raw("gov.badtime", "hwbActivationRequestedAt") == ["yesterday"]
    assert admin_env.raw("gov.badtime", "hwbActivationRefusal") == []


def test_c1_sweep_honours_pending_requests_before_planning(admin_env):
    admin_env.add("gov.sweep", "non-mis", expired(), enabled=False)
    _request(admin_env, "gov.sweep", duration="6m")
    dry = admin_env.run_json("sweep", "--dry-run")
    assert {row["uid"]: row["outcome"] for row in dry["requests"]}["gov.sweep"] == "activated"
    assert not admin_env.account("gov.sweep").enabled  # a dry run changes nothing
    report = admin_env.run_json("sweep")
    assert {row["uid"]: row["outcome"] for row in report["requests"]}["gov.sweep"] == "activated"
    account = admin_env.account("gov.sweep")
    assert account.enabled and account.activation_request is None
    assert account.expiry_date == date(2027, 5, 16)
    again = admin_env.run_json("sweep")
    assert again["requests"] == [] and again["operations"]["writes"] == 0  # C-5


def test_c1_cli_activate_also_clears_a_pending_request(admin_env):
    admin_env.add("gov.both", "non-mis", expired(), enabled=False)
    _request(admin_env, "gov.both")
    assert admin_env.run("activate", "gov.both", "--by", "a", "--duration", "1m")[0] == 0
    assert admin_env.account("gov.both").activation_request is None


def test_c2_request_on_a_protected_account_is_left_untouched(admin_env):
    _request(admin_env, "hwb-breakglass")
    result = admin_env.run_json("requests")
    [row] = [row for row in result["requests"] if row["uid"] == "hwb-breakglass"]
    assert (row["outcome"], row["rule"]) == ("skipped", "C-2")
    assert admin_env.account("hwb-breakglass").activation_request is not None
    assert not [r for r in admin_env.audit() if r["uid"] == "hwb-breakglass"]


def test_nm6_activate_an_enabled_account_with_a_duration_only_extends_it(admin_env):
    admin_env.add("gov.on", "non-mis", non_mis(expiry=TODAY + timedelta(days=5)))
    _request(admin_env, "gov.on")
    code, out, err = admin_env.run("activate", "gov.on", "--by", "a", "--duration", "1m")
    assert code == 0, err
    assert out.startswith("updated gov.on") and "already enabled; extended by 1m to 2026-12-16" in out
    account = admin_env.account("gov.on")
    assert account.expiry_date == date(2026, 12, 16) and account.activation_request is None
    assert account.reactivated_at is None  # not a reactivation: the inactivity clock is unchanged
    assert admin_env.audit()[-1]["event"] == "account_extended"


def test_c1_request_activation_is_audited_then_answered_by_requests(admin_env):
    admin_env.add("gov.old", "non-mis", non_mis(expiry=TODAY - timedelta(days=10),
                                                disabled_reason="expired",
                                                disabled_at=_disabled_at(admin_env, TODAY)), enabled=False)
    code, out, err = admin_env.run("request-activation", "gov.old", "--by", "portal:admin.test",
                                   "--duration", "3m")
    assert code == 0, err
    assert "activation requested by portal:admin.test with a 3m extension" in out
    record = admin_env.audit()[-1]
    assert (record["event"], record["rule"], record["actor"], record["uid"]) == (
        "activation_requested", "C-1", "portal:admin.test", "gov.old")
    assert record["before"] == {"activation_request": None}
    assert record["after"]["activation_request"]["duration"] == "3m"
    assert admin_env.account("gov.old").activation_request is not None
    code, out, err = admin_env.run("requests")
    assert code == 0, err
    assert admin_env.audit()[-1]["event"] == "activation_request_honoured"
    assert admin_env.account("gov.old").enabled


def test_c1_a_refused_request_is_visible_in_show_requests_and_their_json(admin_env):
    admin_env.add("gov.seen", "non-mis", expired(), enabled=False)
    _request(admin_env, "gov.seen", by="portal:head.y")  # no duration: refused (NM-5)
    assert admin_env.run("requests")[0] == 0
    assert admin_env.account("gov.seen").activation_refusal.startswith("2026-11-16T12:00:00Z NM-5: ")
    code, out, _ = admin_env.run("show", "gov.seen")
    assert code == 0
    assert ("  request refused:     activation refused at 2026-11-16T12:00:00Z: the expiry date 2026-11-06"
            " of gov.seen has passed") in out and "[NM-5]" in out
    shown = admin_env.run_json("show", "gov.seen")["activation_refusal"]
    assert shown["refused_at"] == "2026-11-16T12:00:00Z" and shown["rule"] == "NM-5"
    assert shown["reason"].startswith("the expiry date 2026-11-06 of gov.seen has passed")
    # `requests` lists the refused requests that no new request has replaced, text and JSON.
    admin_env.now += timedelta(hours=1)
    code, out, _ = admin_env.run("requests")
    assert "0 pending activation requests" in out
    assert "1 refused activation request (no new request since" in out
    assert "2026-11-16T12:00:00Z" in out and "gov.seen" in out
    listed = admin_env.run_json("requests")["refused"]
    assert [(row["uid"], row["rule"], row["refused_at"]) for row in listed] == [
        ("gov.seen", "NM-5", "2026-11-16T12:00:00Z")]
    # A new request replaces it in the list (pending again); `show` still tells the last refusal.
    _request(admin_env, "gov.seen", by="portal:head.y")
    assert admin_env.run_json("requests", "--dry-run")["refused"] == []
    # An administrator's activation answers the account: the refusal is cleared with it.
    assert admin_env.run("activate", "gov.seen", "--by", "a", "--duration", "1m")[0] == 0
    account = admin_env.account("gov.seen")
    assert account.enabled and account.activation_refusal is None and account.activation_request is None
    assert "activation_refusal" not in admin_env.run_json("show", "gov.seen")
    assert admin_env.run_json("requests")["refused"] == []


def test_c1_refusal_parts_reads_the_portal_form_and_keeps_any_other_as_the_reason():
    assert requests.refusal_parts("2026-11-16T12:00:00Z NM-5: the expiry date passed: extend it") == {
        "refused_at": "2026-11-16T12:00:00Z", "rule": "NM-5", "reason": "the expiry date passed: extend it"}
    assert requests.refusal_parts("written by hand") == {"refused_at": None, "rule": None,
                                                          "reason": "written by hand"}
