"""Revoke, suspend and reinstate issued credentials: the status bits, their lists, the audit (STAT-5).

One call changes any number of credentials in the caller's transaction: the credential rows, the
bits of every list they sit in, the lists signed again (once each) and an audit entry per
credential all commit together or not at all, so a crash leaves the old state everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import BadgeServerError
from badgeserver.program import audit
from badgeserver.program.issuing import IssuingContext, lock_list, set_bit, sign_list
from badgeserver.program.submissions import Forbidden
from badgeserver.store import models as m

ACTIONS = ("revoke", "suspend", "reinstate")
PAST = {
    "revoke": "credential.revoked",
    "suspend": "credential.suspended",
    "reinstate": "credential.reinstated",
}
MAX_REASON = 1000
MAX_IDS = 10_000
AUDIT_FIELDS = ("id", "kind", "earner_id", "revoked_at", "suspended_at", "status_list_id", "status_index")


class StatusChangeError(BadgeServerError):
    """A revoke, suspend or reinstate request that cannot be carried out as asked."""

    code = "invalid_status_change"


@dataclass(frozen=True)
class Selection:
    """Which credentials: by ids, by earner email, by microcredential slug (all that are given must match)."""

    ids: tuple[str, ...] = ()
    earner_email: str | None = None
    microcredential: str | None = None

    def empty(self) -> bool:
        """True when nothing narrows the selection (which is refused: never "every credential")."""
        return not self.ids and self.earner_email is None and self.microcredential is None


@dataclass
class ChangeResult:
    """What one request did: the credentials changed, and those left as they were, with why."""

    action: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    lists_signed: list[str] = field(default_factory=list)


def select_credentials(session: Session, selection: Selection) -> list[m.Credential]:
    """The credentials the selection names, oldest first; unknown ids, earners or slugs are errors."""
    if selection.empty():
        raise StatusChangeError("Name the credentials: by id, by earner, or by microcredential.")
    if len(selection.ids) > MAX_IDS:
        raise StatusChangeError(f"At most {MAX_IDS} credential ids may be changed at once.")
    query = select(m.Credential)
    if selection.ids:
        ids = sorted({value.strip().lower() for value in selection.ids})
        found = set(session.scalars(select(m.Credential.id).where(m.Credential.id.in_(ids))))
        missing = [value for value in ids if value not in found]
        if missing:
            raise StatusChangeError(f"There is no credential {missing[0]}.")
        query = query.where(m.Credential.id.in_(ids))
    if selection.earner_email is not None:
        person = session.scalar(
            select(m.Person).where(m.Person.email == selection.earner_email.strip().lower())
        )
        if person is None:
            raise StatusChangeError(f"There is no person with the email {selection.earner_email}.")
        query = query.where(m.Credential.earner_id == person.id)
    if selection.microcredential is not None:
        micro = session.scalar(
            select(m.Microcredential).where(m.Microcredential.slug == selection.microcredential)
        )
        if micro is None:
            raise StatusChangeError(f"There is no microcredential {selection.microcredential}.")
        versions = select(m.MicrocredentialVersion.id).where(
            m.MicrocredentialVersion.microcredential_id == micro.id
        )
        query = query.where(m.Credential.version_id.in_(versions))
    return list(session.scalars(query.order_by(m.Credential.issued_at, m.Credential.id)))


def change_status(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    *,
    action: str,
    selection: Selection,
    actor: m.Person,
    reason: str | None = None,
) -> ChangeResult:
    """Revoke (permanent), suspend or reinstate the selected credentials, in the caller's transaction.

    The reason for a revocation is kept privately (staff and the audit log); it is never published.
    """
    if actor is None or not actor.is_staff or not actor.active:
        raise Forbidden("Only staff may revoke, suspend or reinstate credentials.")
    if action not in ACTIONS:
        raise StatusChangeError(f"The action must be one of {', '.join(ACTIONS)}, not {action!r}.")
    reason = (reason or "").strip() or None
    if action == "revoke" and reason is None:
        raise StatusChangeError("Give the reason for revoking; it is kept privately.")
    if reason is not None and len(reason) > MAX_REASON:
        raise StatusChangeError(f"The reason is longer than {MAX_REASON} characters.")
    rows = select_credentials(session, selection)
    if not rows:
        raise StatusChangeError("No credential matches the selection.")
    result = ChangeResult(action=action)
    touched: dict[int, m.StatusList] = {}
    for row in _locked(session, rows):
        why = _refusal(row, action)
        if why is not None:
            result.unchanged.append((row.id, why))
            continue
        before = audit.snapshot(row, AUDIT_FIELDS)
        status_list = _apply(session, row, action, now, reason)
        touched[status_list.id] = status_list
        audit.record(
            session,
            actor=actor,
            action=PAST[action],
            subject=row,
            now=now,
            before=before,
            after=audit.snapshot(row, AUDIT_FIELDS) | ({"reason": reason} if reason else {}),
        )
        result.changed.append(row.id)
    for status_list in touched.values():
        if status_list.signed_json is None:  # its bits changed
            sign_list(session, status_list, ctx, now)
            result.lists_signed.append(
                ctx.urls.status_list(status_list.issuer.slug, status_list.purpose, status_list.number)
            )
    session.flush()
    return result


def _locked(session: Session, rows: list[m.Credential]) -> list[m.Credential]:
    """The rows again, locked for update on PostgreSQL, so two staff changing one credential queue up."""
    ids = [row.id for row in rows]
    locked = session.scalars(
        select(m.Credential).where(m.Credential.id.in_(ids)).order_by(m.Credential.id).with_for_update()
    )
    by_id = {row.id: row for row in locked}
    return [by_id[value] for value in ids]


def _refusal(row: m.Credential, action: str) -> str | None:
    """Why `action` does not apply to `row` (a phrase following its id), or None when it does."""
    if row.revoked_at is not None:
        return "is already revoked" if action == "revoke" else "is revoked, which is permanent"
    if action == "suspend":
        if row.suspension_list_id is None:
            return (
                "carries no suspension entry (issued with CREDENTIAL_STATUS = revocation); revoke it instead"
            )
        if row.suspended_at is not None:
            return "is already suspended"
    if action == "reinstate" and row.suspended_at is None:
        return "is not suspended"
    return None


def _apply(
    session: Session, row: m.Credential, action: str, now: datetime, reason: str | None
) -> m.StatusList:
    if action == "revoke":
        status_list = lock_list(session, row.status_list_id)
        row.revoked_at = now
        row.revocation_reason = reason
        value = True
    else:
        status_list = lock_list(session, row.suspension_list_id)
        row.suspended_at = now if action == "suspend" else None
        value = action == "suspend"
    set_bit(status_list, row.status_index, value)
    return status_list
