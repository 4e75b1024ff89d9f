"""Sign-in against the directory (issue 13): a bind as the person, one message for every failure,
throttling per user and per address, sessions that end, cookie flags."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, csrf, demo_config, sign_in

FAILURE = "The user name or password is not right"


def test_the_right_password_signs_in_and_lands_on_user_management(client):
    response = sign_in(client, "admin.cardiff")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>User Management</h1>" in home.text and "Catrin Howells" in home.text


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client):
    wrong = sign_in(client, "admin.cardiff", "not-the-password")
    unknown = sign_in(client, "nobody.here", PASSWORD)
    empty = sign_in(client, "admin.cardiff", "")
    for response in (wrong, unknown, empty):
        assert response.status_code == 401
        assert FAILURE in response.text
    assert wrong.text.count(FAILURE) == unknown.text.count(FAILURE) == 1
    assert client.get("/").status_code == 302  # still signed out


def test_a_person_without_a_console_role_cannot_sign_in_even_with_the_password(client, config):
    # head.6812003 is a sponsor with no password and no group: the same answer as a stranger.
    response = sign_in(client, "head.6812003", PASSWORD)
    assert response.status_code == 401 and FAILURE in response.text


def test_sign_in_is_throttled_per_user_with_the_same_message(tmp_path, make_app):
    config = demo_config(tmp_path, sign_in={"max_failures": 3, "window_minutes": 15,
                                             "failure_delay_seconds": 0})
    clock = [1000.0]
    app = make_app(config, monotonic=lambda: clock[0])
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "admin.cardiff", "wrong").status_code == 401
    throttled = sign_in(client, "admin.cardiff", PASSWORD)  # the right password, but throttled
    assert throttled.status_code == 401 and FAILURE in throttled.text
    other_address = sign_in(client, "admin.cardiff", PASSWORD,
                            environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_address.status_code == 401  # per user, whatever the address
    clock[0] += 15 * 60 + 1  # the window has passed
    assert sign_in(client, "admin.cardiff", PASSWORD).status_code == 302


def test_sign_in_is_throttled_per_address_across_user_names(tmp_path, make_app):
    config = demo_config(tmp_path, sign_in={"max_failures": 3, "window_minutes": 15,
                                             "failure_delay_seconds": 0})
    app = make_app(config)
    client = app.test_client()
    for name in ("a.one", "b.two", "c.three"):
        assert sign_in(client, name, "guess").status_code == 401
    assert sign_in(client, "admin.cardiff", PASSWORD).status_code == 401
    elsewhere = sign_in(client, "admin.cardiff", PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert elsewhere.status_code == 302


def test_pages_need_a_session_and_come_back_after_sign_in(client):
    response = client.get("/accounts?active=N")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    page = client.get(response.headers["Location"])
    signed = client.post(response.headers["Location"], data={
        "csrf_token": csrf(page.text), "uid": "admin.cardiff", "password": PASSWORD})
    assert signed.headers["Location"] == "/accounts?active=N"


def test_the_next_address_cannot_leave_the_site(client):
    page = client.get("/sign-in?next=//evil.example/")
    response = client.post("/sign-in?next=//evil.example/", data={
        "csrf_token": csrf(page.text), "uid": "admin.cardiff", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_samesite_strict_and_not_secure_on_plain_http(client):
    response = sign_in(client, "admin.cardiff")
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("hwb_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_behind_tls(tmp_path, make_app):
    config = demo_config(tmp_path, base_url="https://hwb-admin.example.org")
    app = make_app(config)
    client = app.test_client()
    # Behind TLS, Flask-WTF also checks that the Referer is this site (browsers send it: same-origin).
    response = sign_in(client, "admin.cardiff", base_url="https://localhost",
                       headers={"Referer": "https://localhost/sign-in"})
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("hwb_console="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Strict-Transport-Security" in response.headers


def test_an_idle_session_ends(client, app):
    sign_in(client, "admin.cardiff")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= app.permanent_session_lifetime.total_seconds() + 1
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_sign_out_ends_the_session_and_its_cookie_cannot_be_replayed(client):
    sign_in(client, "admin.cardiff")
    home = client.get("/")
    cookie = client.get_cookie("hwb_console").value
    response = client.post("/sign-out", data={"csrf_token": csrf(home.text)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    client.set_cookie("hwb_console", cookie)  # the old, still validly signed cookie
    assert client.get("/").status_code == 302



def test_an_unreachable_directory_is_a_503_not_a_failed_sign_in(tmp_path, make_app):
    from agent.settings import config as config_module
    secret = tmp_path / "secret"
    secret.write_bytes(b"z" * 32)
    config = config_module.parse({
        "local_authority": {"code": "681", "name": "Nowhere"},
        "directory": {"url": "ldap://127.0.0.1:1", "base_dn": "ou=people,dc=example,dc=org",
                      "timeout_seconds": 2},
        "logging": {"audit_file": str(tmp_path / "audit.jsonl")},
        "web": {"session_secret_file": str(secret)},
    }, "nowhere.yaml")
    client = make_app(config, secret=None).test_client()
    response = sign_in(client, "admin.cardiff")
    assert response.status_code == 503 and 'id="sign-in-unavailable"' in response.text


def test_the_session_secret_is_required_outside_the_demo(tmp_path):
    import pytest

    from agent.core.errors import UsageError
    from agent.settings import config as config_module
    from agent.web.app import create_app
    config = config_module.parse({
        "local_authority": {"code": "681", "name": "Nowhere"},
        "directory": {"url": "ldap://127.0.0.1:1", "base_dn": "ou=people,dc=example,dc=org"},
    }, "nowhere.yaml")
    with pytest.raises(UsageError, match="web.session_secret_file"):
        create_app(config, lambda: None)
    short = tmp_path / "short"
    short.write_bytes(b"too short")
    with pytest.raises(UsageError, match="at least 32"):
        create_app(config_module.parse({
            "local_authority": {"code": "681", "name": "Nowhere"},
            "directory": {"url": "ldap://127.0.0.1:1", "base_dn": "ou=people,dc=example,dc=org"},
            "web": {"session_secret_file": str(short)}}, "nowhere.yaml"), lambda: None)
