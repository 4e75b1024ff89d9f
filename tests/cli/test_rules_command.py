"""`hwb-agent rules [ID]`: the policy's rules in words, without a configuration."""

from __future__ import annotations

from agent.cli import main
from agent.core.rules import RULES


def test_rules_prints_every_rule_id_without_a_configuration(capsys, monkeypatch):
    monkeypatch.delenv("HWB_AGENT_CONFIG", raising=False)
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for rule in RULES:
        assert f"{rule.id} {rule.title}" in out


def test_rules_id_prints_one_rule_and_an_unknown_id_suggests_the_closest(capsys):
    assert main(["rules", "nm-4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NM-4 ") and "90 days" in out and "NM-3" not in out
    assert main(["rules", "NM4"]) == 2
    assert "NM-4" in capsys.readouterr().err


def test_version_prints_the_installed_version(capsys):
    import agent

    try:
        main(["--version"])
    except SystemExit as done:
        assert done.code == 0
    assert capsys.readouterr().out.strip() == f"hwb-agent {agent.__version__}"
    assert agent.__version__ != "0.0.0+unknown"
