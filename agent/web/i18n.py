"""Welsh and English (issue 13): the language from the switch's cookie, else the browser's
Accept-Language, else English; dates formatted for the language (Flask-Babel, CLDR data).

Every string the console shows goes through gettext (`_` in templates and code); the Welsh
catalogue is agent/web/translations/cy/LC_MESSAGES/messages.po, compiled to messages.mo beside it
(tests/web/test_translations.py fails when a string has no Welsh, or the .mo is older than the .po).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale, gettext

LANGUAGES = ("cy", "en")  # Welsh first, as Welsh public bodies write
COOKIE = "hwb_language"


def _(text: str, **values: Any) -> str:
    """gettext for the console's Python code (the templates have their own `_`): `text` in the
    page's language, with `%(name)s` filled from `values`."""
    return str(gettext(text, **values))


# The locale of each language: British English dates ("21 Nov 2026"), not American.
LOCALES = {"cy": "cy_GB", "en": "en_GB"}


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen not in LANGUAGES:
        chosen = request.accept_languages.best_match(LANGUAGES) or "en"
    return LOCALES[chosen]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def day(value: date | datetime | str | None) -> str:
    """A calendar date in the page's language ("2 Rhag 2026", "2 Dec 2026"); "" for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        moment = value.date() if isinstance(value, datetime) else value
    return str(format_date(moment, format="medium"))


def moment(value: datetime | str | None) -> str:
    """An instant in the policy's time zone and the page's language ("02/12/2026, 14:05")."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        instant = value
    return str(format_datetime(instant, format="short"))


def install(app: Flask) -> None:
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["moment"] = moment

    @app.context_processor
    def languages() -> dict[str, Any]:
        return {"language": current_language(), "languages": LANGUAGES}
