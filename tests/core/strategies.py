"""Hypothesis strategies: accounts whose dates cluster around every policy boundary."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import strategies as st

from agent.core.dates import add_months, start_of_day
from agent.core.model import Account, ActivationRequest, Category, NonMisType, Reason, Role
from tests.builders import LONDON

TODAY = date(2026, 11, 28)

# Offsets (days) from the boundaries that matter: today, 90 days, 12 months.
_BOUNDARY_DAYS = st.sampled_from([0, 1, -1, 2, -2, 89, 90, 91, 364, 365, 366, 400, -30, 30])


@st.composite
def days_around(draw) -> date:
    base = draw(
        st.sampled_from(
            [
                TODAY,
                add_months(TODAY, -12),
                TODAY - timedelta(days=90),
                date(2024, 2, 29),
                date(2026, 3, 29),
                date(2026, 8, 31),
            ]
        )
    )
    return base + timedelta(days=draw(_BOUNDARY_DAYS))


@st.composite
def instants(draw) -> datetime:
    day = draw(days_around())
    # Hours that cross midnight in UTC during BST.
    hour = draw(st.sampled_from([0, 1, 12, 23]))
    return start_of_day(day, LONDON) + timedelta(hours=hour, minutes=draw(st.sampled_from([0, 30])))


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def accounts(draw, index: int | None = None) -> Account:
    category = draw(st.sampled_from(list(Category)))
    enabled = draw(st.booleans())
    number = index if index is not None else draw(st.integers(0, 10_000))
    uid = f"u{number}"
    fields = dict(
        dn=f"uid={uid},ou=people,dc=test,dc=example",
        uid=uid,
        category=category,
        enabled=enabled,
        mail=f"{uid}@example.org",
        created_at=draw(instants()),
        last_sign_in=draw(maybe(instants())),
        reactivated_at=draw(maybe(instants())),
    )
    if not enabled:
        fields["disabled_reason"] = draw(maybe(st.sampled_from(list(Reason))))
        fields["disabled_at"] = draw(maybe(instants()))
    if category is Category.MIS:
        fields["role"] = draw(st.sampled_from(list(Role)))
        fields["leaving_date"] = draw(maybe(days_around()))
        fields["mis_id"] = f"M{number}"
    else:
        fields["non_mis_type"] = draw(st.sampled_from(list(NonMisType)))
        fields["expiry_date"] = draw(days_around())
        fields["role"] = draw(st.sampled_from([None, None, None, Role.LEARNER]))
        fields["sponsor"] = "sponsor1"
        if draw(st.integers(0, 9)) == 0:
            fields["activation_request"] = ActivationRequest(draw(instants()), "portal")
    return Account(**fields)
