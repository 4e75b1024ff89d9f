"""Scope, CSRF and sign-in throttling as a browser meets them (issue 13, item 2): a school
administrator typing the URL of another school's account, a form posted without its CSRF token, and
repeated wrong passwords; each refusal checked on the page and in the directory (nothing changed)."""

from __future__ import annotations

import pytest

from tests.web.browser import pages
from tests.web.browser.harness import Browser, Console

pytestmark = pytest.mark.browser

OTHER_SCHOOL_LEARNER = "aevans0003"  # a learner of school 6816004 in the demo
LA_ACCOUNT = "nmtjones0267"  # a non-MIS account sponsored by admin.cardiff, of no school: expired


def post_form(browser: Browser, action: str, fields: dict[str, str]) -> None:
    """Post a form built in the page, as a forged or replayed request would be, with the session's
    own CSRF token (taken from the sign-out form every signed-in page carries)."""
    html = browser.css("html")[0]
    browser.driver.execute_script(
        "const [action, fields] = arguments;"
        " const form = document.createElement('form'); form.method = 'post'; form.action = action;"
        " const token = document.querySelector('#sign-out-form input[name=csrf_token]');"
        " const all = Object.assign({csrf_token: token ? token.value : ''}, fields);"
        " for (const [name, value] of Object.entries(all)) {"
        "   const input = document.createElement('input'); input.type = 'hidden';"
        "   input.name = name; input.value = value; form.appendChild(input); }"
        " document.body.appendChild(form); form.submit();", action, fields)
    browser.wait_replaced(html)


def test_a_school_administrator_cannot_see_or_change_another_schools_account_by_its_url(
        signed_in, demo_console: Console):
    browser: Browser = signed_in("admin.ysgol")
    browser.open(pages.details_path("temp.ysgol"))  # their own school's account: shown
    assert browser.status == 200 and browser.text("#detail-uid") == "temp.ysgol"

    for uid in (OTHER_SCHOOL_LEARNER, LA_ACCOUNT):
        name = demo_console.show(uid)["name"]
        for path in (pages.details_path(uid), pages.details_path(uid) + "/manage"):
            browser.open(path)
            assert browser.status == 404, path
            assert browser.has("error-heading")
            assert uid not in browser.text("#main") and name not in browser.text("#main")
    listed_elsewhere = browser.driver.page_source
    assert OTHER_SCHOOL_LEARNER not in listed_elsewhere

    # Posting Activate for it, with a valid token of this session, is refused the same way.
    before = demo_console.show(LA_ACCOUNT)
    post_form(browser, pages.details_path(LA_ACCOUNT) + "/activate", {"duration": "3m"})
    assert browser.status == 404
    assert demo_console.show(LA_ACCOUNT) == before

    # Nor does the list or a search show them.
    browser.open(pages.ACCOUNTS + f"?q={LA_ACCOUNT}")
    assert LA_ACCOUNT not in pages.listed_uids(browser)
    browser.open(pages.ACCOUNTS)
    own = {"supply.ysgol", "governor.ysgol", "temp.ysgol", "visitor.ysgol"}  # school 6812001
    assert set(pages.listed_uids(browser)) <= own


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(signed_in, demo_console: Console):
    uid = "nmmjenkins0270"  # expired: Manage User offers Activate with a duration
    browser: Browser = signed_in("admin.cardiff")
    browser.open(pages.details_path(uid))
    pages.manage_user(browser)
    removed = browser.driver.execute_script(
        "const field = document.querySelector('#activate-form input[name=csrf_token]');"
        " if (!field) return false; field.remove(); return true;")
    assert removed, "the Activate form carries a csrf_token field"
    browser.click("activate")

    assert browser.status == 400
    assert browser.has("csrf-refused"), browser.text("#main")
    shown = demo_console.show(uid)
    assert shown["enabled"] is False and shown["disabled_reason"] == "expired"
    assert not [record for record in demo_console.audit() if record.get("uid") == uid]


def test_the_sign_in_form_without_its_csrf_token_is_refused(browser: Browser, demo_console: Console):
    browser.reset(demo_console.url)
    browser.open(pages.SIGN_IN)
    browser.driver.execute_script("document.querySelector('#sign-in-form input[name=csrf_token]').remove()")
    pages.sign_in(browser, "admin.cardiff", expect_success=False)
    assert browser.status == 400 and browser.has("csrf-refused")
    browser.open(pages.HOME)
    assert browser.path.startswith(pages.SIGN_IN)  # not signed in


def test_sign_in_is_throttled_with_the_same_words_for_unknown_users(browser: Browser,
                                                                    fresh_demo_console: Console):
    """web.sign_in.max_failures (5 by default) within the window, per user and per address."""
    browser.reset(fresh_demo_console.url)
    pages.sign_in(browser, "nobody.at.all", "whatever", expect_success=False)
    unknown = pages.sign_in_error(browser)
    assert unknown and browser.status == 401
    refusals = []
    for attempt in range(4):  # 5 failures in all from this address, 4 of them for admin.ysgol
        pages.sign_in(browser, "admin.ysgol", f"wrong-{attempt}", expect_success=False)
        refusals.append((pages.sign_in_error(browser), browser.status))
    assert set(refusals) == {(unknown, 401)}, "a wrong password reads as an unknown user does"

    pages.sign_in(browser, "admin.ysgol", expect_success=False)  # the right password, now refused
    assert (pages.sign_in_error(browser), browser.status) == (unknown, 401)
    assert not browser.has("sign-out")
    pages.sign_in(browser, "admin.cardiff", expect_success=False)  # the address is paused too
    assert (pages.sign_in_error(browser), browser.status) == (unknown, 401)
    log = [record for _, record in fresh_demo_console.process.events()]  # type: ignore[union-attr]
    assert not [record for record in log if record.get("event") == "console_signed_in"]


def test_the_session_cookie_is_out_of_scripts_reach_and_signing_out_ends_the_session(signed_in,
                                                                                     demo_console: Console):
    browser: Browser = signed_in("admin.cardiff")
    cookies = {cookie["name"]: cookie for cookie in browser.driver.get_cookies()}
    session = cookies["hwb_console"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert session["secure"] is False  # plain HTTP on loopback; Secure behind TLS (web.secure_cookies)
    assert "hwb_console" not in browser.driver.execute_script("return document.cookie")
    stolen = session["value"]

    browser.click("sign-out")
    assert browser.path.startswith(pages.SIGN_IN)
    browser.open(pages.ACCOUNTS)
    assert browser.path.startswith(pages.SIGN_IN)  # signed out: every page asks again

    # The old cookie, replayed, no longer opens the console either.
    browser.driver.add_cookie({"name": "hwb_console", "value": stolen, "path": "/"})
    browser.open(pages.ACCOUNTS)
    assert browser.path.startswith(pages.SIGN_IN)
