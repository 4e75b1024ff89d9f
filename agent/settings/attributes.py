"""Logical account fields and the directory attributes that hold them, per flavour.

Pure data (no ldap3): the configuration validates overrides against it and the
gateway reads and writes entries through it. DESIGN.md, "Directory data model".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Encoding(enum.StrEnum):
    STRING = "string"
    DATE = "date"  # GeneralizedTime YYYYMMDD000000Z, only the date counts
    TIME = "generalized-time"  # GeneralizedTime instant, UTC
    FILETIME = "filetime"  # Active Directory Integer8: 100 ns ticks since 1601-01-01 UTC


class Flavour(enum.StrEnum):
    OPENLDAP = "openldap"
    ACTIVE_DIRECTORY = "active-directory"
    DS389 = "389ds"


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    encoding: Encoding = Encoding.STRING


# The agent's own lifecycle fields: names of the hwbAccount schema (deploy/openldap).
LIFECYCLE_FIELDS: dict[str, AttributeSpec] = {
    "category": AttributeSpec("hwbCategory"),
    "role": AttributeSpec("hwbRole"),
    "non_mis_type": AttributeSpec("hwbNonMisType"),
    "mis_id": AttributeSpec("hwbMisId"),
    "school": AttributeSpec("hwbSchool"),
    "local_authority": AttributeSpec("hwbLocalAuthority"),
    "leaving_date": AttributeSpec("hwbLeavingDate", Encoding.DATE),
    "expiry_date": AttributeSpec("hwbExpiryDate", Encoding.DATE),
    "duration": AttributeSpec("hwbDuration"),
    "sponsor": AttributeSpec("hwbSponsor"),
    "disabled_at": AttributeSpec("hwbDisabledAt", Encoding.TIME),
    "disabled_reason": AttributeSpec("hwbDisabledReason"),
    "reactivated_at": AttributeSpec("hwbReactivatedAt", Encoding.TIME),
    "reactivated_by": AttributeSpec("hwbReactivatedBy"),
    "reactivation_ticket": AttributeSpec("hwbReactivationTicket"),
    "activation_requested_at": AttributeSpec("hwbActivationRequestedAt", Encoding.TIME),
    "activation_requested_by": AttributeSpec("hwbActivationRequestedBy"),
    "activation_duration": AttributeSpec("hwbActivationDuration"),
    "activation_refusal": AttributeSpec("hwbActivationRefusal"),
    # One value per reminder sent to the sponsor, `threshold:kind:date` (issue 14, NM-8/NM-7/MIS-5).
    "reminders_sent": AttributeSpec("hwbReminderSent"),
}

# Fields whose attribute holds several values by design; every other mapped attribute is read as one
# value and several are a data error (C-7).
MULTI_VALUED_FIELDS = frozenset({"reminders_sent"})

# Identity attributes: the directory's usual ones.
IDENTITY_FIELDS: dict[str, AttributeSpec] = {
    "uid": AttributeSpec("uid"),
    "given_name": AttributeSpec("givenName"),
    "surname": AttributeSpec("sn"),
    "display_name": AttributeSpec("cn"),
    "mail": AttributeSpec("mail"),
}

# Attributes the server maintains, per flavour.
SERVER_FIELDS: dict[Flavour, dict[str, AttributeSpec]] = {
    Flavour.OPENLDAP: {
        "last_sign_in": AttributeSpec("pwdLastSuccess", Encoding.TIME),
        "created_at": AttributeSpec("createTimestamp", Encoding.TIME),
    },
    Flavour.ACTIVE_DIRECTORY: {
        "uid": AttributeSpec("sAMAccountName"),
        "display_name": AttributeSpec("displayName"),
        "last_sign_in": AttributeSpec("lastLogonTimestamp", Encoding.FILETIME),
        "created_at": AttributeSpec("whenCreated", Encoding.TIME),
    },
    Flavour.DS389: {
        "last_sign_in": AttributeSpec("lastLoginTime", Encoding.TIME),
        "created_at": AttributeSpec("createTimestamp", Encoding.TIME),
    },
}

ALL_FIELDS = frozenset(LIFECYCLE_FIELDS) | frozenset(IDENTITY_FIELDS) | {"last_sign_in", "created_at"}


def default_attributes(flavour: Flavour) -> dict[str, AttributeSpec]:
    """Logical field -> attribute for a flavour, before configuration overrides."""
    return {**LIFECYCLE_FIELDS, **IDENTITY_FIELDS, **SERVER_FIELDS[flavour]}
