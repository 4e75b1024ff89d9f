"""The browser tests' parts: a headless Chromium driven by Selenium, the console as a real
`hwb-agent web` process, screenshots and axe-core checks (issue 13, "Tests and figures").

Nothing here fakes the console: `Console` starts `python -m agent --config FILE web` on a free
loopback port (the configuration's `web.listen`), with its state, audit trail, lock and session
secret in a temporary directory, and reads the directory back through the agent's own CLI
(`show UID --json`), the way an operator would check what the console did.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.servers.base import free_port
from tests.service.agent_process import AgentProcess

REPO = Path(__file__).resolve().parents[3]
VENDOR = Path(__file__).resolve().parent / "vendor"
AXE = VENDOR / "axe.min.js"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver",)
WINDOW = (1280, 900)
# Bounds waits for what normally takes a second (a page, the console's start): only a failure waits.
PATIENCE_SECONDS = 30.0
# axe-core impacts that fail a page (issue 13 item 5: "no serious or critical violation").
FAILING_IMPACTS = ("serious", "critical")
DEMO_PASSWORD = "demo-password"
# Every axe-core report of the session, for the terminal summary (conftest.py).
ACCESSIBILITY_REPORTS: list[AxeReport] = []


# --- Chromium -----------------------------------------------------------------------------------

def chromium_binaries() -> tuple[str, str] | tuple[None, str]:
    """(chromium, chromedriver), or (None, why not) when either is missing."""
    browser = os.environ.get("HWB_CHROMIUM") or next(
        (path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None) or shutil.which("chromium")
    driver = os.environ.get("HWB_CHROMEDRIVER") or next(
        (path for path in CHROMEDRIVER_CANDIDATES if os.access(path, os.X_OK)), None) or shutil.which(
        "chromedriver")
    if not browser or not driver:
        missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path]
        return None, (f"{' and '.join(missing)} not found (Debian: apt-get install chromium chromium-driver;"
                      " or set HWB_CHROMIUM / HWB_CHROMEDRIVER)")
    return browser, driver


def start_chromium(browser: str, driver: str) -> Any:
    """A headless Chromium at a fixed window size, English by default (Browser.set_language)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    options.add_argument("--headless=new")
    if os.geteuid() == 0 or os.environ.get("HWB_CHROMIUM_NO_SANDBOX"):
        # Chromium refuses to run as root with its sandbox; a container without user namespaces
        # cannot give an unprivileged user one either (set HWB_CHROMIUM_NO_SANDBOX=1 there).
        options.add_argument("--no-sandbox")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.add_argument("--disable-dev-shm-usage")  # small /dev/shm in containers
    options.add_argument("--lang=en-GB")
    options.add_argument("--force-device-scale-factor=1")
    options.add_argument("--hide-scrollbars")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    service = Service(driver, log_output=subprocess.DEVNULL)
    chrome = webdriver.Chrome(service=service, options=options)
    chrome.set_page_load_timeout(PATIENCE_SECONDS)
    chrome.set_script_timeout(PATIENCE_SECONDS)
    return chrome


@dataclass
class AxeReport:
    page: str
    url: str
    violations: list[dict[str, Any]]

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [item for item in self.violations if item.get("impact") in FAILING_IMPACTS]

    def describe(self, violations: Sequence[dict[str, Any]] | None = None) -> str:
        lines = []
        for item in self.violations if violations is None else violations:
            lines.append(f"- [{item.get('impact')}] {item.get('id')}: {item.get('help')}"
                         f" ({item.get('helpUrl')})")
            for node in item.get("nodes", [])[:5]:
                target = " ".join(str(part) for part in node.get("target", []))
                lines.append(f"    at {target}: {(node.get('failureSummary') or '').splitlines()[-1:]}")
                lines.append(f"      {node.get('html', '')[:200]}")
        return "\n".join(lines)


