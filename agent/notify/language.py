"""The words of a reminder, in Welsh and in English (issue 14): Welsh first, as Welsh public bodies
write. Dates are written the way each language writes them ("14 Rhagfyr 2026", "14 December 2026")
without the host's locale, so a message reads the same from every host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WELSH_MONTHS = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi",
                "Hydref", "Tachwedd", "Rhagfyr")
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")


@dataclass(frozen=True)
class Wording:
    """Everything a digest says in one language."""

    code: str  # BCP 47: cy, en
    label: str  # the language's name, in itself
    months: tuple[str, ...]
    greeting: str  # {name}
    introduction: str
    expiring_heading: str
    purge_heading: str
    expiry_line: str  # {date} {left}
    purge_line: str  # {date} {left}
    extend: str
    reactivate: str
    service_desk: str
    view_details: str
    fallback_note: str  # {sponsor} {why}
    footer: str  # {authority}
    problems: dict[str, str]  # why a sponsor cannot be mailed, by RecipientProblem.problem

    def date(self, day: date) -> str:
        return f"{day.day} {self.months[day.month - 1]} {day.year}"

    def days_left(self, count: int) -> str:
        if self.code == "cy":
            # Welsh counts with a singular noun: 1 diwrnod, 56 diwrnod.
            return "heddiw yw'r diwrnod olaf" if count == 0 else f"{count} diwrnod ar ôl"
        if count == 0:
            return "today is the last day"
        return f"{count} day left" if count == 1 else f"{count} days left"


WELSH = Wording(
    code="cy",
    label="Cymraeg",
    months=WELSH_MONTHS,
    greeting="Annwyl {name},",
    introduction=("Chi yw noddwr y cyfrifon Hwb isod. Adolygwch nhw cyn y dyddiadau a ddangosir, ac"
                  " estynnwch neu ailactifadwch y rhai sydd eu hangen o hyd."),
    expiring_heading="Cyfrifon sy'n dod i ben",
    purge_heading="Cyfrifon a fydd yn cael eu dileu",
    expiry_line=("Daw'r cyfrif hwn i ben ar {date} ({left}). Bydd yn cael ei analluogi"
                 " ar ôl y dyddiad hwnnw oni bai ei fod yn cael ei estyn."),
    purge_line=("Mae'r cyfrif hwn wedi'i analluogi. Bydd yn cael ei ddileu'n barhaol ar {date} ({left}),"
                " gyda'i holl gynnwys, oni bai ei fod yn cael ei ailactifadu."),
    extend="I'w estyn",
    reactivate="I'w ailactifadu",
    service_desk="I'w ailactifadu (desg wasanaeth)",
    view_details="Gweld y manylion",
    fallback_note=("Anfonwyd y neges hon i'r cyfeiriad wrth gefn oherwydd na ellir e-bostio'r noddwr"
                   " {sponsor} ({why})."),
    problems={"unknown": "does dim cofnod gyda'r enw defnyddiwr hwn",
              "ambiguous": "mae mwy nag un cofnod gyda'r enw defnyddiwr hwn",
              "disabled": "mae cyfrif y noddwr wedi'i analluogi",
              "no mail": "does dim cyfeiriad e-bost gan y noddwr"},
    footer=("Neges awtomatig gan asiant cylch bywyd cyfrifon Hwb {authority} yw hon. Peidiwch ag ateb y"
            " neges hon."),
)

ENGLISH = Wording(
    code="en",
    label="English",
    months=ENGLISH_MONTHS,
    greeting="Dear {name},",
    introduction=("You are the sponsor of the Hwb accounts below. Please review them before the dates"
                  " shown, and extend or reactivate those that are still needed."),
    expiring_heading="Accounts expiring",
    purge_heading="Accounts to be deleted",
    expiry_line=("This account expires on {date} ({left}). It will be disabled after that date unless"
                 " it is extended."),
    purge_line=("This account is disabled. It will be permanently deleted on {date} ({left}), with all"
                " its content, unless it is reactivated."),
    extend="To extend it",
    reactivate="To reactivate it",
    service_desk="To reactivate it (service desk)",
    view_details="View Details",
    fallback_note=("This message went to the fallback address because the sponsor {sponsor} cannot be"
                   " mailed ({why})."),
    problems={"unknown": "no entry has this user name",
              "ambiguous": "more than one entry has this user name",
              "disabled": "the sponsor's account is disabled",
              "no mail": "the sponsor has no mail address"},
    footer="This is an automatic message from the Hwb account lifecycle agent of {authority}. Please do"
           " not reply.",
)

# The fixed order of every message (notifications.languages): Welsh, then English.
WORDINGS = {"cy": WELSH, "en": ENGLISH}

SUBJECT = "Cyfrifon Hwb sydd angen sylw / Hwb accounts that need your attention"
