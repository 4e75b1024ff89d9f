"""The harness itself: the axe-core check fails a page that breaks WCAG and passes one that does not,
and the language chosen is the Accept-Language the server receives (so the console tests' checks can
be trusted)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.web.browser.harness import Browser

pytestmark = pytest.mark.browser

GOOD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Good</title></head>
<body><header><p>Hwb</p></header><main><h1>Sign in</h1><form><label for="u">User name</label>
<input id="u" name="u"><button type="submit">Sign in</button></form></main></body></html>"""

# An unlabelled input (critical), grey on white text (serious), an image without alt (critical).
BAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Sign in</h1><form><input id="u" name="u"></form>
<p style="color:#bbb;background:#fff">Faint words</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main>
</body></html>"""


def page(html: str) -> str:
    return "data:text/html;charset=utf-8," + quote(html)


def test_axe_passes_a_page_without_serious_violations(browser: Browser):
    browser.open(page(GOOD))
    report = browser.check_accessibility("good page", summarise=False)
    assert report.failing == []


def test_axe_fails_a_page_with_serious_and_critical_violations_and_names_them(browser: Browser):
    browser.open(page(BAD))
    with pytest.raises(AssertionError) as failure:
        browser.check_accessibility("bad page", summarise=False)
    message = str(failure.value)
    for rule in ("label", "color-contrast", "image-alt"):
        assert rule in message
    assert "serious or critical" in message


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = (self.headers.get("Accept-Language") or "").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_language_chosen_is_the_accept_language_sent(browser: Browser, echo: str):
    browser.reset(echo, "cy")
    browser.open("/")
    assert browser.text() == "cy"
    assert browser.status == 200
    browser.reset(echo)
    browser.open("/")
    assert browser.text().startswith("en-GB")


def test_a_screenshot_is_the_whole_page(browser: Browser):
    tall = "<!doctype html><html lang=en><title>t</title><main>" + "<p>line</p>" * 200 + "</main></html>"
    browser.open(page(tall))
    path = browser.screenshot("harness-tall")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height > 900
    path.unlink()
