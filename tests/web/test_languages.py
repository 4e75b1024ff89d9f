"""Welsh and English (issue 13): chosen from Accept-Language, a switch remembered in a cookie, dates
formatted for each language."""

from __future__ import annotations

from datetime import date

from tests.web.conftest import sign_in

WELSH = {"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}


def test_accept_language_cy_gives_the_welsh_pages(client):
    page = client.get("/sign-in", headers=WELSH)
    assert '<html lang="cy">' in page.text and "<h1>Mewngofnodi</h1>" in page.text
    sign_in(client, "admin.cardiff", headers=WELSH)
    home = client.get("/", headers=WELSH)
    assert "<h1>Rheoli Defnyddwyr</h1>" in home.text
    assert "Rheoli Cyfrifon sy&#39;n Dod i Ben" in home.text or "Rheoli Cyfrifon sy'n Dod i Ben" in home.text
    listing = client.get("/accounts?active=N", headers=WELSH)
    assert "Gweld Manylion" in listing.text and "Gweithredol" in listing.text
    banner = listing.text.split('id="expiring-banner-link">', 1)[1].split("<", 1)[0]
    assert "cyfrif yn dod i ben o fewn 8 wythnos" in banner


def test_english_without_a_welsh_preference(client):
    page = client.get("/sign-in", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in page.text and "<h1>Sign in</h1>" in page.text


def test_the_switch_is_remembered_over_the_browsers_choice(client):
    response = client.get("/language/en?next=/sign-in", headers=WELSH)
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("hwb_language="))
    assert "hwb_language=en" in cookie and "Max-Age=" in cookie
    assert "<h1>Sign in</h1>" in client.get("/sign-in", headers=WELSH).text
    client.get("/language/cy")
    assert "<h1>Mewngofnodi</h1>" in client.get("/sign-in").text


def test_the_switch_refuses_unknown_languages_and_foreign_next_addresses(client):
    assert client.get("/language/fr").status_code == 404
    response = client.get("/language/cy?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_dates_are_formatted_per_language(app):
    from agent.web.i18n import day
    with app.test_request_context("/", headers=WELSH):
        welsh = day(date(2027, 1, 15))
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = day(date(2027, 1, 15))
    assert welsh == "15 Ion 2027" and english == "15 Jan 2027"
