"""The sweep end to end on ldap3's mock server, for every directory flavour."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from agent.actions.audit import AuditTrail
from agent.actions.session import open_directory
from agent.actions.sweep import sweep
from agent.core.errors import ScopeError
from agent.core.model import Reason
from tests.builders import load_config

FLAVOURS = ["openldap", "active-directory", "389ds"]
NOW = datetime.now(UTC)

# What the first sweep of the demo directory must do, rule by rule (agent/demo.py).
EXPECTED_FIRST_SWEEP = {"MIS-2": 8, "MIS-3": 3, "MIS-5": 4, "NM-2": 2, "NM-3": 7, "NM-4": 2, "NM-7": 1}


def _sweep(config, tmp_path, **options):
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        report = sweep(directory, config, audit, NOW, **options)
    audit.close()
    return report


def _audit_records(config):
    # Outcomes only: write-ahead intent lines (issue 11) are not records of a change.
    records = [json.loads(line) for line in config.logging.audit_file.read_text().splitlines()]
    return [record for record in records if record.get("phase") != "intent"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_first_demo_sweep_applies_each_rule_to_the_right_accounts(tmp_path, flavour):
    config = load_config(tmp_path, flavour=flavour)
    report = _sweep(config, tmp_path)
    assert Counter(action.rule for action in report.actions) == EXPECTED_FIRST_SWEEP
    assert [flag.rule for flag in report.flags] == ["MIS-4", "MIS-4"]
    assert not report.guard.tripped
    # C-6: one audit record per change, with rule, actor, before and after.
    records = _audit_records(config)
    # The demo's pending portal request (C-1) is answered first, in the administrator's name.
    requests = [record for record in records if record["rule"] in ("C-1", "NM-5")]
    assert [(r["uid"], r["actor"]) for r in requests] == [
        (row.uid, row.requested_by) for row in report.requests
    ]
    records = [record for record in records if record not in requests]
    assert len(records) == len(report.actions)
    for record in records:
        assert record["actor"] == "agent" and record["rule"] in EXPECTED_FIRST_SWEEP
        assert record["before"] != record["after"]
    # The directory now says what the sweep did.
    with open_directory(config) as directory:
        for action in report.actions:
            found = directory.find("uid", action.uid)
            if action.action == "purge":
                assert found == []
            else:
                (account,) = found
                assert account.enabled is (action.action == "enable")
                if action.action == "disable":
                    assert account.disabled_reason is Reason(action.reason)
                    assert account.disabled_at is not None


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_c_5_a_second_sweep_over_an_unchanged_directory_writes_nothing(tmp_path, flavour):
    config = load_config(tmp_path, flavour=flavour)
    _sweep(config, tmp_path)
    second = _sweep(config, tmp_path)
    assert second.actions == [] and second.operations["writes"] == 0
    third = _sweep(config, tmp_path, full=True)
    assert third.actions == [] and third.operations["writes"] == 0


def test_c_7_full_sweep_reports_unreadable_entries_with_dn_attribute_and_value(tmp_path):
    config = load_config(tmp_path)
    report = _sweep(config, tmp_path, full=True, dry_run=True)
    errors = {(error.uid, error.attribute, error.value) for error in report.errors}
    assert ("malformed.date", "hwbLeavingDate", "31/07/2026") in errors
    assert ("malformed.type", "hwbNonMisType", "wizard") in errors
    assert all(error.dn.startswith("uid=malformed.") for error in report.errors)
    assert not [action for action in report.actions if action.uid.startswith("malformed.")]


def test_c_2_and_c_3_protected_and_out_of_scope_accounts_are_never_touched(tmp_path):
    config = load_config(tmp_path)
    report = _sweep(config, tmp_path, full=True)
    touched = {action.uid for action in report.actions}
    assert "hwb-breakglass" not in touched  # expired 400 days ago, but protected
    assert "other-la.governor" not in touched  # expired, but outside the base DN
    with open_directory(config) as directory:
        (breakglass,) = directory.find("uid", "hwb-breakglass")
        assert breakglass.enabled
        outside = list(directory.search("(uid=other-la.governor)", ["uid"], base="dc=test,dc=example"))
        assert len(outside) == 1
        with pytest.raises(ScopeError, match="outside the base DN"):
            directory.modify(outside[0][0], [("hwbDisabledReason", "replace", ("admin",))])


def test_dry_run_plans_the_same_changes_and_writes_nothing(tmp_path):
    config = load_config(tmp_path)
    planned = _sweep(config, tmp_path, dry_run=True)
    assert planned.operations["writes"] == 0
    applied = _sweep(config, tmp_path)
    assert [(a.uid, a.rule) for a in planned.actions] == [
        (a.uid, a.rule) for a in applied.actions
    ]


def test_c_8_guard_holds_every_disable_when_the_absolute_limit_is_exceeded(tmp_path):
    config = load_config(tmp_path, {"safety": {"max_disables": 3}})
    report = _sweep(config, tmp_path)
    assert report.guard.tripped
    assert report.guard.would["disable"] == sum(
        count for rule, count in EXPECTED_FIRST_SWEEP.items() if rule in ("MIS-2", "NM-2", "NM-3", "NM-4")
    )
    assert "C-8" in report.guard.message and "--confirm-mass-change" in report.guard.message
    assert not [a for a in report.actions if a.action == "disable"]
    assert {row.action for row in report.held} == {"disable"}
    # Purges (within limits) and enables still happen.
    assert Counter(a.action for a in report.actions) == {"purge": 5, "enable": 3}
    confirmed = _sweep(config, tmp_path, confirm_mass_change=True)
    assert not confirmed.guard.tripped
    assert Counter(a.action for a in confirmed.actions) == {"disable": 19}


def test_c_8_guard_trips_on_the_share_of_the_directory(tmp_path):
    config = load_config(tmp_path, {"safety": {"max_change_percent": 1}})
    report = _sweep(config, tmp_path)
    assert report.guard.tripped and {"disable", "purge"} == {row.action for row in report.held}
    assert report.guard.limit["accounts_in_scope"] > 250


def test_purge_runs_content_hooks_first_and_keeps_the_account_when_one_fails(tmp_path):
    marker = tmp_path / "purged.txt"
    hook = tmp_path / "hook.sh"
    hook.write_text(
        f'#!/bin/sh\necho "$HWB_UID $HWB_DN" >> {marker}\n'
        '[ "$HWB_UID" = "${FAIL_UID:-none}" ] && { echo "archive offline" >&2; exit 3; }\nexit 0\n'
    )
    hook.chmod(0o755)
    config = load_config(tmp_path, {"purge": {"content_hooks": [str(hook)]}})
    report = _sweep(config, tmp_path)
    purged = sorted(a.uid for a in report.actions if a.action == "purge")
    assert sorted(line.split()[0] for line in marker.read_text().splitlines()) == purged

    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\necho 'archive offline' >&2\nexit 3\n")
    failing.chmod(0o755)
    other = tmp_path / "other"
    other.mkdir()
    config = load_config(other, {"purge": {"content_hooks": [str(failing)]}})
    report = _sweep(config, other)
    assert not [a for a in report.actions if a.action == "purge"]
    failures = [e for e in report.errors if "archive offline" in e.detail]
    assert len(failures) == 5 and all("retried next sweep" in e.detail for e in failures)
    with open_directory(config) as directory:
        for failure in failures:
            (account,) = directory.find("uid", failure.uid)
            assert not account.enabled


def test_paged_reads_return_every_account_across_many_pages(tmp_path):
    config = load_config(tmp_path, {"directory": {"page_size": 7}})
    with open_directory(config) as directory:
        total = directory.count_accounts()
        listed = list(directory.accounts())
    state = json.loads(config.directory.state_file.read_text())
    expected = [
        e
        for e in state["entries"]
        if "hwbCategory" in e["attributes"] and e["dn"].lower().endswith(config.directory.base_dn.lower())
    ]
    assert total == len(listed) == len(expected) > 7 * 10


class _Uncountable:
    """A directory whose count must not be needed (or counts `total`)."""

    def __init__(self, total: int | None = None):
        self.total = total
        self.counted = 0

    def count_accounts(self, stop_at=None):
        assert self.total is not None, "the guard counted although the plan had read enough accounts"
        self.counted += 1
        return self.total if stop_at is None else min(self.total, stop_at)


def test_c_8_guard_counts_only_when_the_accounts_the_plan_read_cannot_settle_the_share(tmp_path):
    from agent.actions.guard import evaluate_guard as _guard
    from agent.core.model import Action

    config = load_config(tmp_path, {"safety": {"max_disables": 1000, "max_purges": 1000,
                                               "max_change_percent": 10}})
    wanted = Counter({Action.DISABLE: 30})
    # 300 accounts in scope already read: 30 is at most 10% of the true total, no count.
    guard = _guard(config, _Uncountable(), wanted, False, read=300)
    assert not guard.tripped and guard.limit["accounts_in_scope_at_least"] == 300
    # 200 read: not enough to tell; the count (stopping at 300) decides.
    small = _Uncountable(total=250)
    guard = _guard(config, small, wanted, False, read=200)
    assert small.counted == 1 and guard.tripped and guard.limit["accounts_in_scope"] == 250
    large = _Uncountable(total=10_000)
    guard = _guard(config, large, wanted, False, read=200)
    assert large.counted == 1 and not guard.tripped
