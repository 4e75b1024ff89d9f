"""The console's forms (Flask-WTF: each carries its CSRF token). Labels are in the templates, in
both languages; the field names are the stable names agent/web/README-ids.md lists."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from agent.core.model import Duration, NonMisType

# The templates render the choices (in both languages); here each value is checked against them.
DURATIONS = [item.value for item in Duration]
TYPES = [item.value for item in NonMisType]


class ConsoleForm(FlaskForm):  # type: ignore[misc]  # flask_wtf ships no type hints
    """Every form of the console: CSRF-protected (Flask-WTF's token in a hidden field)."""


class ActivateForm(ConsoleForm):
    # NM-5/NM-6: required when the expiry date has passed (the action refuses otherwise).
    duration = StringField("duration", validators=[Optional(), AnyOf(DURATIONS)])


class ExtendForm(ConsoleForm):
    duration = StringField("duration", validators=[DataRequired(), AnyOf(DURATIONS)])


class ServiceDeskForm(ConsoleForm):
    ticket = StringField("ticket", validators=[DataRequired(), Length(max=64)])


class BulkExtendForm(ConsoleForm):
    """The checked rows' uids come as repeated `uid` fields (request.form.getlist)."""

    duration = StringField("duration", validators=[DataRequired(), AnyOf(DURATIONS)])
    back = HiddenField("back")


class CreateForm(ConsoleForm):
    non_mis_type = StringField("non_mis_type", validators=[DataRequired(), AnyOf(TYPES)])
    given_name = StringField("given_name", validators=[DataRequired(), Length(max=64)])
    surname = StringField("surname", validators=[DataRequired(), Length(max=64)])
    # The address is checked by the create action (as for the command line).
    mail = StringField("mail", validators=[DataRequired(),
                                           Length(max=254)])
    sponsor = StringField("sponsor", validators=[Optional(), Length(max=64)])
    duration = StringField("duration", validators=[DataRequired(), AnyOf(DURATIONS)])
    # NM-2: a learner is refused, with the reason; an MIS identifier is checked against learners.
    role = StringField("role", validators=[Optional(), AnyOf(["staff", "learner"])])
    mis_id = StringField("mis_id", validators=[Optional(), Length(max=32)])
    # NM-1: a likely duplicate is refused; ticked after that refusal, created on purpose (as the
    # command line's --allow-duplicate).
    allow_duplicate = BooleanField("allow_duplicate")
