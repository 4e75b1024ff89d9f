"""CSRF on every form and the security headers of every response (issue 13)."""

from __future__ import annotations

import pytest

from tests.web.conftest import account, la_account_uid, sign_in


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(client, config):
    assert sign_in(client, "admin.cardiff").status_code == 302
    uid = la_account_uid(config, enabled=False, expired=True)
    before = account(config, uid)
    response = client.post(f"/accounts/{uid}/activate", data={"duration": "3m"})
    assert response.status_code == 400 and 'id="csrf-refused"' in response.text
    forged = client.post(f"/accounts/{uid}/activate", data={"duration": "3m", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert account(config, uid) == before


def test_the_sign_in_form_needs_its_csrf_token_too(client):
    response = client.post("/sign-in", data={"uid": "admin.cardiff", "password": "demo-password"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("url", ["/sign-in", "/", "/accounts", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, url):
    sign_in(client, "admin.cardiff")
    headers = client.get(url).headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


def test_pages_hold_no_inline_script_or_style(client):
    sign_in(client, "admin.cardiff")
    for url in ("/", "/accounts", "/forecast", "/accounts/new", "/expiring"):
        text = client.get(url).text
        assert "<script" not in text and "style=" not in text and "<style" not in text


def test_server_timing_is_off_by_default_and_never_on_the_sign_in(tmp_path, make_app, client):
    from tests.web.conftest import demo_config
    sign_in(client, "admin.cardiff")
    assert "Server-Timing" not in client.get("/").headers
    timed = make_app(demo_config(tmp_path / "timed", server_timing=True)).test_client()
    assert "Server-Timing" not in sign_in(timed, "admin.cardiff").headers
    header = timed.get("/accounts/temp.ysgol").headers["Server-Timing"]
    searches = int(header.split('ldap-searches;desc="', 1)[1].split('"', 1)[0])
    assert header.startswith("app;dur=") and searches >= 1
