"""`expiring` (NM-8), `review` (NM-9), `list` and `show`: human, JSON and CSV outputs parsed back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from agent.cli import views
from agent.core.model import Reason
from tests.actions.admin.conftest import BASE_DN, TODAY, non_mis

LAST = TODAY + timedelta(weeks=8)


@pytest.fixture
def window(admin_env):
    """Accounts of one sponsor around the NM-8 window's edges."""
    sponsor = "edge.sponsor"
    admin_env.add("edge.yesterday", "non-mis", non_mis(expiry=TODAY - timedelta(days=1), sponsor=sponsor))
    admin_env.add("edge.today", "non-mis", non_mis(expiry=TODAY, sponsor=sponsor),
                  last_sign_in=TODAY - timedelta(days=1))
    admin_env.add("edge.last", "non-mis", non_mis(expiry=LAST, sponsor=sponsor, mail="Edge.Last@x.example"))
    admin_env.add("edge.past", "non-mis", non_mis(expiry=LAST + timedelta(days=1), sponsor=sponsor))
    admin_env.add("edge.disabled", "non-mis", non_mis(
        expiry=TODAY + timedelta(days=3), sponsor=sponsor, disabled_reason=Reason.INACTIVE.value,
        disabled_at=datetime(2026, 11, 10, 2, tzinfo=UTC)), enabled=False)
    return sponsor


def test_nm8_expiring_window_includes_today_and_today_plus_8_weeks_only(admin_env, window):
    code, out, err = admin_env.run("expiring", "--sponsor", window)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ("2 accounts expire in the next 8 weeks (sponsor edge.sponsor):"
                        " expiry dates 2026-11-16 to 2027-01-11 [NM-8]")
    assert lines[1].split() == ["UID", "NAME", "TYPE", "SPONSOR", "EXPIRY_DATE", "DAYS_LEFT"]
    assert lines[2].split()[0] == "edge.today" and lines[2].split()[-2:] == ["2026-11-16", "0"]
    assert lines[3].split()[0] == "edge.last" and lines[3].split()[-2:] == ["2027-01-11", "56"]
    assert lines[4] == (f"extend one: hwb-agent --config {admin_env.path / 'config.yaml'} extend edge.today"
                        " --duration 3m --by ID")


def test_nm8_expiring_json_rows_carry_the_design_keys(admin_env, window):
    rows = admin_env.run_json("expiring", "--sponsor", window)
    assert [row["uid"] for row in rows] == ["edge.today", "edge.last"]
    row = rows[1]
    assert set(views.ROW_KEYS) - {"role"} <= set(row)
    assert row == {
        "uid": "edge.last", "dn": f"uid=edge.last,ou=non-mis,{BASE_DN}", "name": "Edge Test",
        "mail": "Edge.Last@x.example", "category": "non-mis", "type": "governor", "enabled": True,
        "school": None, "sponsor": "edge.sponsor", "leaving_date": None, "expiry_date": "2027-01-11",
        "last_sign_in": None, "disabled_at": None, "disabled_reason": None, "days_left": 56,
    }


def test_nm8_expiring_csv_columns_are_the_json_keys(admin_env, window):
    code, out, _ = admin_env.run("expiring", "--sponsor", window, "--csv")
    assert code == 0
    reader = csv.DictReader(io.StringIO(out))
    assert reader.fieldnames == [*views.ROW_KEYS, "days_left", "problems"]
    rows = list(reader)
    assert [row["uid"] for row in rows] == ["edge.today", "edge.last"]
    first = rows[0]
    assert first["dn"] == f"uid=edge.today,ou=non-mis,{BASE_DN}"
    assert (first["category"], first["type"], first["role"]) == ("non-mis", "governor", "")
    assert (first["enabled"], first["sponsor"], first["expiry_date"]) == ("Y", "edge.sponsor", "2026-11-16")
    assert first["last_sign_in"] == "2026-11-15T12:00:00+00:00" and first["days_left"] == "0"
    assert (first["leaving_date"], first["disabled_at"], first["disabled_reason"]) == ("", "", "")


def test_nm8_expiring_window_moves_with_today_and_weeks(admin_env, window):
    admin_env.now = admin_env.now + timedelta(days=1)  # edge.today is now past; edge.past comes in
    rows = admin_env.run_json("expiring", "--sponsor", window)
    assert [row["uid"] for row in rows] == ["edge.last", "edge.past"]
    assert admin_env.run_json("expiring", "--sponsor", window, "--weeks", "1") == []
    with pytest.raises(SystemExit):
        admin_env.run("expiring", "--weeks", "0")


def test_nm8_expiring_banner_counts_every_sponsor_and_orders_by_expiry(admin_env, window):
    code, out, _ = admin_env.run("expiring")
    count = int(out.split()[0])
    listed = admin_env.run_json("expiring")
    rows = [row for row in listed if not row.get("problems")]
    assert count == len(rows) > 2
    assert [row["expiry_date"] for row in rows] == sorted(row["expiry_date"] for row in rows)
    # C-7: the demo's unreadable non-MIS entry is listed last with its fault, not counted.
    assert [row["uid"] for row in listed[len(rows):]] == ["malformed.type"]
    assert "C-7 malformed.type" in out and "hwbNonMisType='wizard'" in out


