"""`completion bash|zsh` and `manpage`: generated from the parser, without a configuration."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agent.cli import main
from agent.cli.parser import build_parser
from agent.settings.config import ENV_CONFIG
from tests.cli.test_help import subcommands

COMMANDS = sorted(subcommands(build_parser()))


@pytest.fixture(autouse=True)
def no_configuration(monkeypatch):
    monkeypatch.delenv(ENV_CONFIG, raising=False)


def run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_bash_completion_mentions_every_subcommand_and_is_valid_bash(capsys, tmp_path):
    script = run(capsys, "completion", "bash")
    for name in COMMANDS:
        assert name in script, name
    assert "_shtab_compgen_files" in script  # --config, --from-file and import-mis PATH complete paths
    path = tmp_path / "hwb-agent.bash"
    path.write_text(script)
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    # Completing "hwb-agent serv" offers the service desk's command.
    script_line = (f"source {path}; COMP_WORDS=(hwb-agent serv); COMP_CWORD=1; COMP_LINE='hwb-agent serv';"
                   ' COMP_POINT=${#COMP_LINE}; _shtab_hwb_agent hwb-agent serv hwb-agent;'
                   ' echo "${COMPREPLY[@]}"')
    completed = subprocess.run(["bash", "-c", script_line], capture_output=True, text=True)
    assert completed.stdout.split() == ["service-desk-reactivate"], completed.stderr


def test_zsh_completion_mentions_every_subcommand(capsys):
    script = run(capsys, "completion", "zsh")
    assert script.startswith("#compdef hwb-agent")
    for name in COMMANDS:
        assert name in script, name
    if shutil.which("zsh"):
        checked = subprocess.run(["zsh", "-n"], input=script, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_manpage_is_roff_with_every_subcommand_and_its_examples(capsys):
    page = run(capsys, "manpage")
    assert page.startswith(".TH HWB\\-AGENT \"1\"")
    for name in COMMANDS:
        assert name.replace("-", "\\-") in page, name
    for section in (".SH SYNOPSIS", ".SH EXAMPLES", ".SH ENVIRONMENT", ".SH EXIT STATUS"):
        assert section in page
    assert "hwb\\-agent \\-\\-config config/demo.yaml show frees0238" in page
    if shutil.which("man"):
        shown = subprocess.run(["man", "-l", "-"], input=page, capture_output=True, text=True,
                               env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"})
        assert "service-desk-reactivate" in shown.stdout


def test_an_unknown_shell_is_bad_usage(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["completion", "fish"])
    assert exited.value.code == 2
