"""Scope on the server for every request (issue 13): a school administrator sees and changes only the
accounts of their schools and those they sponsor; typed URLs and forged POSTs get 404 and change
nothing; the service desk only reactivates staff leavers (MIS-4)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import account, audit_records, csrf, la_account_uid, post_form, sign_in

SCHOOL_ACCOUNTS = {"supply.ysgol", "governor.ysgol", "temp.ysgol", "visitor.ysgol"}


@pytest.fixture
def school_admin(client):
    assert sign_in(client, "admin.ysgol").status_code == 302
    return client


def test_a_school_administrator_lists_only_the_accounts_of_their_school(school_admin):
    page = school_admin.get("/accounts")
    assert set(re.findall(r'<tr id="row-([^"]+)">', page.text)) == SCHOOL_ACCOUNTS
    inactive = school_admin.get("/accounts?active=N")
    assert set(re.findall(r'<tr id="row-([^"]+)">', inactive.text)) == {"temp.ysgol", "visitor.ysgol"}
    banner = re.search(r'id="expiring-banner-link">(\d+) ', page.text)
    assert banner and banner.group(1) == "1"  # governor.ysgol, within 8 weeks


def test_another_schools_account_is_404_by_url(school_admin, config):
    other = la_account_uid(config, enabled=False)
    for url in (f"/accounts/{other}", f"/accounts/{other}/manage"):
        assert school_admin.get(url).status_code == 404
    assert school_admin.get("/accounts/temp.ysgol").status_code == 200


def test_a_school_administrator_cannot_post_to_another_schools_account(school_admin, config):
    other = la_account_uid(config, enabled=False, expired=True)
    before = account(config, other)
    token = csrf(school_admin.get("/accounts/temp.ysgol/manage").text)  # a valid token of their own
    for action, data in (("activate", {"duration": "3m"}), ("extend", {"duration": "6m"})):
        response = school_admin.post(f"/accounts/{other}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404
    bulk = school_admin.post("/extend", data={"csrf_token": token, "duration": "6m", "uid": [other],
                                              "back": "expiring"})
    assert bulk.status_code == 302
    assert account(config, other) == before
    assert not [record for record in audit_records(config) if record.get("uid") == other]


def test_a_school_administrator_activates_their_own_expired_account(school_admin, config):
    response = post_form(school_admin, "/accounts/temp.ysgol/manage", "/accounts/temp.ysgol/activate",
                         {"duration": "1m"})
    assert response.status_code == 302
    assert account(config, "temp.ysgol").enabled


def test_a_school_administrator_creates_accounts_only_as_their_own_sponsor(school_admin, config):
    page = school_admin.get("/accounts/new")
    assert 'id="sponsor" name="sponsor" value="admin.ysgol"' in page.text and "readonly" in page.text
    response = school_admin.post("/accounts/new", data={
        "csrf_token": csrf(page.text), "non_mis_type": "governor", "given_name": "Gwen", "surname": "Rhys",
        "mail": "gwen.rhys@example.org", "sponsor": "admin.cardiff", "duration": "3m"})
    assert response.status_code == 422
    assert not [record for record in audit_records(config) if record.get("event") == "account_created"]


def test_the_service_desk_reactivates_a_staff_leaver_with_a_ticket(client, config):
    from agent.actions.session import open_directory
    with open_directory(config) as directory:
        waiting = next(found for found in directory.accounts()
                       if found.role and found.role.value == "staff" and not found.enabled
                       and found.disabled_reason and found.disabled_reason.value == "left"
                       and found.leaving_date is None)
    assert sign_in(client, "servicedesk.demo").status_code == 302
    assert client.get("/accounts").status_code == 404  # not a manager of non-MIS accounts
    manage = client.get(f"/accounts/{waiting.uid}/manage")
    assert 'id="service-desk-form"' in manage.text and 'id="activate-form"' not in manage.text
    response = client.post(f"/accounts/{waiting.uid}/service-desk",
                           data={"csrf_token": csrf(manage.text), "ticket": "HWB-555001"})
    assert response.status_code == 302
    assert account(config, waiting.uid).enabled
    record = [entry for entry in audit_records(config)
              if entry.get("uid") == waiting.uid and entry.get("phase") == "outcome"][-1]
    assert (record["rule"], record["actor"], record["ticket"], record["address"]) == (
        "MIS-4", "servicedesk.demo", "HWB-555001", "127.0.0.1")


def test_a_local_authority_administrator_cannot_use_the_service_desk_reactivation(client, config):
    from agent.actions.session import open_directory
    with open_directory(config) as directory:
        waiting = next(found for found in directory.accounts()
                       if found.role and found.role.value == "staff" and not found.enabled)
    assert sign_in(client, "admin.cardiff").status_code == 302
    page = client.get(f"/accounts/{waiting.uid}")
    assert page.status_code == 200 and 'id="manage-user"' not in page.text
    response = client.post(f"/accounts/{waiting.uid}/service-desk",
                           data={"csrf_token": csrf(page.text), "ticket": "X-1"})
    assert response.status_code == 404
    assert not account(config, waiting.uid).enabled


def test_a_school_administrators_forecast_counts_their_accounts_only(school_admin):
    page = school_admin.get("/forecast")
    disabled = sum(int(count) for count in re.findall(r"<tr><td>[^<]+</td><td>(\d+)</td>", page.text))
    # Their four accounts: two active ones will be disabled (NM-3/NM-4) within the year at most.
    assert 0 < disabled <= 2