class Browser:
    """One Chromium, reset for each test (cookies, language), pointed at one console."""

    def __init__(self, driver: Any, screenshots: Path):
        self.driver = driver
        self.screenshots = screenshots
        self.base_url = ""
        self.accessibility: list[AxeReport] = []

    # --- navigation --------------------------------------------------------------------------

    def reset(self, base_url: str, language: str = "en-GB,en") -> Browser:
        self.base_url = base_url.rstrip("/")
        self.driver.get("about:blank")  # nothing of the last test's page (or console) stays shown
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})  # every site's, not one
        self.set_language(language)
        return self

    def set_language(self, accept_language: str) -> None:
        """The Accept-Language header of every following request (the browser's language)."""
        user_agent = self.driver.execute_script("return navigator.userAgent")
        self.driver.execute_cdp_cmd("Network.setUserAgentOverride",
                                    {"userAgent": user_agent, "acceptLanguage": accept_language})

    def open(self, path: str) -> None:
        """Load a page of the console (a path) or any address."""
        absolute = re.match(r"[a-z][a-z0-9+.-]*:", path) is not None  # http://..., data:..., about:...
        self.driver.get(path if absolute else self.base_url + path)

    @property
    def path(self) -> str:
        url = self.driver.current_url
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    @property
    def status(self) -> int:
        """The HTTP status of the page shown (the navigation entry's responseStatus; 0 if unknown)."""
        return int(self.driver.execute_script(
            "const entry = performance.getEntriesByType('navigation')[0];"
            " return entry && entry.responseStatus ? entry.responseStatus : 0;"))

    def text(self, selector: str = "body") -> str:
        """The visible text of the first element matching a CSS selector; "#ID" is looked up as an
        id (uids hold dots, which CSS would read as classes)."""
        from selenium.webdriver.common.by import By

        if selector.startswith("#") and not any(char in selector for char in " >[:"):
            return str(self.element(selector[1:]).text)
        return str(self.driver.find_element(By.CSS_SELECTOR, selector).text)

    def element(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def has(self, element_id: str) -> bool:
        from selenium.webdriver.common.by import By

        return bool(self.driver.find_elements(By.ID, element_id))

    def fill(self, element_id: str, value: str) -> None:
        field_element = self.element(element_id)
        field_element.clear()
        field_element.send_keys(value)

    def choose(self, element_id: str, *, value: str | None = None, text: str | None = None) -> None:
        """Pick an option of a <select> by value or visible text, or tick a radio/checkbox."""
        from selenium.webdriver.support.ui import Select

        element = self.element(element_id)
        if element.tag_name.lower() == "select":
            select = Select(element)
            if value is not None:
                select.select_by_value(value)
            elif text is not None:
                select.select_by_visible_text(text)
            else:
                raise ValueError("choose a <select> option by value= or text=")
        elif not element.is_selected():
            element.click()

    def click(self, element_id: str) -> None:
        """Click and wait for the page it leads to (the old page's <html> goes stale)."""
        self.follow(self.element(element_id))

    def follow(self, element: Any) -> None:
        html = self.css("html")[0]
        element.click()
        self.wait_replaced(html)

    def wait_replaced(self, html: Any) -> None:
        """Until the page whose <html> element was `html` has given way to a new one, loaded."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        def replaced(_: Any) -> bool:
            try:
                html.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                # Mid-navigation Chromium may answer that the node "does not belong to the
                # document" (the old one): as stale. Anything else: look again.
                return "does not belong to the document" in str(error)
            return False

        self.wait().until(replaced)
        self.wait_loaded()

    def wait(self) -> Any:
        """A WebDriverWait polling every 20 ms (Selenium's default of 500 ms would add up to half a
        second to every click)."""
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, PATIENCE_SECONDS, poll_frequency=0.02)

    def submit(self, form_element: Any) -> None:
        """Submit a form (its submit button pressed) and wait for the answer page."""
        from selenium.webdriver.common.by import By

        buttons = form_element.find_elements(
            By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
        if buttons:
            self.follow(buttons[0])
        else:  # pragma: no cover - every console form has a button
            html = self.css("html")[0]
            form_element.submit()
            self.wait_replaced(html)

    def wait_loaded(self) -> None:
        self.wait().until(lambda driver: driver.execute_script("return document.readyState") == "complete")

    # --- evidence ----------------------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        """The whole page (not only the window) as PNG, saved as NAME.png in the screenshots folder."""
        import base64

        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = max(int(size["width"]), WINDOW[0])
        height = min(max(int(size["height"]), 200), 6000)
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        path = self.screenshots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def check_accessibility(self, page: str, *, summarise: bool = True) -> AxeReport:
        """Run axe-core on the page shown; fails the test on any serious or critical violation
        (printed with the elements concerned). Every rule of axe's default set runs, WCAG 2.2 AA
        included; moderate and minor findings are kept in self.accessibility, not failed."""
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        outcome = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            " axe.run(document, {resultTypes: ['violations']})"
            "   .then(result => done(JSON.stringify(result.violations)))"
            "   .catch(error => done('axe failed: ' + error));")
        if not str(outcome).startswith("["):
            raise AssertionError(f"{page}: {outcome}")
        report = AxeReport(page, self.driver.current_url, json.loads(outcome))
        self.accessibility.append(report)
        if summarise:  # the console's pages, not the harness's own test pages
            ACCESSIBILITY_REPORTS.append(report)
        failing = report.failing
        if failing:
            print(f"axe-core on {page} ({report.url}):\n{report.describe(failing)}")
        assert not failing, f"{page}: {len(failing)} serious or critical axe-core violation(s):\n" \
                            f"{report.describe(failing)}"
        return report


# --- the console as a process ------------------------------------------------------------------

@dataclass
class Console:
    """`hwb-agent --config CONFIG web`, started on `port`; stop() ends it by its PID."""

    config: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: AgentProcess | None = None

    @classmethod
    def for_config(cls, config: Path, env: dict[str, str] | None = None) -> Console:
        return cls(config, listen_port(config), env=dict(env or {}))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Console:
        self.process = AgentProcess(self.config, env=self.env, name="console", command="web").start()
        self.wait_answering()
        return self

    def wait_answering(self, timeout: float = PATIENCE_SECONDS) -> None:
        """Until the console answers any HTTP request (a redirect to the sign-in page will do)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise AssertionError(f"hwb-agent web exited with {self.process.process.poll()}"  # type: ignore[union-attr]
                                     f" before answering:\n{self.process.tail(40)}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as answer:
                    answer.read()
                return
            except urllib.error.HTTPError:
                return  # it answered, with an error status: it is up
            except OSError as error:
                last = error
                time.sleep(0.05)
        raise AssertionError(f"hwb-agent web did not answer on {self.url} within {timeout:.0f}s"
                             f" ({last}):\n{self.process.tail(40)}")

    def stop(self) -> None:
        if self.process is not None and self.process.alive():
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.__exit__(None, None, None)

    # --- reading back what it did, through the agent's CLI -----------------------------------

    def cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """`hwb-agent --config CONFIG ARGUMENTS...`, run in this process (cli.main, as
        tests/perf/bench.py does: the same code as the command, without an interpreter's start-up
        for each read-back), its output captured."""
        import contextlib
        import io

        from agent import cli

        out, err = io.StringIO(), io.StringIO()
        command = ["--config", str(self.config), *arguments]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(command)
        return subprocess.CompletedProcess(["hwb-agent", *command], code, out.getvalue(), err.getvalue())

    def show(self, uid: str) -> dict[str, Any]:
        """`hwb-agent show UID --json`: the account as the directory holds it now."""
        done = self.cli("show", uid, "--json")
        assert done.returncode == 0, f"show {uid}: exit {done.returncode}\n{done.stderr}"
        return dict(json.loads(done.stdout))

    def accounts(self) -> list[dict[str, Any]]:
        """`hwb-agent list --json`: every account."""
        done = self.cli("list", "--json")
        assert done.returncode == 0, f"list: exit {done.returncode}\n{done.stderr}"
        return list(json.loads(done.stdout))

    def audit(self) -> list[dict[str, Any]]:
        path = Path(yaml.safe_load(self.config.read_text())["logging"]["audit_file"])
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _session_secret(folder: Path) -> Path:
    secret = folder / "session-secret"
    secret.write_bytes(os.urandom(32).hex().encode())
    secret.chmod(0o600)
    return secret


def demo_config(folder: Path, port: int | None = None, *, web: dict[str, Any] | None = None) -> Path:
    """config/demo.yaml with its state file, audit trail and session secret in `folder`, and the
    console on `port` (a free one by default)."""
    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["directory"]["state_file"] = str(folder / "demo-state.json")
    data.setdefault("logging", {}).update({"audit_file": str(folder / "demo-audit.jsonl"), "format": "json"})
    section = data.setdefault("web", {}) or {}
    data["web"] = section
    section["listen"] = f"127.0.0.1:{port or free_port()}"
    section["session_secret_file"] = str(_session_secret(folder))
    _merge(section, web or {})
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def listen_port(config: Path) -> int:
    return int(str(yaml.safe_load(config.read_text())["web"]["listen"]).rsplit(":", 1)[1])


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def running(console: Console) -> Iterator[Console]:
    try:
        yield console
    finally:
        console.stop()
        console.kill()


# --- the console on a real slapd -----------------------------------------------------------------

def slapd_console_config(folder: Path, server: Any, port: int | None = None) -> Path:
    """The console against a slapd fixture: the demo's `web:` section (roles naming the demo's
    groups, rebased onto the server's suffix), its accounts OU, the agent's password in a file."""
    from agent.actions import demo

    demo_document = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    password_file = folder / "agent-password"
    password_file.write_text(server.agent_password + "\n")
    password_file.chmod(0o600)
    document: dict[str, Any] = {
        "local_authority": {"code": "681", "name": "Cardiff (slapd)"},
        "directory": {"url": server.url, "base_dn": server.base_dn, "bind_dn": server.agent_dn,
                      "password_file": str(password_file), "flavour": "openldap", "timeout_seconds": 5},
        "policy": demo_document["policy"],
        "safety": demo_document["safety"],
        "logging": {"format": "json", "level": "info", "audit_file": str(folder / "audit.jsonl")},
        "accounts": demo_document["accounts"],
        "web": {"listen": f"127.0.0.1:{port or free_port()}",
                "session_secret_file": str(_session_secret(folder))},
    }
    path = folder / "console-slapd.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    from agent.settings import config as config_module

    groups = demo.admin_groups(config_module.load(path))
    document["web"]["roles"] = {"la_admins_group": groups["la_admins"],
                                "service_desk_group": groups["service_desk"],
                                "school_admins_group": groups["school_admins"].replace(
                                    f"school-admins-{demo.CONSOLE_SCHOOL}", "school-admins-{school}")}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def load_demo_into_slapd(server: Any, config_path: Path) -> None:
    """The demo's local authority on the slapd: its accounts loaded offline with slapadd (the demo
    dates sign-ins and creations, which only an offline load can write), then the console's
    administrators and their groups added over LDAP as the server's admin with ldap3 (passwords
    stored salted-hashed; the server checks them on each sign-in bind)."""
    from datetime import UTC, datetime

    from agent.actions import demo
    from agent.settings import config as config_module
    from tests.perf.population import ldif_record
    from tests.servers.base import run

    config = config_module.load(config_path)
    administrators = demo.admin_entries(config)
    admin_dns = {dn.lower() for dn, _ in administrators}
    # The demo's deliberately malformed entry (a leaving date "31/07/2026", C-7) is left out: the
    # mock takes it, slapd's schema (GeneralizedTime) refuses it, as a real directory would.
    accounts = [(dn, attributes) for dn, attributes in demo.demo_entries(config, datetime.now(UTC))
                if dn.lower() not in admin_dns and dn.lower() != server.base_dn.lower()
                and not dn.lower().startswith("uid=malformed.")]
    ldif = server.workdir / "demo-accounts.ldif"
    ldif.write_text("".join(ldif_record(dn, attributes) for dn, attributes in accounts))
    slapadd = shutil.which("slapadd") or shutil.which("slapadd", path="/usr/sbin:/usr/local/sbin")
    assert slapadd, "slapadd not found (Debian: slapd)"
    server.stop()
    try:
        run([slapadd, "-q", "-n1", "-F", str(server.config_dir), "-l", str(ldif)], what="slapadd (demo)")
    finally:
        server.start()
    add_entries(server, administrators)


def add_entries(server: Any, entries: Sequence[tuple[str, dict[str, list[str]]]]) -> None:
    """Add entries over LDAP as the server's admin (parents first), userPassword values stored
    salted-hashed as a real directory keeps them."""
    from ldap3 import HASHED_SALTED_SHA
    from ldap3.utils.hashed import hashed

    with server.connect() as connection:
        for dn, attributes in entries:
            values = dict(attributes)
            if "userPassword" in values:
                values["userPassword"] = [hashed(HASHED_SALTED_SHA, text) for text in values["userPassword"]]
            object_classes = values.pop("objectClass")
            assert connection.add(dn, object_classes, values), (dn, connection.result)
