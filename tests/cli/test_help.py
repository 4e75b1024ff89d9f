"""Every `--help` has a description citing what it does and examples that keep their lines."""

from __future__ import annotations

import argparse

import pytest

from agent.cli import main
from agent.cli.parser import build_parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_a_description_and_an_example():
    commands = subcommands(build_parser())
    assert {"sweep", "list", "show", "extend", "rules"} <= set(commands)
    for name, subparser in commands.items():
        assert subparser.description and subparser.description.strip(), name
        assert subparser.epilog and "hwb-agent" in subparser.epilog, name
        assert f" {name}" in subparser.epilog, name
        assert subparser.formatter_class is argparse.RawDescriptionHelpFormatter, name


@pytest.mark.parametrize("command", ["extend", "sweep"])
def test_help_prints_the_examples_one_a_line(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)[1].splitlines()
    assert examples and all(line.startswith("  hwb-agent ") for line in examples if line)
