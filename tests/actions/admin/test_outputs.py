"""Outputs that leave the agent (issue 11, item 6): CSV exports safe to open in a spreadsheet
(and still read back by `extend --from-file`), private files whatever the umask, a warning for a
password file others can read."""

from __future__ import annotations

import csv
import io
import os
import stat
from datetime import date

import pytest

from agent.actions.extension_file import read_extension_file
from agent.cli.views import csv_safe, to_csv
from agent.directory.private_files import open_private, readable_by_others, replace_private
from agent.settings import config as config_module
from tests.actions.admin.conftest import non_mis

FORMULAS = ["=HYPERLINK(\"http://x.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(text):
    assert csv_safe(text) == "'" + text
    [row] = list(csv.DictReader(io.StringIO(to_csv([{"name": text}], ["name"]), newline="")))
    assert row["name"] == "'" + text


@pytest.mark.parametrize("value", ["Ann Jones", "ann=jones", "", 56, -3, "2027-08-31", None])
def test_csv_cells_that_are_plain_text_or_numbers_are_left_alone(value):
    assert csv_safe(value) == value


def test_list_expiring_and_review_csv_neutralise_formula_injection(admin_env):
    admin_env.add("gov.formula", "non-mis", non_mis(
        expiry=admin_env.now.date(), sponsor="@sponsor", given_name="=cmd|' /C calc'!A0",
        surname="+Evil", mail="-x@test.example"))
    for command in (["list", "--csv"], ["expiring", "--csv"], ["review", "--csv"]):
        code, out, err = admin_env.run(*command)
        assert code == 0, err
        [row] = [row for row in csv.DictReader(io.StringIO(out)) if row["uid"] == "gov.formula"]
        assert row["name"] == "'=cmd|' /C calc'!A0 +Evil", command
        assert (row["mail"], row["sponsor"]) == ("'-x@test.example", "'@sponsor"), command
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (command, cell)


def test_review_csv_with_quoted_cells_still_feeds_extend_from_file(admin_env, tmp_path):
    admin_env.add("gov.quoted", "non-mis", non_mis(expiry=date(2026, 12, 1), sponsor="-head",
                                                   given_name="@Ann", surname="=Jones"))
    code, out, _ = admin_env.run("review", "--sponsor=-head", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["uid"] for row in rows] == ["gov.quoted"] and rows[0]["sponsor"] == "'-head"
    rows[0]["duration"] = "6m"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "review.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    code, out, err = admin_env.run("extend", "--from-file", str(path), "--by", "head")
    assert code == 0, err
    assert "1 extended" in out
    assert admin_env.account("gov.quoted").expiry_date == date(2027, 5, 16)


def test_extension_file_reads_a_quoted_cell_as_its_value(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_text("uid,duration\n'@odd.uid,'-\n'plain,6m\n", encoding="utf-8")
    with pytest.raises(Exception, match="'-'"):  # the quote is gone: "-" is no duration
        read_extension_file(path)
    path.write_text("uid,duration\n'@odd.uid,6m\n'plain,6m\n", encoding="utf-8")
    assert [line.uid for line in read_extension_file(path)] == ["@odd.uid", "'plain"]


# --- Private files ---------------------------------------------------------------------------


@pytest.fixture(params=[0o022, 0o000, 0o277])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mode", ["a", "w", "x", "ab", "w+"])
def test_open_private_creates_0600_whatever_the_umask(tmp_path, umask, mode):
    path = tmp_path / "audit.jsonl"
    with open_private(path, mode) as stream:
        stream.write(b"{}\n" if "b" in mode else "{}\n")
    assert _mode(path) == 0o600
    with open_private(path, "a") as stream:  # appending again: still the same file, still 0600
        stream.write("{}\n")
    assert path.read_text() == ("{}\n{}\n")
    assert not readable_by_others(path)


def test_open_private_keeps_the_mode_an_operator_gave_an_existing_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    os.chmod(path, 0o640)
    with open_private(path, "a") as stream:
        stream.write("x\n")
    assert _mode(path) == 0o640


def test_replace_private_is_atomic_and_0600(tmp_path, umask):
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), replace_private(path) as stream:
        stream.write("half")
        raise RuntimeError("crash")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with replace_private(path) as stream:
        stream.write("new")
    assert path.read_text() == "new" and _mode(path) == 0o600


def test_embedded_state_file_is_0600_after_a_command(admin_env):
    old = os.umask(0o022)
    try:
        admin_env.add("gov.state", "non-mis", non_mis())
    finally:
        os.umask(old)
    state = admin_env.config.directory.state_file
    assert state is not None and _mode(state) == 0o600


# --- Password file readable by others: a warning -----------------------------------------------


@pytest.mark.parametrize(("mode", "warned"), [(0o600, None), (0o400, None), (0o640, "its group"),
                                              (0o604, "others"), (0o644, "its group and others")])
def test_password_file_readable_by_group_or_others_is_a_warning(tmp_path, mode, warned):
    secret = tmp_path / "bind-password"
    secret.write_text("s3cret\n")
    os.chmod(secret, mode)
    config = config_module.parse({  # loads: a warning is no error
        "local_authority": {"code": "681", "name": "Test"},
        "directory": {"url": "ldaps://ldap.example.org", "base_dn": "ou=people,dc=test,dc=example",
                      "bind_dn": "cn=agent,dc=test,dc=example", "password_file": str(secret)},
    }, "test", tmp_path)
    assert config.directory.password is not None and config.directory.password.reveal() == "s3cret"
    if warned is None:
        assert config.directory.warnings == ()
    else:
        [warning] = config.directory.warnings
        assert warning.startswith("at 'directory.password_file': ") and f"readable by {warned}" in warning
        assert f"{mode:04o}" in warning and "chmod 600" in warning
