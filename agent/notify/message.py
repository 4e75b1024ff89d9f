"""A digest as an email (issue 14): multipart/alternative, plain text then HTML, each with the Welsh
text first and then the English, every account with the action to take: its View Details page when
`web.base_url` is set, else the command that does it. Everything in the HTML part is escaped."""

from __future__ import annotations

import html
import shlex
import textwrap
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from agent.actions.reminders import Entry, OutgoingDigest
from agent.core.reminders import EXPIRY
from agent.notify.language import SUBJECT, WORDINGS, Wording
from agent.settings.config import Config

# A sender for messages that are only printed (a dry run without `notifications.from`).
PRINT_ONLY_SENDER = "hwb-agent@localhost"


@dataclass(frozen=True)
class Action:
    """What the sponsor does about one entry: follow a link, or run a command."""

    url: str | None
    command: str


def action_for(entry: Entry, sponsor: str, config: Config) -> Action:
    uid, by = shlex.quote(entry.uid), shlex.quote(sponsor)
    if entry.reminder.kind == EXPIRY:
        command = f"hwb-agent extend {uid} --duration 3m --by {by}"
    elif entry.rule == "MIS-5":
        command = f"hwb-agent service-desk-reactivate {uid} --by {by} --ticket TICKET"
    else:
        command = f"hwb-agent activate {uid} --by {by} --duration 3m"
    return Action(config.web.details_url(entry.uid), command)


def _action_label(entry: Entry, words: Wording) -> str:
    if entry.reminder.kind == EXPIRY:
        return words.extend
    return words.service_desk if entry.rule == "MIS-5" else words.reactivate


def _groups(digest: OutgoingDigest) -> tuple[list[Entry], list[Entry]]:
    expiring = [entry for entry in digest.entries if entry.reminder.kind == EXPIRY]
    purging = [entry for entry in digest.entries if entry.reminder.kind != EXPIRY]
    return expiring, purging


def _line(entry: Entry, words: Wording) -> str:
    template = words.expiry_line if entry.reminder.kind == EXPIRY else words.purge_line
    return template.format(date=words.date(entry.reminder.on), left=words.days_left(entry.reminder.days_left))


def _fallback_note(digest: OutgoingDigest, words: Wording) -> str | None:
    if not digest.fallback_because:
        return None
    kind = digest.fallback_because.split(":", 1)[0]
    return words.fallback_note.format(sponsor=digest.sponsor, why=words.problems.get(kind, kind))


def _wrap(text: str, indent: str = "") -> str:
    """Prose wrapped for a mail reader (76 columns); commands and links are never wrapped."""
    return textwrap.fill(text, width=76, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def plain_text(digest: OutgoingDigest, config: Config) -> str:
    parts: list[str] = []
    for code in config.notifications.languages:
        words = WORDINGS[code]
        greeting = words.greeting.format(name=digest.sponsor_name or digest.sponsor)
        lines = [f"[{words.label}]", "", greeting, ""]
        note = _fallback_note(digest, words)
        if note:
            lines += [_wrap(note), ""]
        lines += [_wrap(words.introduction), ""]
        for heading, entries in zip((words.expiring_heading, words.purge_heading), _groups(digest),
                                    strict=True):
            if not entries:
                continue
            lines += [heading, "-" * len(heading)]
            for entry in entries:
                action = action_for(entry, digest.sponsor, config)
                lines.append(_wrap(f"* {entry.name} ({entry.uid}): {_line(entry, words)}", "  "))
                if action.url:
                    lines.append(f"  {words.view_details}: {action.url}")
                lines.append(f"  {_action_label(entry, words)}: {action.command}")
            lines.append("")
        lines.append(_wrap(words.footer.format(authority=config.local_authority.name)))
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def html_text(digest: OutgoingDigest, config: Config) -> str:
    def e(text: str) -> str:
        return html.escape(text, quote=True)

    sections: list[str] = []
    for code in config.notifications.languages:
        words = WORDINGS[code]
        body = [f'<section lang="{code}">',
                f"<p>{e(words.greeting.format(name=digest.sponsor_name or digest.sponsor))}</p>"]
        note = _fallback_note(digest, words)
        if note:
            body.append(f"<p><strong>{e(note)}</strong></p>")
        body.append(f"<p>{e(words.introduction)}</p>")
        for heading, entries in zip((words.expiring_heading, words.purge_heading), _groups(digest),
                                    strict=True):
            if not entries:
                continue
            body += [f"<h2>{e(heading)}</h2>", "<ul>"]
            for entry in entries:
                action = action_for(entry, digest.sponsor, config)
                item = f"<li><strong>{e(entry.name)}</strong> ({e(entry.uid)}): {e(_line(entry, words))}"
                if action.url:
                    item += f'<br><a href="{e(action.url)}">{e(words.view_details)}</a>'
                item += f"<br>{e(_action_label(entry, words))}: <code>{e(action.command)}</code></li>"
                body.append(item)
            body.append("</ul>")
        body += [f"<p><small>{e(words.footer.format(authority=config.local_authority.name))}</small></p>",
                 "</section>"]
        sections.append("\n".join(body))
    return ('<!DOCTYPE html>\n<html lang="cy">\n<head><meta charset="utf-8">'
            f"<title>{e(SUBJECT)}</title></head>\n<body>\n"
            + "\n<hr>\n".join(sections) + "\n</body>\n</html>\n")


def build_message(digest: OutgoingDigest, config: Config, now: datetime) -> EmailMessage:
    """The message for one digest: headers, then the plain text and HTML alternatives."""
    sender = config.notifications.sender or PRINT_ONLY_SENDER
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = digest.recipient
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("hwb-reminder", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(plain_text(digest, config))
    message.add_alternative(html_text(digest, config), subtype="html")
    # After the content: set_content clears every Content-* header.
    message["Content-Language"] = ", ".join(config.notifications.languages)
    return message
