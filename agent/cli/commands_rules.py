"""`rules [ID]`: the policy's rules, by id, in words (docs/POLICY.md carries the same text)."""

from __future__ import annotations

import argparse

from agent.cli.output import emit
from agent.core.errors import ExitCode, UsageError
from agent.core.rules import GROUPS, RULES, format_rule, rule, rules_in_group


def cmd_rules(args: argparse.Namespace) -> int:
    if args.rule_id:
        try:
            found = rule(args.rule_id)
        except KeyError as error:
            raise UsageError(str(error.args[0]) if error.args else str(error)) from None
        emit(format_rule(found))
        return ExitCode.OK
    sections = []
    for group in GROUPS:
        sections.append(f"{group}\n\n" + "\n\n".join(format_rule(item) for item in rules_in_group(group)))
    emit("\n\n".join(sections))
    emit(f"\n{len(RULES)} rules; hwb-agent rules ID prints one.")
    return ExitCode.OK
