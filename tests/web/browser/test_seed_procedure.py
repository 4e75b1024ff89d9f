"""The seed's procedure, click by click, in a real Chromium (issue 13, "Tests and figures"): sign in,
"Manage Local Authority Non-MIS accounts", Active = N, View Details, Manage User, Activate; then the
account is enabled in the directory itself (read back through `hwb-agent show --json`, not through
the console) and the audit trail names the administrator and their address. On the demo here; on a
real slapd in test_slapd.py."""

from __future__ import annotations

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta

from tests.web.browser import pages
from tests.web.browser.harness import Browser, Console

pytestmark = pytest.mark.browser


def run_seed_procedure(browser: Browser, console: Console, uid: str, admin: str = "admin.cardiff") -> bool:
    """The seed's steps for `uid` as `admin`; True when Activate asked for a duration."""
    browser.reset(console.url)
    browser.open(pages.HOME)
    assert browser.path.startswith(pages.SIGN_IN)  # signed out: the console asks first
    pages.sign_in(browser, admin)
    assert browser.text("h1") == "User Management"
    pages.list_inactive(browser)
    assert "Manage Local Authority Non-MIS accounts" in browser.text("h1")
    listed = pages.listed_uids(browser)
    assert uid in listed, listed
    for row in listed:  # Active = N lists only accounts that are not active
        assert browser.text(f"#row-{row}").split().count("N") >= 1
    pages.view_details(browser, uid)
    assert browser.text("#detail-active") == "N"
    pages.manage_user(browser)
    asked = pages.activate(browser)
    assert browser.path == pages.details_path(uid)
    assert "Activated" in pages.messages(browser)
    assert browser.text("#detail-active") == "Y"
    return asked


def today_in_london() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/London")).date()


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
