"""The seed's procedure on a real OpenLDAP slapd (issue 13): the demo's accounts and administrators
loaded into a private slapd set up from deploy/openldap, the console bound as the agent, each
administrator signing in with a bind of their own, and the account enabled on the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.browser import pages
from tests.web.browser.harness import Browser, Console, load_demo_into_slapd, running, slapd_console_config
from tests.web.browser.pages import run_seed_procedure

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


@pytest.fixture
def slapd_console(private_slapd, tmp_path: Path) -> Iterator[Console]:
    config = slapd_console_config(tmp_path, private_slapd)
    load_demo_into_slapd(private_slapd, config)
    yield from running(Console.for_config(config).start())


def server_state(server, uid: str) -> dict[str, list[str]]:
    with server.connect() as connection:
        connection.search(server.base_dn, f"(uid={uid})",
                          attributes=["pwdAccountLockedTime", "hwbDisabledReason", "hwbExpiryDate"])
        assert len(connection.entries) == 1, connection.entries
        return {name: list(values) for name, values in connection.entries[0].entry_attributes_as_dict.items()}


def test_the_seed_procedure_on_slapd_enables_the_account_on_the_server(browser: Browser,
                                                                       slapd_console: Console,
                                                                       private_slapd):
    uid = "temp.ysgol"
    before = server_state(private_slapd, uid)
    assert before["pwdAccountLockedTime"] and before["hwbDisabledReason"] == ["expired"]

    asked = run_seed_procedure(browser, slapd_console, uid)

    assert asked
    after = server_state(private_slapd, uid)  # read by the server's admin, not through the agent
    assert after["pwdAccountLockedTime"] == [] and after["hwbDisabledReason"] == []
    assert after["hwbExpiryDate"] != before["hwbExpiryDate"]
    assert slapd_console.show(uid)["enabled"] is True


def test_on_slapd_a_wrong_password_is_refused_by_the_server(browser: Browser, slapd_console: Console):
    browser.reset(slapd_console.url)
    pages.sign_in(browser, "admin.cardiff", "not-the-password", expect_success=False)
    assert pages.sign_in_error(browser)
    assert browser.status == 401
    pages.sign_in(browser, "admin.ysgol")  # the right password: the server's bind says yes
    assert browser.text("h1") == "User Management"


def test_when_slapd_stops_the_pages_say_so_and_nothing_changes(browser: Browser, slapd_console: Console,
                                                                 private_slapd):
    """C-6: a page that needs the directory answers 503 naming the outage (and passes axe-core);
    an Activate sent meanwhile changes nothing; once slapd is back, the same page works."""
    uid = "nmtjones0267"  # expired, Active = N
    browser.reset(slapd_console.url)
    pages.sign_in(browser, "admin.cardiff")
    browser.open(pages.details_path(uid))
    pages.manage_user(browser)
    private_slapd.stop()
    try:
        pages.activate(browser)
        assert browser.status == 503
        assert browser.has("directory-unavailable"), browser.text("#main")
        browser.check_accessibility("directory unavailable (503)")
        browser.open(pages.details_path(uid))
        assert browser.status == 503 and browser.has("directory-unavailable")
    finally:
        private_slapd.start()
    browser.open(pages.details_path(uid))
    assert browser.status == 200 and browser.text("#detail-active") == "N"
    assert server_state(private_slapd, uid)["pwdAccountLockedTime"]  # still disabled on the server
