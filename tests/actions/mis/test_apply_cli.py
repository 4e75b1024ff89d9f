"""`hwb-agent import-mis` in-process, on the mock and on slapd: readable and JSON output, exit
codes (0 done, 1 a write refused, 2 a broken package before any write, 4 the guard held
something), --dry-run, --confirm-mass-change and --feed-date."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main, system_clock
from tests.actions.mis.apply_targets import DAY1, DAY2, Target, at
from tests.actions.mis.support import SAMPLES

CLOCK = {"now": None}


def run(target: Target, capsys, *arguments: str) -> tuple[int, str, str]:
    clock = (lambda: CLOCK["now"]) if CLOCK["now"] is not None else system_clock
    code = main(["--config", str(target.config_path), "import-mis", *arguments], clock=clock)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def on_day():
    def set_day(day):
        CLOCK["now"] = at(day)

    yield set_day
    CLOCK["now"] = None


def test_day1_then_day2_readable_output_and_exit_codes(target: Target, capsys, on_day) -> None:
    on_day(DAY1)
    code, out, err = run(target, capsys, str(SAMPLES / "day1"))
    assert code == 0 and err == ""
    assert "MIS import of" in out and "(bulk users)" in out and ": applied" in out
    assert "create  MIS-1 ajones         [users.csv row 2]" in out
    assert "rejected: users.csv row 8: invalid UPN in identifier: 'B681200119099'" in out
    assert "27 changes applied, 0 re-enabled, 0 failed; 28 adds, 0 modifies" in out

    on_day(DAY2)
    code, out, err = run(target, capsys, str(SAMPLES / "day2"))
    assert code == 4
    assert "move    MIS-3 sdavies" in out and "leaver  MIS-2 dwilliams" in out
    assert "HELD leaver  MIS-2 cbowen" in out
    assert "6 changes applied" in out
    assert "mass-change guard (C-8) held 8 actions for school 6812150" in err
    assert "--confirm-mass-change" in err


def test_json_output_and_re_import_writes_nothing(target: Target, capsys, on_day) -> None:
    on_day(DAY1)
    code, out, _ = run(target, capsys, str(SAMPLES / "day1"), "--json")
    report = json.loads(out)
    assert code == 0
    assert {"feed", "today", "dry_run", "actions", "held", "guard", "row_errors", "problems", "counts",
            "applied", "enabled", "flags", "errors", "operations"} <= set(report)
    assert report["counts"]["create"] == 27 and len(report["applied"]) == 27
    assert report["row_errors"][0] == {"file": "users.csv", "row": 8, "kind": "invalid-upn",
                                       "reason": report["row_errors"][0]["reason"]}
    server_before = target.server_writes()
    code, out, _ = run(target, capsys, str(SAMPLES / "day1"), "--json")
    again = json.loads(out)
    assert code == 0 and again["actions"] == [] and again["operations"]["writes"] == 0
    if server_before is not None:
        assert target.server_writes() == server_before


def test_dry_run_shows_the_plan_and_writes_nothing(target: Target, capsys, on_day) -> None:
    on_day(DAY1)
    server_before = target.server_writes()
    code, out, _ = run(target, capsys, str(SAMPLES / "day1"), "--dry-run")
    assert code == 0 and "dry run (nothing changed)" in out and "create 27" in out
    assert target.accounts() == {}
    if server_before is not None:
        assert target.server_writes() == server_before


def test_confirmed_mass_change_applies_the_held_school(target: Target, capsys, on_day) -> None:
    on_day(DAY1)
    run(target, capsys, str(SAMPLES / "day1"))
    on_day(DAY2)
    code, out, err = run(target, capsys, str(SAMPLES / "day2"), "--confirm-mass-change", "--json")
    report = json.loads(out)
    assert code == 0 and err == "" and report["held"] == [] and report["guard"]["confirmed"]
    assert report["counts"]["leaver"] == 9
    code, out, _ = run(target, capsys, str(SAMPLES / "day2"), "--json")
    assert code == 0 and json.loads(out)["operations"]["writes"] == 0


def test_feed_date_sets_the_leaving_date_of_people_missing_from_a_bulk_file(
    target: Target, capsys, on_day
) -> None:
    on_day(DAY1)
    run(target, capsys, str(SAMPLES / "day1"))
    on_day(DAY2)
    code, out, _ = run(target, capsys, str(SAMPLES / "day2"), "--dry-run", "--json",
                       "--feed-date", "2026-11-29")
    report = json.loads(out)
    assert code == 4 and report["feed"]["feed_date"] == "2026-11-29"
    assert report["feed"]["feed_date_source"] == "command line"
    assert {held["changes"][0]["after"] for held in report["held"]} == {"2026-11-29"}


@pytest.mark.parametrize(
    ("broken", "file"),
    [
        ({"manifest.csv": "propertyName,value\nfile.orgs,bulk\nfile.users,sometimes\n"}, "manifest.csv"),
        ({"manifest.csv": None}, "manifest.csv"),
        ({"users.csv": None}, "users.csv"),
    ],
    ids=["broken-manifest", "no-manifest", "no-users"],
)
def test_a_broken_package_exits_2_before_any_write(target: Target, capsys, on_day, tmp_path: Path,
                                                   broken: dict, file: str) -> None:
    on_day(DAY2)
    package = Path(shutil.copytree(SAMPLES / "day1", tmp_path / "broken"))
    for name, text in broken.items():
        if text is None:
            (package / name).unlink()
        else:
            (package / name).write_text(text, encoding="utf-8")
    state = target.config.directory.state_file
    state_before = state.read_bytes() if state is not None else None
    server_before = target.server_writes()

    code, out, err = run(target, capsys, str(package))

    assert code == 2 and out == ""
    assert f"import-mis {package}: {file}:" in err and "(nothing was written)" in err
    assert target.accounts() == {}
    if state is not None:
        assert state.read_bytes() == state_before
    if server_before is not None:
        assert target.server_writes() == server_before
    assert not target.config.logging.audit_file.exists()


def test_a_refused_write_is_reported_exit_1_and_the_rest_applied(
    target: Target, capsys, on_day, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.core.errors import DirectoryWriteError
    from agent.directory.gateway import Directory

    add = Directory.add

    def refuse_one(self, dn, object_classes, attributes):
        if dn.startswith("uid=mobrien,"):
            raise DirectoryWriteError(f"add {dn!r} refused: insufficientAccessRights (test)")
        return add(self, dn, object_classes, attributes)

    monkeypatch.setattr(Directory, "add", refuse_one)
    on_day(DAY1)
    code, out, err = run(target, capsys, str(SAMPLES / "day1"))
    assert code == 1 and "1 writes refused" in err
    assert "FAILED  create mobrien [users.csv row 10]: add 'uid=mobrien," in out
    assert "26 changes applied, 0 re-enabled, 1 failed" in out
    assert len(target.accounts()) == 26


def test_the_example_configuration_documents_the_mis_defaults(monkeypatch, tmp_path: Path) -> None:
    from agent.core.mis.settings import MisSettings
    from agent.settings import config as config_module

    (tmp_path / "bind-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    example = config_module.load(SAMPLES.parents[2] / "config" / "example-la.yaml")
    assert example.mis == MisSettings()


def test_a_zip_package_imports_like_its_folder(target: Target, capsys, on_day, copy_sample, zip_of) -> None:
    on_day(DAY1)
    code, out, _ = run(target, capsys, str(zip_of(copy_sample("day1"))), "--json")
    assert code == 0 and len(json.loads(out)["applied"]) == 27
    code, out, _ = run(target, capsys, str(SAMPLES / "day1"), "--json")
    assert code == 0 and json.loads(out)["operations"]["writes"] == 0
