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