def test_expiring_on_active_directory_rechecks_the_enabled_state(ad_env):
    # The mock cannot filter userAccountControl bit flags: disabled accounts must not slip in.
    ad_env.add("ad.disabled", "non-mis", non_mis(expiry=TODAY + timedelta(days=2), sponsor="ad.s",
                                                 disabled_reason="inactive"), enabled=False)
    ad_env.add("ad.enabled", "non-mis", non_mis(expiry=TODAY + timedelta(days=2), sponsor="ad.s"))
    assert [row["uid"] for row in ad_env.run_json("expiring", "--sponsor", "ad.s")] == ["ad.enabled"]
    inactive = ad_env.run_json("list", "--category", "non-mis", "--active", "N", "--sponsor", "ad.s")
    assert [row["uid"] for row in inactive] == ["ad.disabled"]


def test_nm9_review_lists_every_non_mis_account_per_sponsor(admin_env, window):
    code, out, err = admin_env.run("review", "--sponsor", window)
    assert code == 0, err
    assert out.startswith("Annual review (NM-9): 5 non-MIS accounts; academic year end 2027-08-31")
    assert "Sponsor edge.sponsor: 5 accounts, 5 end by 2027-08-31" in out
    assert (f"hwb-agent --config {admin_env.path / 'config.yaml'} extend --from-file review.csv --by ID"
            in out)
    rows = admin_env.run_json("review", "--sponsor", window)
    assert [row["uid"] for row in rows] == ["edge.yesterday", "edge.today", "edge.disabled", "edge.last",
                                            "edge.past"]
    assert {row["uid"]: row["enabled"] for row in rows}["edge.disabled"] is False
    assert all(row["ends_by_year_end"] is True and row["duration"] == "3m" for row in rows)
    assert rows[0]["days_left"] == -1


def test_list_inactive_non_mis_json_and_csv_agree(admin_env, window):
    rows = admin_env.run_json("list", "--category", "non-mis", "--active", "N")
    assert rows and all(row["category"] == "non-mis" and row["enabled"] is False for row in rows)
    code, out, _ = admin_env.run("list", "--category", "non-mis", "--active", "N", "--csv")
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert [row["uid"] for row in parsed] == [row["uid"] for row in rows]
    for json_row, csv_row in zip(rows, parsed, strict=True):
        for key in views.ROW_KEYS:
            value = json_row.get(key)
            if isinstance(value, bool):
                expected = "Y" if value else "N"
            else:
                expected = "" if value is None else str(value)
            assert csv_row[key] == expected, key


def test_show_explains_a_disabled_account_and_how_to_activate_it(admin_env, window):
    code, out, _ = admin_env.run("show", "edge.disabled")
    assert code == 0
    assert "state:" in out and "disabled (inactive)" in out
    assert "disabled (reason inactive) since 2026-11-10; an administrator can reactivate it [NM-5]" in out
    assert "next:" in out and "purge on 2027-11-10 [NM-7]" in out
    assert f"hwb-agent --config {admin_env.path / 'config.yaml'} activate edge.disabled --by ID\n" in out
    assert "(add --duration 3m to extend as well: 1m, 3m, 6m or eoy)" in out
    shown = admin_env.run_json("show", "edge.disabled")
    assert shown["next"] == {"date": "2027-11-10", "action": "purge", "rule": "NM-7"}
    assert shown["why"]["rule"] == "NM-5" and shown["disabled_reason"] == "inactive"


def test_show_reports_a_pending_activation_request(admin_env):
    [row] = [row for row in admin_env.run_json("list", "--category", "non-mis", "--active", "N")
             if row["disabled_reason"] == "expired" and row["type"] == "governor"]
    shown = admin_env.run_json("show", row["uid"])
    assert shown["activation_request"] == {"requested_by": "portal:admin.cardiff",
                                           "requested_at": "2026-11-16T07:00:00+00:00", "duration": "3m"}
    code, out, _ = admin_env.run("show", row["uid"])
    assert "activation asked by portal:admin.cardiff" in out and "(C-1): pending" in out
    assert "expiry passed: NM-5 needs an extension" in out


def test_expiring_dates_are_calendar_dates_in_the_policy_zone(admin_env, window):
    # 23:30 UTC on 15 November is still the 15th in London (GMT): edge.yesterday expires "today".
    admin_env.now = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    rows = admin_env.run_json("expiring", "--sponsor", window)
    assert rows[0]["uid"] == "edge.yesterday" and rows[0]["days_left"] == 0
    assert date.fromisoformat(rows[0]["expiry_date"]) == TODAY - timedelta(days=1)
