"""Every string of the console has its Welsh (issue 13): extracted from the templates and the code
with Babel's extraction API, compared with the catalogue; and the compiled .mo is the .po's."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "agent" / "web"
CATALOGUE = WEB / "translations" / "cy" / "LC_MESSAGES"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def _extracted() -> dict[str, str]:
    """msgid (the singular of a plural) -> where it is used."""
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(WEB, METHODS, OPTIONS,
                                                                         keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{line}")
    return found


def _po():
    with (CATALOGUE / "messages.po").open("rb") as stream:
        return read_po(stream, locale="cy")


def test_the_extraction_finds_the_consoles_strings():
    found = _extracted()
    assert len(found) > 100
    assert {"Managing Expiring Accounts", "View Details", "Manage User", "Activate",
            "%(authority)s Users: Manage Local Authority Non-MIS accounts"} <= set(found)


def test_every_string_of_the_templates_and_the_code_has_a_welsh_translation():
    catalogue = _po()
    missing = []
    for msgid, where in sorted(_extracted().items()):
        message = catalogue.get(msgid)
        strings = message.string if message is not None else None
        values = strings if isinstance(strings, tuple) else (strings,)
        if message is None or message.fuzzy or not all(values):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "no Welsh for:\n" + "\n".join(missing)


def test_the_welsh_is_welsh_not_the_english_copied():
    catalogue = _po()
    same = [message.id for message in catalogue if message.id and message.string == message.id]
    # Words that are the same in both languages (abbreviations, loan words, the filter's Y/N).
    assert set(same) <= {"MIS", "Staff", "Y", "N"}
    assert catalogue.get("Managing Expiring Accounts").string == "Rheoli Cyfrifon sy'n Dod i Ben"
    assert catalogue.get("View Details").string == "Gweld Manylion"
    assert catalogue.get("Manage User").string == "Rheoli Defnyddiwr"
    assert catalogue.get("Activate").string == "Actifadu"
    assert catalogue.get("Extend").string == "Ymestyn"


def _strings(catalogue) -> dict[object, object]:
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value
    return {key(message.id): key(message.string) for message in catalogue if message.id}


def test_the_compiled_mo_is_the_po():
    """The committed messages.mo holds exactly the .po's translations (recompile it when this fails:
    agent/web/translations/README.md)."""
    catalogue = _po()
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    with (CATALOGUE / "messages.mo").open("rb") as stream:
        committed = read_mo(stream)
    assert _strings(committed) == _strings(read_mo(compiled))
    assert _strings(committed) == _strings(catalogue)
