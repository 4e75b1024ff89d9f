"""Every page of the console in Chromium: axe-core finds no serious or critical violation (WCAG 2.2 AA
and axe's other rules; issue 13 item 5), and a whole-page screenshot is saved (docs/screenshots/
when HWB_SCREENSHOTS=docs/screenshots, else a temporary folder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.web.browser import pages
from tests.web.browser.harness import Browser, Console
from tests.web.browser.pages import welsh

pytestmark = pytest.mark.browser

STAFF_LEAVER = "ewilliams0239"  # a staff account disabled as a leaver (MIS-2): MIS-4 is the service desk's


def _to_manage_user(uid: str) -> Callable[[Browser], None]:
    def steps(browser: Browser) -> None:
        browser.open(pages.details_path(uid))
        pages.manage_user(browser)
    return steps


def _refused_learner(browser: Browser) -> None:
    browser.open(pages.CREATE)
    browser.choose("non_mis_type", value="temporary-staff")
    browser.fill("given_name", "Dysgwr")
    browser.fill("surname", "Ifanc")
    browser.fill("mail", "dysgwr.ifanc@example.org")
    browser.choose("role", value="learner")
    browser.click("create")
    assert browser.status == 422


def _wrong_password(browser: Browser) -> None:
    browser.open(pages.SIGN_IN)
    pages.sign_in(browser, "admin.cardiff", "not-the-password", expect_success=False)
    assert browser.has("sign-in-error")


@dataclass(frozen=True)
class Page:
    name: str  # the screenshot's file name (without .png)
    path: str | Callable[[Browser], None]
    heading: str | Callable[[], str]  # the start of the page's <h1> (a callable: looked up when run)
    admin: str | None = "admin.cardiff"  # None: signed out
    language: str = "en-GB,en"
    # Extra ids the page must show (the README-ids contract the tests rely on).
    ids: tuple[str, ...] = ()


PAGES = [
    Page("sign-in", pages.SIGN_IN, "Sign in", admin=None, ids=("sign-in-form", "uid", "password")),
    Page("sign-in-refused", _wrong_password, "Sign in", admin=None, ids=("sign-in-error",)),
    Page("home", pages.HOME, "User Management", ids=("expiring-banner", "home-links", "home-inactive")),
    Page("accounts-active-n", pages.ACCOUNTS + "?active=N", "Cardiff (demo) Users: Manage Local Authority",
         ids=("filter-form", "accounts-table", "result-count")),
    Page("accounts-page-2", pages.ACCOUNTS + "?page=2", "Cardiff (demo) Users: Manage Local Authority",
         ids=("pagination",)),
    Page("view-details", pages.details_path("nmtjones0267"), "View Details", ids=("account-summary",
                                                                                  "manage-user")),
    Page("manage-user", _to_manage_user("nmtjones0267"), "Manage User", ids=("activate-form",
                                                                            "activate-expired")),
    Page("expiring", pages.EXPIRING, "Managing Expiring Accounts",
         ids=("bulk-extend-form", "expiring-table")),
    Page("create", pages.CREATE, "Create a non-MIS account", ids=("create-form", "duration-eoy")),
    Page("create-refused", _refused_learner, "Create a non-MIS account", ids=("create-refusal",)),
    Page("review", pages.REVIEW, "Annual review", ids=("review-form",)),
    Page("forecast", pages.FORECAST, "Forecast", ids=("forecast-chart", "forecast-table")),
    Page("home-cy", pages.HOME, lambda: welsh("User Management"), language="cy", ids=("expiring-banner",)),
    Page("accounts-cy", pages.ACCOUNTS + "?active=N", lambda: welsh(
        "%(authority)s Users: Manage Local Authority Non-MIS accounts") % {"authority": "Cardiff (demo)"},
        language="cy"),
    Page("school-admin-home", pages.HOME, "User Management", admin="admin.ysgol"),
    Page("school-admin-accounts", pages.ACCOUNTS, "Cardiff (demo) Users: Manage Local Authority",
         admin="admin.ysgol"),
    Page("service-desk-home", pages.HOME, "User Management", admin="servicedesk.demo", ids=("find-form",)),
    Page("service-desk-manage", _to_manage_user(STAFF_LEAVER), "Manage User", admin="servicedesk.demo",
         ids=("service-desk-form", "ticket")),
    Page("not-found", pages.details_path("no.such.account"), "", ids=("error-heading",)),
]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_is_accessible_and_pictured(page: Page, browser: Browser, demo_console: Console):
    browser.reset(demo_console.url, page.language)
    if page.admin is not None:
        pages.sign_in(browser, page.admin)
    if callable(page.path):
        page.path(browser)
    else:
        browser.open(page.path)
    heading = page.heading() if callable(page.heading) else page.heading
    assert browser.text("h1").startswith(heading), browser.text("h1")
    missing = [element_id for element_id in page.ids if not browser.has(element_id)]
    assert not missing, f"{page.name}: ids missing from the page (agent/web/README-ids.md): {missing}"
    browser.screenshot(page.name)
    browser.check_accessibility(page.name)


def test_keyboard_alone_reaches_the_main_content_and_signs_in(browser: Browser, demo_console: Console):
    """WCAG 2.1.1 / 2.4.1: the first Tab lands on the skip link, which moves focus to the main content;
    the sign-in form is filled and sent with the keyboard only."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.reset(demo_console.url)
    browser.open(pages.SIGN_IN)
    actions = ActionChains(browser.driver)
    actions.send_keys(Keys.TAB).perform()
    focused = browser.driver.switch_to.active_element
    assert focused.get_attribute("id") == "skip-link"
    focused.send_keys(Keys.ENTER)
    assert browser.driver.execute_script("return document.activeElement.id") == "main"
    browser.element("uid").click()
    actions.send_keys("admin.cardiff", Keys.TAB, "demo-password", Keys.TAB).perform()
    assert browser.driver.switch_to.active_element.get_attribute("id") == "sign-in"
    html = browser.css("html")[0]
    browser.driver.switch_to.active_element.send_keys(Keys.ENTER)
    browser.wait_replaced(html)
    assert browser.text("h1") == "User Management"
