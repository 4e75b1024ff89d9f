"""The administrator operations on a real OpenLDAP slapd (schema, ACLs and matching rules decide).

Uses the session's `slapd_server` fixture (tests/conftest.py, tests/servers/);
skipped where that fixture or slapd itself is not available.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.actions import create, requests
from agent.actions.audit import AuditTrail
from agent.actions.session import open_directory
from agent.core import changes
from agent.core.errors import PolicyRefusal
from agent.core.model import Duration, NonMisType, Reason, Role
from agent.core.operations import NewAccount
from agent.settings import config as config_module

pytestmark = pytest.mark.slapd


@pytest.fixture
def slapd(request, monkeypatch):
    try:
        server = request.getfixturevalue("slapd_server")
    except pytest.FixtureLookupError:
        pytest.skip("no slapd_server fixture in this tree (tests/servers/)")
    ou = f"ou=admin-{request.node.name[-20:].replace('[', '').replace(']', '')},{server.base_dn}"
    server.add_ldif(f"dn: {ou}\nobjectClass: organizationalUnit\nou: {ou.split(',')[0][3:]}\n")
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", server.agent_password)
    config = config_module.parse({
        "local_authority": {"code": "681", "name": "slapd"},
        "directory": {"url": server.url, "base_dn": server.base_dn, "bind_dn": server.agent_dn,
                      "password_env": "HWB_TEST_AGENT_PASSWORD", "flavour": "openldap"},
        "accounts": {"ou": ou.split(",")[0]},
    }, "slapd-test")
    yield config
    server.delete_subtree(ou)


def test_create_request_refusal_and_activation_on_slapd(slapd):
    config, audit, now = slapd, AuditTrail(None), datetime.now(UTC)
    new = NewAccount(NonMisType.GOVERNOR, "Siân", "Ap Rhys", "sian.slapd@example.org", "admin",
                     Duration.ONE_MONTH)
    with open_directory(config) as directory:
        first = create.create_account(directory, config, audit, now, new)
        with pytest.raises(PolicyRefusal, match="NM-1.*likely duplicate"):
            create.create_account(directory, config, audit, now, new)
        second = create.create_account(directory, config, audit, now, new, allow_duplicate=True)
        assert second.uid == first.uid + "2"  # the uid scheme's collision handling
        account = directory.find("uid", first.uid)[0]
        assert account.enabled and not account.problems and account.created_at is not None
        with pytest.raises(PolicyRefusal, match="NM-2"):
            create.create_account(directory, config, audit, now,
                                 NewAccount(NonMisType.GOVERNOR, "L", "P", "l@example.org", "admin",
                                            Duration.ONE_MONTH, role=Role.LEARNER))
        # Expired and disabled, then a portal asks without a duration: refused, cleared, recorded.
        directory.write_change(account, changes.disable(Reason.EXPIRED, now))
        directory.modify(account.dn, directory.mapper.lifecycle_operations({
            "expiry_date": (now - timedelta(days=3)).date(), "activation_requested_at": now,
            "activation_requested_by": "portal:x"}))
        summary = requests.honour_activation_requests(directory, config, audit, now)
        assert summary.counts["refused"] == 1
        [(_, raw)] = list(directory.search(f"(uid={first.uid})", ["hwbActivationRefusal",
                                                                  "hwbActivationRequestedAt"]))
        assert "hwbActivationRequestedAt" not in raw and b"NM-5" in raw["hwbActivationRefusal"][0]
        # Visible: read into the snapshot (show) and listed as refused with no new request (requests).
        refused = [a for a in requests.refused_requests(directory) if a.uid == first.uid]
        assert len(refused) == 1 and refused[0].activation_refusal is not None
        assert requests.refusal_row(refused[0])["rule"] == "NM-5"
        assert " NM-5: " in directory.find("uid", first.uid)[0].activation_refusal
        # With a duration: enabled, extended, request and refusal cleared, in one modify.
        directory.modify(account.dn, directory.mapper.lifecycle_operations({
            "activation_requested_at": now, "activation_requested_by": "portal:x",
            "activation_duration": "3m"}))
        writes = directory.counts.writes
        summary = requests.honour_activation_requests(directory, config, audit, now)
        assert summary.counts["activated"] == 1 and directory.counts.writes == writes + 1
        account = directory.find("uid", first.uid)[0]
        assert account.enabled and account.activation_request is None
        assert account.reactivated_by == "portal:x"
        [(_, raw)] = list(directory.search(f"(uid={first.uid})", ["hwbActivationRefusal"]))
        assert raw == {} or "hwbActivationRefusal" not in raw
        assert first.uid not in [a.uid for a in requests.refused_requests(directory)]
        searches = directory.counts.searches
        assert requests.honour_activation_requests(directory, config, audit, now).found == 0
        assert directory.counts.searches == searches + 1
