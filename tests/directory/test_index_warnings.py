"""check-config warns (exit 0) when the sweep's candidate search is not served by an index.

On a private slapd with the guide's indexes (deploy/openldap/indexes.ldif): no warning. With the
agent allowed to read cn=config and one index removed: a warning naming that attribute and the
LDIF. Without that right the timed probe runs; on a small directory it cannot tell, so it stays
quiet rather than cry wolf.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.actions.check import check_directory
from agent.cli.main import main
from agent.directory.inspect import filter_index_needs
from agent.settings import config as config_module
from tests.servers import slapd
from tests.service.agent_process import slapd_config

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def private_slapd():
    if not slapd.slapd_binary():
        pytest.skip("slapd not installed")
    server = slapd.start_slapd()
    try:
        yield server
    finally:
        server.destroy()


def agent_config(tmp_path, server, monkeypatch):
    monkeypatch.setenv("HWB_TEST_AGENT_PASSWORD", server.agent_password)
    return slapd_config(tmp_path / "config.yaml", server, audit=tmp_path / "audit.jsonl")


def test_the_filter_terms_are_read_with_the_index_each_needs():
    needs = filter_index_needs("(&(hwbCategory=*)(|(&(hwbCategory=mis)(!(createTimestamp>=2026Z)))"
                               "(mail=a\\28b\\29@x)(cn=*smith*)))")
    assert needs == {"hwbCategory": {"pres": "*", "eq": "mis"}, "createTimestamp": {"eq": "2026Z"},
                     "mail": {"eq": "a\\28b\\29@x"}, "cn": {"sub": "*smith*"}}


def test_no_warning_without_cn_config_access_on_a_small_directory(private_slapd, tmp_path, monkeypatch):
    checked = check_directory(config_module.load(agent_config(tmp_path, private_slapd, monkeypatch)), NOW)
    assert checked.gaps == [] and checked.warnings == []


def test_olcdbindex_read_from_cn_config_no_warning_then_one_naming_a_removed_index(
        private_slapd, tmp_path, monkeypatch, capsys):
    config_path = agent_config(tmp_path, private_slapd, monkeypatch)
    # What an identity team may grant so check-config can read the indexes: read on cn=config.
    private_slapd.ldapi_config(
        "dn: olcDatabase={0}config,cn=config\nchangetype: modify\nadd: olcAccess\n"
        f'olcAccess: {{1}}to * by dn.exact="{private_slapd.agent_dn}" read\n')
    checked = check_directory(config_module.load(config_path), NOW)
    assert checked.gaps == [] and checked.warnings == []

    private_slapd.ldapi_config(
        "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcDbIndex\n"
        "olcDbIndex: createTimestamp eq\n-\ndelete: olcDbIndex\nolcDbIndex: hwbExpiryDate eq\n")
    checked = check_directory(config_module.load(config_path), NOW)
    assert checked.gaps == []
    [warning] = checked.warnings
    assert "createTimestamp, hwbExpiryDate" in warning and "olcDbIndex" in warning
    assert "deploy/openldap/indexes.ldif" in warning

    capsys.readouterr()
    assert main(["--config", str(config_path), "check-config"]) == 0  # a warning, not a failure
    out = capsys.readouterr().out
    assert "WARNING: the sweep's candidate search is not served by an index on createTimestamp" in out
    assert "MISSING" not in out
