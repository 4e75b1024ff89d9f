"""The seed's procedure, click by click, in a real Chromium (issue 13, "Tests and figures"): sign in,
"Manage Local Authority Non-MIS accounts", Active = N, View Details, Manage User, Activate; then the
account is enabled in the directory itself (read back through `hwb-agent show --json`, not through
the console) and the audit trail names the administrator and their address. On the demo here; on a
real slapd in test_slapd.py."""

from __future__ import annotations

import pytest
from dateutil.relativedelta import relativedelta

from tests.web.browser.harness import Browser, Console
from tests.web.browser.pages import run_seed_procedure, today_in_london

pytestmark = pytest.mark.browser


def test_the_seed_procedure_enables_an_expired_account_in_the_directory(browser: Browser,
                                                                        demo_console: Console):
    uid = "temp.ysgol"  # the demo's expired non-MIS account (NM-3): Active = N
    before = demo_console.show(uid)
    assert before["enabled"] is False and before["disabled_reason"] == "expired"

    asked = run_seed_procedure(browser, demo_console, uid)

    assert asked, "an expired account asks how long to extend it (NM-5, NM-6)"
    after = demo_console.show(uid)
    assert after["enabled"] is True
    assert after["disabled_reason"] is None
    # NM-6: three months (the choice made) counted from today.
    assert after["expiry_date"] == (today_in_london() + relativedelta(months=3)).isoformat()
    records = [record for record in demo_console.audit()
               if record.get("uid") == uid and record.get("phase") != "intent"]
    assert records, "the activation is in the audit trail"
    last = records[-1]
    assert last["actor"] == "admin.cardiff"
    assert last.get("address") == "127.0.0.1"
    assert "NM-5" in str(last.get("rule")) or "NM-6" in str(last.get("rule")), last
    # View Details shows the change in its history, from the audit trail (C-6).
    assert "admin.cardiff" in browser.text("#history-table")


def test_an_account_disabled_for_inactivity_is_activated_without_a_duration(browser: Browser,
                                                                           demo_console: Console):
    uid = "visitor.ysgol"  # disabled after 90 days unused (NM-4), expiry still ahead
    before = demo_console.show(uid)
    assert before["enabled"] is False and before["disabled_reason"] == "inactive"

    asked = run_seed_procedure(browser, demo_console, uid)

    assert not asked, "an account that has not expired is activated without choosing a duration"
    after = demo_console.show(uid)
    assert after["enabled"] is True
    assert after["expiry_date"] == before["expiry_date"]  # NM-5: the expiry date stays
