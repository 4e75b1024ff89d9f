"""`completion bash|zsh` and `manpage`: shell completion and a man page, generated from the parser.

Neither needs a configuration. shtab writes the completion scripts, argparse-manpage the roff page;
both are imported only when these commands run.
"""

from __future__ import annotations

import argparse
import copy
import importlib
from collections.abc import Iterator
from typing import Any

from agent import __version__
from agent.cli import help_text
from agent.cli.output import emit
from agent.core.errors import ExitCode
from agent.settings.config import ENV_CONFIG

SHELLS = ("bash", "zsh")

# Options whose value is a file or folder: completed as paths.
PATH_OPTIONS = {"config", "from_file", "path"}


def cmd_completion(args: argparse.Namespace) -> int:
    shtab: Any = importlib.import_module("shtab")
    parser: argparse.ArgumentParser = args.root_parser
    for action in _actions(parser):
        if action.dest in PATH_OPTIONS:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    emit(shtab.complete(parser, shell=args.shell))
    return ExitCode.OK


def cmd_manpage(args: argparse.Namespace) -> int:
    emit(manpage(args.root_parser))
    return ExitCode.OK


def manpage(parser: argparse.ArgumentParser) -> str:
    """hwb-agent(1): argparse-manpage's page of every command and option, then the examples of each
    command's --help, the environment and the exit codes."""
    generator: Any = importlib.import_module("argparse_manpage.manpage")
    page = copy.copy(parser)
    page.epilog = None  # the examples get a section of their own below, one a line
    text = str(generator.Manpage(page, _data={
        "project_name": "hwb-agent", "version": __version__, "manual_title": "hwb-agent manual",
        "description": "apply the Hwb account lifecycle policy to an LDAP directory"}))
    examples = [".SH EXAMPLES"]
    for name, (_, lines) in help_text.COMMANDS.items():
        examples += [".TP", f".B {_roff(name)}", ".nf", *(_roff(line) for line in lines), ".fi"]
    extra = [*examples,
             ".SH ENVIRONMENT", ".TP", f".B {ENV_CONFIG}",
             "the configuration file, when no \\-\\-config is given",
             ".SH EXIT STATUS",
             "0 done; 1 failed (directory unreachable, write refused); 2 bad usage or configuration;"
             " 3 refused by policy; 4 the mass\\-change guard (C\\-8) stopped the run."]
    return text.rstrip("\n") + "\n" + "\n".join(extra) + "\n"


def _roff(text: str) -> str:
    """Text as roff reads it literally: backslashes and hyphens escaped, no leading control dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict(action.choices).values():
                yield from _actions(subparser)
