"""agent/core/rules.py against docs/POLICY.md, and every rule id cited in agent/ against both.

docs/POLICY.md is the project's policy page; agent/core/rules.py carries the same rules
as data. These tests fail as soon as the two drift apart, or as soon as code under
agent/ cites a rule id that neither defines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.core.rules import (
    GROUPS,
    RULES,
    Rule,
    UnknownRuleError,
    format_rule,
    rule,
    rules_in_group,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_MD = ROOT / "docs" / "POLICY.md"
SEED = ROOT / "docs" / "seed-hwb-account-lifecycle.txt"
AGENT = ROOT / "agent"

# A rule id as cited in prose or code: MIS-2, NM-4, C-8 (not ABC-1, not NM-4a).
RULE_ID = re.compile(r"\b(?:MIS|NM|C)-\d+\b")
# One rule bullet of POLICY.md, whitespace already collapsed: "**NM-4 Inactivity.** A non-MIS ...".
RULE_BULLET = re.compile(r"\*\*(?P<id>(?:MIS|NM|C)-\d+) (?P<title>[^*]+?)\.\*\* (?P<text>.+)")


def normalise(text: str) -> str:
    """Markdown prose as plain words: no emphasis asterisks, no backticks, single spaces."""
    return " ".join(text.replace("*", "").replace("`", "").split())


def policy_sections() -> dict[str, str]:
    """The `## ` sections of docs/POLICY.md, heading -> body, in document order."""
    sections: dict[str, str] = {}
    parts = re.split(r"^## (.+)$", POLICY_MD.read_text(encoding="utf-8"), flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[heading.strip()] = body
    return sections


def bullets(body: str) -> list[str]:
    """The top-level `- ` bullets of a markdown section, each joined into one line."""
    items: list[list[str]] = []
    for line in body.splitlines():
        if line.startswith("- "):
            items.append([line[2:]])
        elif line.startswith("  ") and items:
            items[-1].append(line)
        elif line.strip():
            items.append([line])  # prose between bullets: kept, so that it fails to parse below
    return [" ".join(" ".join(item).split()) for item in items]


def parse_policy_rules() -> list[Rule]:
    """The rules of docs/POLICY.md: every bullet of the three rule sections, in order."""
    sections = policy_sections()
    missing = [group for group in GROUPS if group not in sections]
    assert not missing, f"docs/POLICY.md has no section(s) {missing}"
    parsed: list[Rule] = []
    for group in GROUPS:
        for item in bullets(sections[group]):
            match = RULE_BULLET.fullmatch(item)
            assert match, f"docs/POLICY.md, {group!r}: not a '**ID Title.** text' rule bullet: {item!r}"
            parsed.append(
                Rule(
                    id=match["id"],
                    title=normalise(match["title"]),
                    text=normalise(match["text"]),
                    group=group,
                )
            )
    return parsed


# --- (a) POLICY.md and RULES never drift ---------------------------------------------------------


def test_policy_md_and_rules_have_the_same_ids_in_the_same_order() -> None:
    assert [r.id for r in parse_policy_rules()] == [r.id for r in RULES]


def test_policy_md_and_rules_have_the_same_titles_texts_and_groups() -> None:
    in_code = {r.id: r for r in RULES}
    for documented in parse_policy_rules():
        coded = in_code[documented.id]
        assert normalise(coded.title) == documented.title, documented.id
        assert normalise(coded.text) == documented.text, documented.id
        assert coded.group == documented.group, documented.id


def test_rules_are_plain_text() -> None:
    for r in RULES:
        for value in (r.title, r.text):
            assert "*" not in value and "`" not in value, r.id
            assert value == " ".join(value.split()), f"{r.id}: stray whitespace in {value!r}"
        assert not r.title.endswith("."), r.id


def test_rule_ids_are_unique_and_groups_known() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert {r.group for r in RULES} == set(GROUPS)
    assert [r.id for g in GROUPS for r in rules_in_group(g)] == ids


def test_every_rule_id_cited_in_policy_md_exists() -> None:
    known = {r.id for r in RULES}
    cited = set(RULE_ID.findall(POLICY_MD.read_text(encoding="utf-8")))
    assert cited - known == set()


def test_the_project_carries_the_seed_text() -> None:
    seed = SEED.read_text(encoding="utf-8")
    assert "Unless a learner or staff account is reactivated within 12 months" in seed
    assert "docs/seed-hwb-account-lifecycle.txt" in POLICY_MD.read_text(encoding="utf-8")


# --- (b), (c) lookup -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", ["nm-4", "NM-4", "Nm-4", " nm-4 "])
def test_rule_lookup_is_case_insensitive(rule_id: str) -> None:
    found = rule(rule_id)
    assert found.id == "NM-4"
    assert found.title == "Inactivity"
    assert found is next(r for r in RULES if r.id == "NM-4")


@pytest.mark.parametrize(("unknown", "suggested"), [("NM4", "NM-4"), ("mis5", "MIS-5"), ("C-10", "C-1")])
def test_unknown_rule_id_raises_key_error_naming_a_close_match(unknown: str, suggested: str) -> None:
    with pytest.raises(KeyError) as raised:
        rule(unknown)
    assert isinstance(raised.value, UnknownRuleError)
    assert suggested in raised.value.suggestions
    assert repr(unknown) in str(raised.value)
    assert f"did you mean {suggested}" in str(raised.value)


def test_unknown_rule_id_with_no_close_match_lists_every_id() -> None:
    with pytest.raises(KeyError, match="rule ids are MIS-1, MIS-2") as raised:
        rule("purge")
    assert "C-9" in str(raised.value)


def test_unknown_group_raises_key_error() -> None:
    with pytest.raises(KeyError, match="groups are"):
        rules_in_group("Learners")


# --- (d) code cites only rules that exist --------------------------------------------------------


def test_every_rule_id_cited_in_agent_source_exists() -> None:
    known = {r.id for r in RULES}
    unknown: list[str] = []
    sources = sorted(AGENT.rglob("*.py"))
    assert sources, f"no Python sources under {AGENT}"
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            unknown += [
                f"{path.relative_to(ROOT)}:{number}: {cited}"
                for cited in RULE_ID.findall(line)
                if cited not in known
            ]
    assert unknown == [], "rule ids cited in agent/ but not in RULES:\n" + "\n".join(unknown)


def test_rule_id_pattern_finds_citations_and_nothing_else() -> None:
    assert RULE_ID.findall("(MIS-2, NM-4; C-8) and NM-10") == ["MIS-2", "NM-4", "C-8", "NM-10"]
    assert RULE_ID.findall("ABC-1 NM-4a UTC-1") == []


# --- format_rule ---------------------------------------------------------------------------------


def test_format_rule_heads_with_id_and_title_then_indented_wrapped_text() -> None:
    nm4 = rule("NM-4")
    lines = format_rule(nm4).splitlines()
    assert lines[0] == "NM-4 Inactivity"
    assert len(lines) > 2
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[1:])
    assert all(len(line) <= 78 for line in lines)
    assert " ".join(line.strip() for line in lines[1:]) == nm4.text


@pytest.mark.parametrize("width", [40, 60, 100])
def test_format_rule_honours_width_for_every_rule(width: int) -> None:
    for r in RULES:
        lines = format_rule(r, width=width).splitlines()
        assert lines[0] == f"{r.id} {r.title}"
        assert all(len(line) <= width for line in lines[1:]), r.id
        assert " ".join(line.strip() for line in lines[1:]) == r.text


def test_format_rule_never_splits_a_rule_id_or_hyphenated_word() -> None:
    # C-9 cites NM-5, MIS-4 and C-1; a narrow width must not cut them at the hyphen.
    lines = format_rule(rule("C-9"), width=30).splitlines()
    assert not any(line.rstrip().endswith("-") for line in lines[1:])
