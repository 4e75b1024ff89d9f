"""`create` (NM-1, NM-2) and `extend` (NM-6, NM-9) through the command line on the mock directory."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.actions.admin.conftest import BASE_DN, TODAY, mis, non_mis

CREATE = ["create", "--type", "governor", "--given-name", "Siân", "--surname", "Ap Rhys",
          "--mail", "sian.aprhys@example.org", "--sponsor", "admin.test", "--duration", "3m"]


# --- create -----------------------------------------------------------------------------------


def test_nm1_create_adds_an_enabled_account_with_every_lifecycle_attribute(admin_env):
    code, out, err = admin_env.run(*CREATE)
    assert code == 0, err
    assert out.startswith(f"created sian.aprhys (uid=sian.aprhys,ou=non-mis,{BASE_DN})")
    assert "expires on 2027-02-16 [NM-1]" in out
    account = admin_env.account("sian.aprhys")
    assert account.enabled and not account.problems
    assert (account.category.value, account.non_mis_type.value) == ("non-mis", "governor")
    assert (account.given_name, account.surname, account.name) == ("Siân", "Ap Rhys", "Siân Ap Rhys")
    assert account.mail == "sian.aprhys@example.org"
    assert account.sponsor == "admin.test" and account.local_authority == "681"
    assert account.duration.value == "3m" and account.expiry_date == date(2027, 2, 16)
    assert account.created_at == admin_env.now
    with admin_env.directory() as directory:
        assert directory.counts.adds == 0  # a fresh handle; the add was one operation in the CLI run
    [record] = [r for r in admin_env.audit() if r["event"] == "account_created"]
    assert record["rule"] == "NM-1" and record["actor"] == "admin.test"
    assert record["before"] == {"exists": False}
    assert record["after"]["expiry_date"] == "2027-02-16" and record["after"]["enabled"] is True


def test_nm1_create_records_the_by_identity_verbatim_and_prints_json(admin_env):
    result = admin_env.run_json(*CREATE, "--by", "Jane Admin <jane@la.example>")
    assert result["uid"] == "sian.aprhys" and result["rule"] == "NM-1" and result["changed"] is True
    assert result["dn"] == f"uid=sian.aprhys,ou=non-mis,{BASE_DN}"
    assert result["after"]["duration"] == "3m"
    assert admin_env.audit()[-1]["actor"] == "Jane Admin <jane@la.example>"


def test_nm1_create_handles_uid_collisions(admin_env):
    admin_env.add("sian.aprhys", "staff", mis("staff", mis_id="STF1"))
    assert admin_env.run(*CREATE)[0] == 0
    assert admin_env.run(*CREATE[:-6], "--mail", "other@example.org", *CREATE[-4:],
                         "--allow-duplicate")[0] == 0
    assert admin_env.account("sian.aprhys2").dn == f"uid=sian.aprhys2,ou=non-mis,{BASE_DN}"
    assert admin_env.account("sian.aprhys3").mail == "other@example.org"


def test_nm1_create_refuses_a_second_account_with_the_same_mail_whatever_the_case(admin_env):
    assert admin_env.run(*CREATE)[0] == 0
    again = [("SIAN.APRHYS@EXAMPLE.ORG" if part == "sian.aprhys@example.org" else part) for part in CREATE]
    again[again.index("Siân")] = "Other"
    code, out, err = admin_env.run(*again)
    assert code == 3 and out == ""
    assert "refused (NM-1): likely duplicate: sian.aprhys has the mail sian.aprhys@example.org" in err
    assert "--allow-duplicate" in err
    refusal = admin_env.audit()[-1]
    assert refusal["event"] == "operation_refused" and refusal["rule"] == "NM-1"
    assert refusal["operation"] == "create"
    assert admin_env.run(*again, "--allow-duplicate")[0] == 0


def test_nm1_create_refuses_the_same_name_under_the_same_sponsor(admin_env):
    assert admin_env.run(*CREATE)[0] == 0
    other_mail = [("sian2@example.org" if part == "sian.aprhys@example.org" else part) for part in CREATE]
    code, _, err = admin_env.run(*other_mail)
    assert code == 3
    assert "likely duplicate: sian.aprhys is Siân Ap Rhys, sponsored by admin.test" in err
    other_sponsor = [("admin.other" if part == "admin.test" else part) for part in other_mail]
    assert admin_env.run(*other_sponsor)[0] == 0  # a namesake sponsored by someone else
    assert admin_env.account("sian.aprhys2").sponsor == "admin.other"


def test_nm1_create_refuses_the_mail_of_an_mis_staff_account_even_when_allowed(admin_env):
    admin_env.add("staff.one", "staff", mis("staff", mis_id="STF9", mail="Staff.One@School.example"))
    with_mail = [("staff.one@school.example" if part == "sian.aprhys@example.org" else part)
                 for part in CREATE]
    code, _, err = admin_env.run(*with_mail, "--allow-duplicate")
    assert code == 3
    assert "refused (NM-1): the mail staff.one@school.example belongs to the MIS account staff.one" in err
    assert admin_env.audit()[-1]["rule"] == "NM-1"
    assert admin_env.run("show", "sian.aprhys")[0] == 2


def test_uid_template_with_dn_characters_is_a_configuration_error(admin_env, tmp_path):
    config = (tmp_path / "config.yaml").read_text().replace('"{given}.{surname}"', '"{given},{surname}"')
    (tmp_path / "config.yaml").write_text(config)
    code, _, err = admin_env.run(*CREATE)
    assert code == 2
    assert "at 'accounts.uid_template': only a-z, 0-9, '.', '-' and '_' may stand between" in err


def test_dn_values_are_escaped(admin_env):
    with admin_env.directory() as directory:
        assert directory.child_dn("uid", "a,b+c", "ou=x") == "uid=a\\,b\\+c,ou=x"


def test_nm2_create_for_role_learner_is_refused(admin_env):
    code, out, err = admin_env.run(*CREATE, "--role", "learner")
    assert code == 3 and out == ""
    assert "refused (NM-2): learners must not have a non-MIS account: role learner refused" in err
    assert admin_env.run("show", "sian.aprhys")[0] == 2
    refusal = admin_env.audit()[-1]
    assert refusal["event"] == "operation_refused" and refusal["rule"] == "NM-2"


def test_nm2_create_with_a_learners_mail_is_refused_whatever_the_case(admin_env):
    admin_env.add("learner.one", "learners", mis("learner", mis_id="A681200099999",
                                                 mail="Learner.One@Pupils.example"))
    args = [*CREATE]
    args[args.index("--mail") + 1] = "learner.one@pupils.EXAMPLE"
    code, _, err = admin_env.run(*args)
    assert code == 3
    assert "the mail learner.one@pupils.EXAMPLE belongs to the learner account learner.one" in err


def test_nm2_create_with_a_learners_mis_identifier_is_refused(admin_env):
    admin_env.add("learner.two", "learners", mis("learner", mis_id="A681200088888"))
    code, _, err = admin_env.run(*CREATE, "--mis-id", "A681200088888")
    assert code == 3
    assert "the identifier A681200088888 belongs to the learner account learner.two" in err


def test_nm2_create_with_a_staff_members_identifier_is_allowed(admin_env):
    admin_env.add("staff.one", "staff", mis("staff", mis_id="STF77"))
    assert admin_env.run(*CREATE, "--mis-id", "STF77")[0] == 0


@pytest.mark.parametrize(("option", "value"), [("--type", "wizard"), ("--duration", "2m")])
def test_create_with_an_unknown_type_or_duration_is_bad_usage(admin_env, option, value):
    args = [*CREATE]
    args[args.index(option) + 1] = value
    with pytest.raises(SystemExit) as stopped:
        admin_env.run(*args)
    assert stopped.value.code == 2
    assert "invalid choice" in admin_env.capsys.readouterr().err


def test_create_with_a_bad_mail_is_bad_usage(admin_env):
    args = [*CREATE]
    args[args.index("--mail") + 1] = "not a mail"
    code, _, err = admin_env.run(*args)
    assert code == 2 and "--mail: not a mail address" in err


def test_create_on_active_directory_uses_its_attributes(ad_env):
    code, out, err = ad_env.run(*CREATE)
    assert code == 0, err
    account = ad_env.account("sian.aprhys")
    assert account.enabled and account.dn == f"cn=sian.aprhys,ou=non-mis,{BASE_DN}"
    assert ad_env.raw("sian.aprhys", "userAccountControl") == ["512"]


# --- extend ---------------------------------------------------------------------------------------


def test_nm6_extend_counts_from_today_and_audits_the_actor_verbatim(admin_env):
    admin_env.add("gov.one", "non-mis", non_mis(expiry=TODAY + timedelta(days=10)))
    code, out, err = admin_env.run("extend", "gov.one", "--duration", "6m", "--by", "admin.test (LA)")
    assert code == 0, err
    assert f"expiry extended by 6m from today: {TODAY + timedelta(days=10)} -> 2027-05-16 [NM-6]" in out
    account = admin_env.account("gov.one")
    assert account.expiry_date == date(2027, 5, 16) and account.duration.value == "6m"
    record = admin_env.audit()[-1]
    assert (record["event"], record["rule"], record["actor"]) == ("account_extended", "NM-6",
                                                                   "admin.test (LA)")
    assert record["before"]["expiry_date"] == "2026-11-26" and record["after"]["expiry_date"] == "2027-05-16"


def test_nm6_extend_refuses_to_shorten_without_the_flag(admin_env):
    admin_env.add("gov.two", "non-mis", non_mis(expiry=date(2027, 6, 1)))
    code, _, err = admin_env.run("extend", "gov.two", "--duration", "1m", "--by", "a")
    assert code == 3
    assert ("refused (NM-6): a 1m extension from today ends on 2026-12-16, before the current expiry"
            " date 2027-06-01") in err and "--allow-shorten" in err
    assert admin_env.account("gov.two").expiry_date == date(2027, 6, 1)
    code, out, _ = admin_env.run("extend", "gov.two", "--duration", "1m", "--by", "a", "--allow-shorten")
    assert code == 0 and "expiry shortened" in out
    assert admin_env.account("gov.two").expiry_date == date(2026, 12, 16)


def test_nm6_extend_is_only_for_non_mis_accounts(admin_env):
    admin_env.add("staff.two", "staff", mis("staff", mis_id="STF2"))
    code, _, err = admin_env.run("extend", "staff.two", "--duration", "1m", "--by", "a")
    assert code == 3 and "only non-MIS accounts have an expiry date" in err


def test_extend_an_unknown_uid_is_bad_usage_and_values_are_escaped(admin_env):
    code, _, err = admin_env.run("extend", "*)(uid=*", "--duration", "1m", "--by", "a")
    assert code == 2 and "no account with uid '*)(uid=*'" in err


def test_extend_needs_a_duration(admin_env):
    code, _, err = admin_env.run("extend", "gov.x", "--by", "a")
    assert code == 2 and "--duration" in err


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_nm9_extend_from_file_extends_each_row_and_reports_refusals(admin_env, tmp_path):
    admin_env.add("gov.a", "non-mis", non_mis(expiry=TODAY + timedelta(days=5)))
    admin_env.add("gov.b", "non-mis", non_mis(expiry=TODAY + timedelta(days=5)))
    admin_env.add("gov.c", "non-mis", non_mis(expiry=date(2027, 7, 1)))
    path = _write(tmp_path / "ext.csv", "# annual review\nuid,duration,name\ngov.a,eoy,A\ngov.b,,B\n"
                                        "gov.c,1m,C\n")
    code, out, err = admin_env.run("extend", "--from-file", path, "--duration", "6m", "--by", "reviewer")
    assert code == 1, err  # a row failed: the run failed, with a result for every row
    assert "3 rows: 2 extended, 0 unchanged, 1 refused, 0 error" in out
    assert admin_env.account("gov.a").expiry_date == date(2027, 8, 31)
    assert admin_env.account("gov.b").expiry_date == date(2027, 5, 16)
    assert admin_env.account("gov.c").expiry_date == date(2027, 7, 1)
    rows = admin_env.run_json("extend", "--from-file", path, "--duration", "6m", "--by", "reviewer",
                              expect=1)
    assert [(row["uid"], row["outcome"]) for row in rows] == [("gov.a", "unchanged"), ("gov.b", "unchanged"),
                                                               ("gov.c", "refused")]


def test_nm9_extend_from_file_exits_1_when_a_row_is_in_error_with_a_result_per_row(admin_env, tmp_path):
    admin_env.add("gov.g", "non-mis", non_mis(expiry=TODAY + timedelta(days=5)))
    path = _write(tmp_path / "ext.csv", "uid,duration\nno.such.uid,3m\ngov.g,3m\n")
    rows = admin_env.run_json("extend", "--from-file", path, "--by", "reviewer", expect=1)
    assert [(row["line"], row["uid"], row["outcome"]) for row in rows] == [
        (2, "no.such.uid", "error"), (3, "gov.g", "extended")]
    assert rows[0]["detail"]
    code, out, _ = admin_env.run("extend", "--from-file", path, "--by", "reviewer")
    assert code == 1 and "2 rows: 0 extended, 1 unchanged, 0 refused, 1 error" in out
    assert admin_env.account("gov.g").expiry_date == date(2027, 2, 16)
    path = _write(tmp_path / "ok.csv", "uid,duration\ngov.g,3m\n")
    assert admin_env.run("extend", "--from-file", path, "--by", "reviewer")[0] == 0


def test_nm9_extend_from_a_bad_file_changes_nothing(admin_env, tmp_path):
    admin_env.add("gov.d", "non-mis", non_mis(expiry=TODAY + timedelta(days=5)))
    path = _write(tmp_path / "bad.csv", "uid,duration\ngov.d,1m\ngov.e,2y\n,3m\ngov.f,\n")
    code, _, err = admin_env.run("extend", "--from-file", path, "--by", "reviewer")
    assert code == 2
    assert "row 3 (gov.e): duration '2y' is not one of 1m, 3m, 6m, eoy" in err
    assert "row 4: no uid" in err and "row 5 (gov.f): no duration" in err
    assert admin_env.account("gov.d").expiry_date == TODAY + timedelta(days=5)


def test_nm9_review_csv_feeds_extend_from_file(admin_env, tmp_path):
    admin_env.add("gov.r1", "non-mis", non_mis(expiry=date(2027, 8, 31), duration="eoy",
                                               sponsor="head.review"))
    admin_env.add("gov.r2", "non-mis", non_mis(expiry=date(2027, 9, 30), sponsor="head.review"))
    admin_env.add("gov.other", "non-mis", non_mis(expiry=date(2027, 8, 31), sponsor="someone.else"))
    code, out, _ = admin_env.run("review", "--sponsor", "head.review", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["uid"] for row in rows] == ["gov.r1", "gov.r2"]
    assert [row["ends_by_year_end"] for row in rows] == ["Y", "N"]
    assert [row["duration"] for row in rows] == ["eoy", "3m"]
    # The reviewer keeps both rows and chooses a duration for each.
    rows[0]["duration"], rows[1]["duration"] = "6m", "1m"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = _write(tmp_path / "review.csv", buffer.getvalue())
    admin_env.now = admin_env.now + timedelta(days=277)  # 2027-08-20: the annual review
    code, out, err = admin_env.run("extend", "--from-file", path, "--by", "head.review")
    assert code == 1, err  # gov.r2's 1m would end on 2027-09-20, before 2027-09-30: refused (NM-6)
    assert "2 rows: 1 extended, 0 unchanged, 1 refused, 0 error" in out
    assert admin_env.account("gov.r1").expiry_date == date(2028, 2, 20)
    assert admin_env.account("gov.r2").expiry_date == date(2027, 9, 30)
