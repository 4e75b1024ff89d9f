"""The sending authority's side of a transfer (issue 15), on the embedded directory: an entry that
left its DN since the sweep read it (another authority took it in) is a clean skip, logged, never
an error; a purge never runs its content hooks for it, never deletes anything, and every write-ahead
intent still gets its one outcome (C-6)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from agent.actions import sweep as sweep_module
from agent.actions.audit import AuditTrail
from agent.actions.purge import Vanished, purge
from agent.actions.session import open_directory
from agent.actions.sweep import Planned, sweep
from agent.actions.writeahead import unsettled_intents
from agent.core.errors import DirectoryWriteError
from agent.core.model import Action, Reason
from agent.core.policy import Decision
from agent.settings import config as config_module
from tests.builders import learner, left, noon, write_config
from tests.directory.populate import write_state

TODAY = date(2026, 11, 30)


def setup(tmp_path, marker=None):
    hooks = {"purge": {"content_hooks": [["sh", "-c", f"echo $HWB_UID >> {marker}"]]}} if marker else {}
    path = write_config(tmp_path, hooks)
    config = config_module.load(path)
    base = config.directory.base_dn
    here = learner(uid="ajones", dn=f"uid=ajones,{base}", mis_id="K681200119001",
                   leaving_date=date(2025, 9, 1), **left(date(2025, 9, 2)))
    write_state(config, [here])
    return config, here


def outcomes(config) -> list[dict]:
    lines = config.logging.audit_file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if '"phase": "intent"' not in line]


def test_a_purge_of_an_account_that_moved_away_skips_the_content_hooks_and_deletes_nothing(tmp_path) -> None:
    marker = tmp_path / "hooks-ran"
    config, here = setup(tmp_path, marker)
    gone = replace(here, dn=f"uid=moved,{config.directory.base_dn}", uid="moved")
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        result = purge(directory, config, audit, gone, Decision(Action.PURGE, "MIS-5", "12 months"),
                       noon(TODAY))
        assert directory.read(here.dn) is not None  # the other account is untouched
    audit.close()
    assert result == Vanished(gone.dn)
    assert not marker.exists()  # no content deleted for an account that lives on elsewhere


def test_a_purge_whose_entry_vanishes_at_the_delete_is_a_skip_with_its_intent_settled(
        tmp_path, monkeypatch) -> None:
    config, here = setup(tmp_path)
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        def moved_meanwhile(dn: str) -> int:
            raise DirectoryWriteError(f"delete {dn!r} refused: no such object", 32)

        monkeypatch.setattr(directory, "delete_subtree", moved_meanwhile)
        result = purge(directory, config, audit, here, Decision(Action.PURGE, "MIS-5", "12 months"),
                       noon(TODAY))
    audit.close()
    assert isinstance(result, Vanished)
    [record] = outcomes(config)
    assert record["event"] == "change_not_applied" and "skipped" in record["detail"]
    assert unsettled_intents(config.logging.audit_file) == []


def test_a_sweep_disable_of_an_entry_that_left_its_dn_is_a_clean_skip_not_an_error(
        tmp_path, monkeypatch) -> None:
    config, here = setup(tmp_path)
    gone = replace(here, dn=f"uid=moved,{config.directory.base_dn}", uid="moved", enabled=True,
                   disabled_reason=None, disabled_at=None)

    def planned_then_moved(directory, config, now, *, full=False):
        yield Planned(gone, Decision(Action.DISABLE, "MIS-2", "leaving date reached", Reason.LEFT))

    monkeypatch.setattr(sweep_module, "plan", planned_then_moved)
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        report = sweep(directory, config, audit, noon(TODAY), confirm_mass_change=True)
    audit.close()
    assert report.errors == [] and report.actions == []
    [record] = outcomes(config)
    assert record["event"] == "change_not_applied" and record["dn"] == gone.dn
    assert "moved to another authority" in record["detail"]
    assert unsettled_intents(config.logging.audit_file) == []
