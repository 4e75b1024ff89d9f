"""Welsh and English in the browser (issue 13, item 4): a browser asking for Welsh
(Accept-Language: cy) gets Welsh pages, and the language switch is remembered across pages and over
the browser's own preference. The Welsh expected is read from the console's catalogue
(agent/web/translations/cy), so the test checks that the page uses it, not a copy of its words."""

from __future__ import annotations

import pytest

from tests.web.browser import pages
from tests.web.browser.harness import Browser, Console
from tests.web.browser.pages import welsh

pytestmark = pytest.mark.browser



def label_of(browser: Browser, field_id: str) -> str:
    return browser.text(f"label[for='{field_id}']")


def test_a_browser_asking_for_welsh_gets_welsh_pages(browser: Browser, demo_console: Console):
    browser.reset(demo_console.url, "cy,en;q=0.5")
    browser.open(pages.HOME)
    assert browser.css("html")[0].get_attribute("lang") == "cy"
    assert browser.text("h1") == welsh("Sign in")
    assert label_of(browser, "uid") == welsh("User name")
    assert label_of(browser, "password") == welsh("Password")
    assert browser.text("#sign-in") == welsh("Sign in")
    pages.sign_in(browser, "admin.cardiff")
    assert browser.text("h1") == welsh("User Management")
    assert browser.text("#nav-accounts") == welsh(
        "%(authority)s Users: Manage Local Authority Non-MIS accounts") % {"authority": "Cardiff (demo)"}
    english_banner = "accounts expire in the next"
    assert english_banner not in browser.text("#expiring-banner")


def test_the_language_switch_is_remembered_across_pages(browser: Browser, demo_console: Console):
    browser.reset(demo_console.url, "en-GB,en")
    browser.open(pages.SIGN_IN)
    assert browser.text("h1") == "Sign in"
    browser.click("language-cy")
    assert browser.text("h1") == welsh("Sign in")
    pages.sign_in(browser, "admin.cardiff")  # the choice outlives signing in
    assert browser.text("h1") == welsh("User Management")
    browser.click("nav-expiring")
    assert browser.text("h1") == welsh("Managing Expiring Accounts")
    browser.click("nav-accounts")
    assert browser.css("html")[0].get_attribute("lang") == "cy"
    path = browser.path
    browser.click("language-en")
    assert browser.path == path  # back on the same page, in English
    assert "Manage Local Authority Non-MIS accounts" in browser.text("h1")
    browser.click("nav-home")
    assert browser.text("h1") == "User Management"

    browser.set_language("cy")  # the browser now prefers Welsh; the switch still wins
    browser.open(pages.EXPIRING)
    assert browser.text("h1") == "Managing Expiring Accounts"
