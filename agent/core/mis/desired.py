"""What a person in the feed should look like in the directory (used by `agent.core.mis.plan`).

- *Leaving date* (MIS-2). A delta row `tobedeleted`: the end date of their last
  enrolment when the feed gives one (the real last day), else the calendar date
  of the row's dateLastModified. A bulk enrollments file in which every one of
  their enrolments has ended (endDate on or before today): the latest endDate.
  Otherwise none: the record is current (MIS-1). An enrolment ending in the
  future does not make a leaving date: exports put the academic year's end on
  every enrolment, and recording those would disable every staff account each
  summer with no automatic way back (MIS-4). A future date from a
  `tobedeleted` row is recorded as is; the sweep acts on it when it comes.
- *School*: the school of a current enrolment (primary first, then the latest
  begin date), else the first school of orgSourcedIds. An account already at
  one of the person's current schools keeps it (dual registration causes no
  churn), but a current enrolment elsewhere wins over a stale orgSourcedIds (a
  move); a leaver keeps the school they left.
- Names and mail come from the feed; an empty mail in the feed never clears
  the account's (many MIS hold no mail; the directory may be its source).

Pure: `today` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agent.core.mis.feed import Feed, FeedPerson, FileMode
from agent.core.model import Account


@dataclass(frozen=True)
class Desired:
    """The school and leaving date a person should have; `leaving_why` explains the date."""

    school: str
    leaving_date: date | None
    leaving_why: str


def _has_ended(end: date | None, today: date) -> bool:
    return end is not None and end <= today


def desired_state(person: FeedPerson, feed: Feed, today: date, account: Account | None) -> Desired:
    """Where `person` should be and whether they left, given their `account` (None: none yet)."""
    enrolments = person.enrolments
    current = [enrolment for enrolment in enrolments if not _has_ended(enrolment.end, today)]
    leaving: date | None = None
    why = ""
    if person.to_be_deleted:
        ends = [enrolment.end for enrolment in enrolments if enrolment.end is not None]
        if ends:
            leaving, why = max(ends), "tobedeleted; end date of the last enrolment"
        else:
            leaving = person.last_modified_on or feed.feed_date
            why = "tobedeleted; its dateLastModified"
    elif feed.enrollments_mode is FileMode.BULK and enrolments and not current:
        # Only a bulk file shows every enrolment; a delta's silence proves nothing.
        leaving = max(enrolment.end for enrolment in enrolments if enrolment.end is not None)
        why = "every enrolment has ended"

    # Current enrolments say where a person is now, better than orgSourcedIds, which some
    # MIS update later: primary first, then the latest begin date.
    by_preference = sorted(
        current, key=lambda enrolment: (not enrolment.primary, -(enrolment.begin or date.min).toordinal())
    )
    latest_first = sorted(enrolments, key=lambda enrolment: enrolment.end or date.max, reverse=True)
    preferred = (
        [enrolment.school for enrolment in by_preference]
        or list(person.schools)
        or [enrolment.school for enrolment in latest_first]
    )
    if leaving is not None:
        # A leaver stays at the school they left, if the feed names it at all.
        keep = account is not None and account.school in _all_schools(person)
    else:
        # Dual registration: an account at one of the person's current schools causes no churn.
        keep = account is not None and account.school in preferred
    school = account.school if keep and account is not None and account.school else preferred[0]
    return Desired(school, leaving, why)


def _all_schools(person: FeedPerson) -> set[str]:
    return set(person.schools) | {enrolment.school for enrolment in person.enrolments}


__all__ = ["Desired", "desired_state"]
