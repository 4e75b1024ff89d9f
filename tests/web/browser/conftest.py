"""Fixtures of the browser tests: one headless Chromium per session, reset for every test, and the
console as a real `hwb-agent web` process on the demo (and on a real slapd, in test_slapd.py).

Skipped with the reason when Chromium or its driver is missing, except under CI (the variable CI
set), where that fails the run as for the real directory servers (tests/conftest.py).

Screenshots go to a temporary folder, or to HWB_SCREENSHOTS when set (relative to the checkout):
`HWB_SCREENSHOTS=docs/screenshots python -m pytest -q tests/web/browser` refreshes the README's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser.harness import (
    ACCESSIBILITY_REPORTS,
    REPO,
    Browser,
    Console,
    chromium_binaries,
    demo_config,
    running,
    start_chromium,
)

_SCREENSHOTS: list[Path] = []  # the session's folder, for the summary


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("HWB_SCREENSHOTS")
    if chosen:
        folder = Path(chosen) if Path(chosen).is_absolute() else REPO / chosen
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("screenshots")
    _SCREENSHOTS.append(folder)
    return folder


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The session's headless Chromium (a Selenium WebDriver)."""
    browser, driver = chromium_binaries()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail(f"{driver}; CI must run the browser tests (run .ci/install-servers.sh)",
                        pytrace=False)
        pytest.skip(driver)
    chrome = start_chromium(browser, driver)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def browser(chromium: Any, screenshots_dir: Path) -> Browser:
    """The session's Chromium with no cookies and English preferred; call .reset(url, language)."""
    return Browser(chromium, screenshots_dir).reset("about:blank")


@pytest.fixture(scope="module")
def demo_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The demo console (config/demo.yaml, its state in a temporary folder), shared by a module's
    tests: each test changes accounts of its own."""
    folder = tmp_path_factory.mktemp("demo-console")
    yield from running(Console.for_config(demo_config(folder)).start())


@pytest.fixture
def fresh_demo_console(tmp_path: Path) -> Iterator[Console]:
    """A demo console of this test alone (its sign-in throttle and directory untouched by others)."""
    yield from running(Console.for_config(demo_config(tmp_path)).start())


@pytest.fixture
def signed_in(browser: Browser, demo_console: Console):
    """sign_in(uid, language): the browser on the shared demo console, signed in as `uid`."""
    from tests.web.browser import pages

    def sign_in(uid: str = "admin.cardiff", language: str = "en-GB,en") -> Browser:
        browser.reset(demo_console.url, language)
        pages.sign_in(browser, uid)
        return browser

    return sign_in


def pytest_terminal_summary(terminalreporter) -> None:
    """What axe-core found below serious on the pages checked (not failures; for whoever improves
    the pages next), and where the screenshots went."""
    if not ACCESSIBILITY_REPORTS:
        return
    terminalreporter.section("axe-core on the console's pages")
    pages = len(ACCESSIBILITY_REPORTS)
    failing = sum(len(report.failing) for report in ACCESSIBILITY_REPORTS)
    terminalreporter.write_line(f"{pages} page(s) checked; serious or critical violations: {failing}")
    found: dict[tuple[str, str], list[str]] = {}
    for report in ACCESSIBILITY_REPORTS:
        for violation in report.violations:
            if violation not in report.failing:
                key = (str(violation.get("impact")), f"{violation.get('id')}: {violation.get('help')}")
                found.setdefault(key, []).append(report.page)
    for (impact, rule), where in sorted(found.items()):
        terminalreporter.write_line(f"  [{impact}] {rule} on {', '.join(sorted(set(where)))}")
    for folder in _SCREENSHOTS:
        terminalreporter.write_line(f"screenshots: {folder} ({len(list(folder.glob('*.png')))} PNG)")
