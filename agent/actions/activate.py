"""NM-5: reactivating a non-MIS account (with an extension when it has expired); MIS-4: the
service desk reactivating a staff leaver, with its ticket."""

from __future__ import annotations

from datetime import datetime

from agent.actions.audit import AuditTrail
from agent.actions.lookup import find_account, identity_of
from agent.actions.outcome import Result, apply_change, approved_change, need, refuse, request_clearing
from agent.core.model import Duration
from agent.core.operations import (
    Refused,
    decide_activation,
    decide_service_desk,
)
from agent.directory.gateway import Directory
from agent.settings.config import Config


def activate_account(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                     uid: str, by: str, duration: Duration | None = None) -> Result:
    """NM-5: enable a disabled non-MIS account at once (with `duration`: extend it in the same modify)."""
    need(by, "--by")
    account = find_account(directory, uid)
    verdict = decide_activation(account, now, config.policy, duration,
                                learner_identity=identity_of(directory, account))
    if isinstance(verdict, Refused):
        raise refuse(audit, verdict, operation="activate", account=account, actor=by, now=now,
                      duration=duration.value if duration else None)
    clearing = request_clearing(account)
    if not verdict.changes and not clearing:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = approved_change(account, verdict, now, by=by, extra=clearing)
    if verdict.enable:
        event = "account_reactivated"
    else:
        event = "account_extended" if verdict.changes else "activation_request_cleared"
    return apply_change(directory, audit, account, change, event=event, rule=verdict.rule, actor=by,
                  detail=verdict.detail, now=now)


def service_desk_reactivate(directory: Directory, config: Config, audit: AuditTrail, now: datetime,
                            uid: str, by: str, ticket: str) -> Result:
    """MIS-4: the service desk enables a staff leaver's account, recording who and the ticket."""
    need(by, "--by")
    need(ticket, "--ticket")
    account = find_account(directory, uid)
    verdict = decide_service_desk(account, now, config.policy)
    if isinstance(verdict, Refused):
        raise refuse(audit, verdict, operation="service-desk-reactivate", account=account, actor=by,
                      now=now, ticket=ticket)
    if not verdict.changes:
        return Result(account.uid, account.dn, verdict.rule, verdict.detail, False)
    change = approved_change(account, verdict, now, by=by, ticket=ticket,
                              extra=request_clearing(account))
    return apply_change(directory, audit, account, change, event="account_reactivated", rule=verdict.rule,
                  actor=by, detail=verdict.detail, now=now, ticket=ticket)
