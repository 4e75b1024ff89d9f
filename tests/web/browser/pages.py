"""How a person uses the console's pages, in one place: the URLs and element ids of
agent/web/README-ids.md, and the steps the tests share (sign in, filter the list, open View Details,
Manage User, Activate). Each step clicks what a person would click; only a test that is about a URL
(scope, CSRF) types one."""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from tests.web.browser.harness import DEMO_PASSWORD, REPO, Browser, Console

CATALOGUE = REPO / "agent" / "web" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"

SIGN_IN = "/sign-in"
HOME = "/"
ACCOUNTS = "/accounts"
EXPIRING = "/expiring"
CREATE = "/accounts/new"
REVIEW = "/review"
FORECAST = "/forecast"


def details_path(uid: str) -> str:
    return f"/accounts/{uid}"


def sign_in(browser: Browser, uid: str, password: str = DEMO_PASSWORD, *,
            expect_success: bool = True) -> None:
    """From wherever the browser is, the sign-in form filled and sent."""
    if not browser.has("sign-in-form"):
        browser.open(SIGN_IN)
    browser.fill("uid", uid)
    browser.fill("password", password)
    browser.click("sign-in")
    if expect_success:
        assert not browser.has("sign-in-error"), f"sign-in of {uid} refused: {browser.text('#main')}"
        assert browser.has("sign-out"), f"not signed in as {uid}: {browser.path}\n{browser.text('#main')}"


def sign_in_error(browser: Browser) -> str:
    """The refusal shown on the sign-in page ("" when there is none)."""
    return browser.text("#sign-in-error") if browser.has("sign-in-error") else ""


def banner_count(browser: Browser) -> int:
    """N of the banner "N accounts expire in the next 8 weeks" (in either language)."""
    text = browser.text("#expiring-banner-link")
    found = re.search(r"\d+", text)
    assert found, f"no number in the banner: {text!r}"
    return int(found.group())


def list_inactive(browser: Browser) -> None:
    """Home -> Manage Local Authority Non-MIS accounts -> Active = N -> Apply filters."""
    browser.click("nav-accounts")
    browser.choose("filter-active", value="N")
    browser.click("filter-apply")
    assert "active=N" in browser.path, browser.path


def row_uids(browser: Browser, table_id: str, prefix: str) -> list[str]:
    """The uids of a table's rows (the rows' ids are PREFIX-UID)."""
    rows = browser.css(f"#{table_id} tbody tr")
    return [str(row.get_attribute("id"))[len(prefix):] for row in rows
            if str(row.get_attribute("id") or "").startswith(prefix)]


def column(browser: Browser, table_id: str, heading: str) -> list[str]:
    """The cells of a table's column, found by its heading's text."""
    headings = [cell.text.strip() for cell in browser.css(f"#{table_id} thead th")]
    assert heading in headings, f"no column {heading!r} in #{table_id}: {headings}"
    index = headings.index(heading)
    cells = []
    for row in browser.css(f"#{table_id} tbody tr"):
        from selenium.webdriver.common.by import By

        cells.append(row.find_elements(By.CSS_SELECTOR, "th, td")[index].text.strip())
    return cells


def listed_uids(browser: Browser) -> list[str]:
    return row_uids(browser, "accounts-table", "row-") if browser.has("accounts-table") else []


def view_details(browser: Browser, uid: str) -> None:
    browser.click(f"view-{uid}")
    assert browser.text("#detail-uid") == uid


def manage_user(browser: Browser) -> None:
    browser.click("manage-user")
    assert browser.has("back-to-details"), browser.text("#main")


def activate(browser: Browser, duration: str = "3m") -> bool:
    """Activate on Manage User, choosing `duration` when the page asks for one (an expired
    account, NM-5/NM-6); True when it asked."""
    asked = browser.has("activate-expired")
    if asked:
        browser.choose("activate-duration", value=duration)
    browser.click("activate")
    return asked


def messages(browser: Browser) -> str:
    return browser.text("#messages") if browser.has("messages") else ""


@cache
def welsh(english: str) -> str:
    """The Welsh of an English string, from the console's own catalogue (a page that shows it has
    used the translation, whatever its words)."""
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as stream:
        catalogue = read_po(stream, locale="cy")
    message = catalogue.get(english)
    assert message is not None and message.string, f"no Welsh for {english!r} in {CATALOGUE}"
    return str(message.string)


def run_seed_procedure(browser: Browser, console: Console, uid: str, admin: str = "admin.cardiff") -> bool:
    """The seed's steps for `uid` as `admin`; True when Activate asked for a duration."""
    browser.reset(console.url)
    browser.open(HOME)
    assert browser.path.startswith(SIGN_IN)  # signed out: the console asks first
    sign_in(browser, admin)
    assert browser.text("h1") == "User Management"
    list_inactive(browser)
    assert "Manage Local Authority Non-MIS accounts" in browser.text("h1")
    listed = listed_uids(browser)
    assert uid in listed, listed
    assert set(column(browser, "accounts-table", "Active")) == {"N"}  # only accounts not active
    view_details(browser, uid)
    assert browser.text("#detail-active") == "N"
    manage_user(browser)
    asked = activate(browser)
    assert browser.path == details_path(uid)
    assert "Activated" in messages(browser)
    assert browser.text("#detail-active") == "Y"
    return asked


def today_in_london() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/London")).date()
