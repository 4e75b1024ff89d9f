"""Gateway details on the mock server: conditional state writes, one modify per change, check-config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.actions.session import open_directory
from agent.cli import main
from agent.core import changes
from agent.core.errors import DirectoryWriteError
from agent.core.model import Reason
from tests.builders import load_config, non_mis, write_config
from tests.directory.populate import write_state

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_active_directory_state_write_fails_cleanly_when_another_tool_changed_it(tmp_path):
    # C-4: userAccountControl is written as "delete the value read, add the new one", so a
    # concurrent change makes the write fail instead of silently overwriting other flags.
    config = load_config(tmp_path, flavour="active-directory")
    write_state(config, [non_mis(dn="uid=n1,ou=people,dc=test,dc=example", uid="n1")])
    with open_directory(config) as directory:
        (account,) = directory.find("uid", "n1")
        directory.modify(account.dn, [("userAccountControl", "replace", ("66048",))])  # someone else
        with pytest.raises(DirectoryWriteError, match="refused"):
            directory.write_change(account, changes.disable(Reason.EXPIRED, NOW))
    # That nothing of the failed modify is applied is the server's atomicity, which the mock
    # lacks (it applies the operations before the failing one): proven on Samba AD instead.


def test_one_change_is_one_modify_with_state_reason_and_time(tmp_path):
    config = load_config(tmp_path)
    write_state(config, [non_mis(dn="uid=n1,ou=people,dc=test,dc=example", uid="n1")])
    with open_directory(config) as directory:
        (account,) = directory.find("uid", "n1")
        before = directory.counts.modifies
        directory.write_change(account, changes.disable(Reason.INACTIVE, NOW))
        assert directory.counts.modifies == before + 1
        (disabled,) = directory.find("uid", "n1")
    assert (disabled.enabled, disabled.disabled_reason, disabled.disabled_at) == (False, Reason.INACTIVE, NOW)
    assert disabled.state_token == "000001010000Z"


def test_check_config_connects_and_reports_success_on_the_embedded_directory(tmp_path, capsys):
    assert main(["--config", str(write_config(tmp_path)), "check-config"]) == 0
    output = capsys.readouterr().out
    assert "valid" in output and "bound as cn=agent" in output and "everything the agent needs" in output


def test_active_directory_inactivity_is_confirmed_with_the_unreplicated_last_logon(tmp_path):
    # lastLogonTimestamp says 120 days idle; a DC's lastLogon says 3 days ago: no NM-4 disable.
    from datetime import timedelta

    from agent.actions.sweep import plan
    from agent.directory.codecs import format_filetime

    config = load_config(tmp_path, flavour="active-directory")
    stale = non_mis(
        dn="uid=n1,ou=people,dc=test,dc=example",
        uid="n1",
        last_sign_in=NOW - timedelta(days=120),
        created_at=NOW - timedelta(days=400),
    )
    idle = non_mis(
        dn="uid=n2,ou=people,dc=test,dc=example",
        uid="n2",
        last_sign_in=NOW - timedelta(days=120),
        created_at=NOW - timedelta(days=400),
    )
    write_state(config, [stale, idle])
    with open_directory(config) as directory:
        directory.modify(stale.dn, [("lastLogon", "replace", (format_filetime(NOW - timedelta(days=3)),))])
        decided = {
            p.account.uid: (p.decision.action.value, p.decision.rule) for p in plan(directory, config, NOW)
        }
    assert decided["n1"] == ("none", "NM-1")
    assert decided["n2"] == ("disable", "NM-4")
