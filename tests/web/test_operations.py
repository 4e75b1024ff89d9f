"""Manage User, create and the bulk extensions call the CLI's actions (issue 13): the same changes,
refusals and audit records, with the administrator as actor and their address (C-6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from agent.core.dates import add_months
from tests.web.conftest import account, audit_records, csrf, la_account_uid, post_form, sign_in


@pytest.fixture
def admin(client):
    assert sign_in(client, "admin.cardiff").status_code == 302
    return client


def test_the_seeds_procedure_activates_an_expired_account_at_once(admin, config, now):
    # C-1 / NM-5: Manage Local Authority Non-MIS accounts, Active = N, View Details, Manage User, Activate.
    listing = admin.get("/accounts?active=N")
    uid = la_account_uid(config, enabled=False, expired=True)
    assert f'id="view-{uid}"' in listing.text
    details = admin.get(f"/accounts/{uid}")
    assert 'id="detail-active">N<' in details.text and 'id="manage-user"' in details.text
    manage = admin.get(f"/accounts/{uid}/manage")
    assert 'id="activate-expired"' in manage.text  # the expiry has passed: a duration is asked for
    response = admin.post(f"/accounts/{uid}/activate",
                          data={"csrf_token": csrf(manage.text), "duration": "3m"},
                          environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert response.status_code == 302 and response.headers["Location"] == f"/accounts/{uid}"
    after = account(config, uid)  # in the directory now: no request, no 30-minute wait
    assert after.enabled and after.expiry_date == add_months(config.policy.today(now), 3)
    record = [entry for entry in audit_records(config)
              if entry.get("uid") == uid and entry.get("phase") == "outcome"][-1]
    assert record["event"] == "account_reactivated" and record["rule"] == "NM-5"
    assert (record["actor"], record["address"], record["via"]) == ("admin.cardiff", "198.51.100.20", "web")
    assert record["before"]["enabled"] is False and record["after"]["enabled"] is True
    # The page and the list say so, and View Details shows the history from the audit trail.
    details = admin.get(f"/accounts/{uid}")
    assert 'id="detail-active">Y<' in details.text and 'id="history-table"' in details.text
    assert "198.51.100.20" in details.text
    assert f'id="view-{uid}"' not in admin.get("/accounts?active=N").text


def test_activating_an_expired_account_without_a_duration_is_refused_nm5(admin, config):
    uid = la_account_uid(config, enabled=False, expired=True)
    response = post_form(admin, f"/accounts/{uid}/manage", f"/accounts/{uid}/activate", {"duration": ""})
    assert response.status_code == 302 and response.headers["Location"] == f"/accounts/{uid}/manage"
    page = admin.get(response.headers["Location"])
    assert "NM-5" in page.text and 'role="alert"' in page.text
    assert not account(config, uid).enabled
    refused = [entry for entry in audit_records(config) if entry.get("event") == "operation_refused"]
    assert refused[-1]["actor"] == "admin.cardiff" and refused[-1]["address"] == "127.0.0.1"


def test_extend_from_manage_user_counts_the_new_expiry_from_today(admin, config, now):
    uid = "supply.ysgol"
    response = post_form(admin, f"/accounts/{uid}/manage", f"/accounts/{uid}/extend", {"duration": "6m"})
    assert response.status_code == 302
    assert account(config, uid).expiry_date == add_months(config.policy.today(now), 6)


def test_bulk_extend_from_managing_expiring_accounts(admin, config, now):
    page = admin.get("/expiring")
    chosen = re.findall(r'name="uid" value="([^"]+)"', page.text)[:2]
    response = admin.post("/extend", data={"csrf_token": csrf(page.text), "duration": "eoy",
                                           "uid": chosen, "back": "expiring"})
    assert response.status_code == 302 and response.headers["Location"] == "/expiring"
    for uid in chosen:
        assert account(config, uid).expiry_date > config.policy.today(now) + timedelta(weeks=8)
    listed = admin.get("/expiring").text
    assert all(f'id="expiring-{uid}"' not in listed for uid in chosen)


def test_create_makes_an_account_sponsored_by_the_signed_in_administrator(admin, config, now):
    page = admin.get("/accounts/new")
    assert 'value="admin.cardiff"' in page.text  # the sponsor's default
    response = admin.post("/accounts/new", data={
        "csrf_token": csrf(page.text), "non_mis_type": "supply-teacher", "given_name": "Heulwen",
        "surname": "Morgan", "mail": "heulwen.morgan@example.org", "sponsor": "admin.cardiff",
        "duration": "1m", "role": "", "mis_id": ""})
    assert response.status_code == 302
    uid = response.headers["Location"].rsplit("/", 1)[1]
    created = account(config, uid)
    assert created.enabled and created.sponsor == "admin.cardiff"
    assert created.expiry_date == add_months(config.policy.today(now), 1)
    record = [entry for entry in audit_records(config) if entry.get("event") == "account_created"][-1]
    assert (record["actor"], record["address"], record["rule"]) == ("admin.cardiff", "127.0.0.1", "NM-1")
    assert f'id="row-{uid}"' in admin.get("/accounts?q=heulwen").text  # the list shows it at once


def test_create_refuses_a_learner_with_the_reason_nm2(admin, config):
    page = admin.get("/accounts/new")
    response = admin.post("/accounts/new", data={
        "csrf_token": csrf(page.text), "non_mis_type": "temporary-staff", "given_name": "Deio",
        "surname": "Jones", "mail": "deio.jones@example.org", "sponsor": "admin.cardiff",
        "duration": "3m", "role": "learner"})
    assert response.status_code == 422
    assert 'id="create-refusal"' in response.text and "NM-2" in response.text
    assert 'value="Deio"' in response.text  # the form keeps what was typed
    assert not [entry for entry in audit_records(config) if entry.get("event") == "account_created"]


def test_create_refuses_a_learners_mail_and_a_duplicate_like_the_command_line(admin, config):
    from agent.actions.session import open_directory
    with open_directory(config) as directory:
        learner = next(found for found in directory.accounts()
                       if found.role and found.role.value == "learner" and found.category.value == "mis")
        existing = next(found for found in directory.accounts()
                        if found.category and found.category.value == "non-mis" and found.mail
                        and found.uid.startswith("nm"))
    for mail in (learner.mail, existing.mail):
        page = admin.get("/accounts/new")
        response = admin.post("/accounts/new", data={
            "csrf_token": csrf(page.text), "non_mis_type": "governor", "given_name": "Anwen",
            "surname": "Hughes", "mail": mail, "sponsor": "admin.cardiff", "duration": "3m"})
        assert response.status_code == 422 and 'id="create-refusal"' in response.text
        assert re.search(r"NM-[12]", response.text)


def test_a_likely_duplicate_is_created_only_when_ticked_on_purpose(admin, config):
    fields = {"non_mis_type": "governor", "given_name": "Nerys", "surname": "Evans",
              "sponsor": "admin.cardiff", "duration": "3m"}
    page = admin.get("/accounts/new")
    first = admin.post("/accounts/new", data={"csrf_token": csrf(page.text), **fields,
                                              "mail": "nerys.evans@example.org"})
    assert first.status_code == 302
    page = admin.get("/accounts/new")
    again = admin.post("/accounts/new", data={"csrf_token": csrf(page.text), **fields,
                                              "mail": "nerys.evans2@example.org"})
    assert again.status_code == 422 and "likely duplicate" in again.text
    assert 'id="allow_duplicate"' in again.text
    assert "--allow-duplicate" not in again.text  # the page offers its own way, not the CLI's option
    anyway = admin.post("/accounts/new", data={"csrf_token": csrf(again.text), **fields,
                                               "mail": "nerys.evans2@example.org", "allow_duplicate": "y"})
    assert anyway.status_code == 302
    created = [entry for entry in audit_records(config) if entry.get("event") == "account_created"]
    assert len(created) == 2


def test_the_annual_review_extends_per_sponsor_and_activates_a_disabled_account_too(admin, config, now):
    from agent.core.dates import academic_year_end
    page = admin.get("/review")
    assert "<h1>Annual review</h1>" in page.text
    year_end = academic_year_end(config.policy.today(now), config.policy.academic_year_end)
    listed = re.findall(r'id="review-select-([^"]+)"', page.text)
    assert "temp.ysgol" in listed and "supply.ysgol" in listed
    for uid in listed:
        found = account(config, uid)
        assert found.expiry_date <= year_end and found.expiry_date > add_months(year_end, -12)
    response = admin.post("/extend", data={"csrf_token": csrf(page.text), "duration": "eoy",
                                           "uid": ["temp.ysgol", "supply.ysgol"], "back": "review"})
    assert response.status_code == 302 and response.headers["Location"] == "/review"
    temp, supply = account(config, "temp.ysgol"), account(config, "supply.ysgol")
    # "end of academic year" counts from today: this year's end (POLICY.md), for both.
    assert temp.enabled and temp.expiry_date == year_end  # activated and extended (NM-5, NM-6)
    assert supply.expiry_date == year_end
    records = [entry for entry in audit_records(config) if entry.get("phase") == "outcome"]
    assert {(entry["uid"], entry["rule"]) for entry in records} == {("temp.ysgol", "NM-5"),
                                                                   ("supply.ysgol", "NM-6")}


def test_a_create_form_with_missing_fields_links_each_to_its_field_by_label(admin):
    page = admin.get("/accounts/new")
    response = admin.post("/accounts/new", data={"csrf_token": csrf(page.text), "non_mis_type": "governor",
                                                 "given_name": "", "surname": "", "mail": "",
                                                 "duration": "3m"})
    assert response.status_code == 422
    assert '<a href="#given_name">Check this field: Given name</a>' in response.text
    assert '<a href="#mail">Check this field: Mail</a>' in response.text
