"""Builders and a fake apply shared by the MIS tests (a uniquely named module, not conftest,
so that `from mis_support import ...` cannot pick up another directory's conftest)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from agent.mis.plan import ActionKind, ProvisioningPlan
from agent.model import Account, Category, Role

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "oneroster"
BASE_DN = "ou=people,dc=example,dc=org"

MANIFEST_BULK = (
    "propertyName,value\n"
    "manifest.version,1.0\n"
    "oneroster.version,1.1\n"
    "file.orgs,bulk\n"
    "file.users,bulk\n"
    "file.enrollments,bulk\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "org-la,,,Cardiff Council,district,681,\n"
    "org-a,,,School A,school,6810001,org-la\n"
    "org-b,,,School B,school,6810002,org-la\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
ENROLLMENTS_HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate\n"
)


def apply_plan(accounts: Iterable[Account], plan: ProvisioningPlan) -> list[Account]:
    """What the directory holds after the plan's (not held) actions: a hand-written fake apply."""
    by_dn = {account.dn: account for account in accounts}
    for action in plan.actions:
        fields = action.fields
        if action.kind is ActionKind.CREATE:
            dn = f"uid={action.uid},{action.container},{BASE_DN}"
            assert dn not in by_dn
            by_dn[dn] = Account(
                dn=dn,
                uid=action.uid,
                category=Category(fields["category"]),
                enabled=True,
                role=Role(fields["role"]),
                mis_id=fields["mis_id"],
                school=fields["school"],
                given_name=fields["given_name"],
                surname=fields["surname"],
                display_name=fields["display_name"],
                mail=fields.get("mail"),
                leaving_date=fields.get("leaving_date"),
            )
        else:
            assert action.dn is not None
            by_dn[action.dn] = replace(by_dn[action.dn], **fields)
    return list(by_dn.values())
