"""The seed's pages for a local-authority administrator (issue 13): each renders, with its <h1>, the
banner of NM-8, and the figures of the actions it calls."""

from __future__ import annotations

import re

import pytest

from agent.actions import listings
from agent.actions.session import open_directory
from tests.web.conftest import la_account_uid, sign_in


@pytest.fixture
def admin(client):
    assert sign_in(client, "admin.cardiff").status_code == 302
    return client


PAGES = ["/", "/accounts", "/accounts?active=N", "/accounts?active=Y&type=governor", "/expiring",
         "/review", "/forecast", "/accounts/new"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_a_local_authority_administrator(admin, url):
    response = admin.get(url)
    assert response.status_code == 200
    assert response.text.count("<h1") == 1
    assert 'id="expiring-banner"' in response.text


def test_view_details_and_manage_user_render_for_an_account(admin, config):
    uid = la_account_uid(config, enabled=False)
    details = admin.get(f"/accounts/{uid}")
    assert details.status_code == 200 and f'id="detail-uid">{uid}<' in details.text
    assert 'id="manage-user"' in details.text
    manage = admin.get(f"/accounts/{uid}/manage")
    assert manage.status_code == 200 and 'id="activate-form"' in manage.text


def test_the_banner_counts_what_managing_expiring_accounts_lists(admin, config, now):
    with open_directory(config) as directory:
        _, _, due = listings.expiring_accounts(directory, config, now)
    page = admin.get("/expiring")
    banner = re.search(r'id="expiring-banner-link">(\d+) accounts? expires? in the next 8 weeks<', page.text)
    expiring = [account for account in due if not account.problems]
    assert banner and int(banner.group(1)) == len(expiring) > 0
    assert page.text.count('name="uid" value=') == len(expiring)
    for account in expiring:
        assert f'id="expiring-{account.uid}"' in page.text


def test_an_unreadable_account_is_listed_apart_with_its_problem_and_cannot_be_selected(admin):
    # C-7: the demo's governor whose type is "wizard" is listed, neither counted nor selectable.
    page = admin.get("/expiring").text
    assert 'id="expiring-malformed.type"' not in page and 'value="malformed.type"' not in page
    row = re.search(r'<tr id="unreadable-malformed.type">(.*?)</tr>', page, re.S)
    assert row and "hwbNonMisType=wizard: <span lang=\"en\">unknown value" in row.group(1)
    assert 'href="/accounts/malformed.type"' in row.group(1)


def test_the_list_filters_active_n_and_paginates_on_the_server(admin, config):
    with open_directory(config) as directory:
        inactive = sorted(account.uid for account in listings.list_accounts(
            directory, category="non-mis", active=False))
    page = admin.get("/accounts?active=N")
    listed = re.findall(r'<tr id="row-([^"]+)">', page.text)
    assert listed == sorted(inactive, key=str.lower)[:25]
    assert f"Accounts found: {len(inactive)}." in page.text
    everything = admin.get("/accounts")
    total = int(re.search(r"Accounts found: (\d+)\.", everything.text).group(1))
    assert total > 25 and 'id="page-next"' in everything.text
    second = admin.get("/accounts?page=2")
    assert re.findall(r'<tr id="row-([^"]+)">', second.text)[0] not in re.findall(
        r'<tr id="row-([^"]+)">', everything.text)


def test_the_list_filters_by_text_and_sponsor(admin):
    page = admin.get("/accounts?q=ysgol")
    assert set(re.findall(r'<tr id="row-([^"]+)">', page.text)) == {
        "supply.ysgol", "governor.ysgol", "temp.ysgol", "visitor.ysgol"}
    sponsored = admin.get("/accounts?sponsor=head.6812003")
    assert sponsored.status_code == 200
    assert re.findall(r'<tr id="row-([^"]+)">', sponsored.text)


def test_view_details_shows_the_rule_the_next_transition_and_the_history(admin, config, now):
    uid = "supply.ysgol"  # active, used last week: next NM-4 or NM-3
    with open_directory(config) as directory:
        view = listings.view_account(directory, config, now, uid)
    page = admin.get(f"/accounts/{uid}")
    assert view.decision.rule in page.text
    assert view.decision.next is not None and view.decision.next.rule in page.text
    assert 'id="history-empty"' in page.text  # nothing audited yet


def test_the_forecast_has_an_svg_chart_and_the_same_figures_as_a_table(admin):
    page = admin.get("/forecast")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page.text and 'id="forecast-chart"' in page.text
    rows = re.findall(r"<tr><td>[^<]+</td><td>(\d+)</td>", page.text)
    assert len(rows) == 53 and sum(int(count) for count in rows) > 0
    bars = re.findall(r'disabled (\d+)</title></rect>', page.text)
    assert sum(int(count) for count in bars) == sum(int(count) for count in rows)


def test_an_unknown_account_is_404(admin):
    assert admin.get("/accounts/no.such.person").status_code == 404


@pytest.mark.parametrize("url", [*PAGES, "/accounts/temp.ysgol", "/accounts/temp.ysgol/manage", "/sign-in"])
def test_no_page_repeats_an_element_id(admin, url):
    ids = re.findall(r'\sid="([^"]+)"', admin.get(url).text)
    assert ids and len(ids) == len(set(ids)), sorted({name for name in ids if ids.count(name) > 1})


ODD_ACCOUNTS = ["malformed.type", "malformed.date", "hwb-breakglass", "scanner-learner-mail"]


@pytest.mark.parametrize("uid", ODD_ACCOUNTS)
def test_view_details_of_the_demos_odd_accounts_renders(admin, uid):
    # C-7 bad data, C-2 protected, NM-2 a learner's mail: each page renders with its account.
    page = admin.get(f"/accounts/{uid}")
    assert page.status_code == 200 and f'id="detail-uid">{uid}<' in page.text
