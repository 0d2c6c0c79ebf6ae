"""Revoke, suspend and reinstate issued credentials: the status bits, their lists, the audit (STAT-5).

One call changes any number of credentials in the caller's transaction: the credential rows, the
bits of every list they sit in, the lists signed again (once each) and an audit entry per
credential all commit together or not at all, so a crash leaves the old state everywhere.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import BadgeServerError
from badgeserver.identity import is_email
from badgeserver.program import audit, notify
from badgeserver.program.issuing import IssuingContext, lock_list, set_bit, sign_list
from badgeserver.program.submissions import Forbidden
from badgeserver.program.urls import Urls
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


# A credential may be named by its id, its urn:uuid or its URL (what `keys revoke` prints).
_CREDENTIAL_ID = re.compile(
    r"^(?:urn:uuid:|https?://[^\s]*/credentials/)?"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.json|\.png|\.svg)?$"
)
_SLUG = re.compile(r"^[a-z0-9-]{1,100}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def shown(value: str, limit: int = 60) -> str:
    """An untrusted value as an error message may quote it: control characters escaped, kept short."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in value[:limit])
    return text + ("…" if len(value) > limit else "")


def credential_id(value: str, urls: Urls) -> str:
    """The credential id in `value` (an id, urn:uuid:<id> or this site's URL of it), lower-cased.

    A URL on another site is refused: a credential there is not this site's to change, even when its
    id happens to match one here."""
    text = value.strip().lower()
    found = _CREDENTIAL_ID.match(text)
    if found is None:
        raise StatusChangeError(f"'{shown(value)}' is not a credential id.")
    if text.startswith(("http://", "https://")) and not text.startswith(urls.credential("").lower()):
        raise StatusChangeError(
            f"'{shown(value)}' is not a credential of this site (its URLs begin {urls.credential('')})."
        )
    return found.group(1)


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
    cascaded: list[str] = field(default_factory=list)  # stacks and bundles revoked with a component


def select_credentials(session: Session, selection: Selection, urls: Urls) -> list[m.Credential]:
    """The credentials the selection names, oldest first; unknown ids, earners or slugs are errors."""
    if selection.empty():
        raise StatusChangeError("Name the credentials: by id, by earner, or by microcredential.")
    query = select(m.Credential)
    if selection.ids:
        ids = sorted({credential_id(value, urls) for value in selection.ids[: MAX_IDS * 4]})
        if len(ids) > MAX_IDS or len(selection.ids) > MAX_IDS * 4:
            raise StatusChangeError(f"At most {MAX_IDS} credentials may be changed at once.")
        found: set[str] = set()
        for start in range(0, len(ids), 1000):  # a bounded IN list per query
            chunk = ids[start : start + 1000]
            found |= set(session.scalars(select(m.Credential.id).where(m.Credential.id.in_(chunk))))
        missing = [value for value in ids if value not in found]
        if missing:
            listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise StatusChangeError(f"There is no credential {listed}.")
        query = query.where(m.Credential.id.in_(ids))
    if selection.earner_email is not None:
        email = selection.earner_email.strip().lower()
        if not is_email(email) or _CONTROL.search(email):
            raise StatusChangeError(f"'{shown(selection.earner_email)}' is not an email address.")
        person = session.scalar(select(m.Person).where(m.Person.email == email))
        if person is None:
            raise StatusChangeError(f"There is no person with the email {email}.")
        query = query.where(m.Credential.earner_id == person.id)
    if selection.microcredential is not None:
        slug = selection.microcredential.strip()
        if not _SLUG.match(slug):
            raise StatusChangeError(f"'{shown(slug)}' is not a microcredential slug.")
        micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == slug))
        if micro is None:
            raise StatusChangeError(f"There is no microcredential {slug}.")
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
    if reason is not None and _CONTROL.search(reason):
        raise StatusChangeError("The reason holds control characters; write it as plain text.")
    rows = select_credentials(session, selection, ctx.urls)
    if not rows:
        raise StatusChangeError("No credential matches the selection.")
    result = ChangeResult(action=action)
    touched: dict[int, m.StatusList] = {}
    queue = deque((row, reason) for row in _locked(session, rows))
    seen = {row.id for row, _ in queue}
    while queue:
        row, why_changed = queue.popleft()
        why = _refusal(row, action)
        if why is not None:
            result.unchanged.append((row.id, why))
            continue
        before = audit.snapshot(row, AUDIT_FIELDS)
        status_list = _apply(session, row, action, now, why_changed)
        touched[status_list.id] = status_list
        audit.record(
            session,
            actor=actor,
            action=PAST[action],
            subject=row,
            now=now,
            before=before,
            after=audit.snapshot(row, AUDIT_FIELDS) | ({"reason": why_changed} if why_changed else {}),
        )
        result.changed.append(row.id)
        if action == "revoke":
            # A stack or bundle stands on its components: it falls with them.
            for group in _locked(session, _dependents(session, row, ctx)):
                if group.id not in seen:
                    seen.add(group.id)
                    result.cascaded.append(group.id)
                    queue.append((group, f"A credential it was composed from was revoked ({row.id})."))
    _notify_earners(session, ctx, now, action, rows, result)
    for status_list in touched.values():
        if status_list.signed_json is None:  # its bits changed
            sign_list(session, status_list, ctx, now)
            result.lists_signed.append(
                ctx.urls.status_list(status_list.issuer.slug, status_list.purpose, status_list.number)
            )
    session.flush()
    return result


def _dependents(session: Session, row: m.Credential, ctx: IssuingContext) -> list[m.Credential]:
    """The earner's unrevoked stack and bundle credentials that cite `row` as a component."""
    url = ctx.urls.credential(row.id)
    found = []
    groups = session.scalars(
        select(m.Credential).where(
            m.Credential.earner_id == row.earner_id,
            m.Credential.kind.in_(("stack", "bundle")),
            m.Credential.revoked_at.is_(None),
        )
    )
    for group in groups:
        related = json.loads(group.signed_json).get("relatedResource", [])
        if any(isinstance(item, dict) and item.get("id") == url for item in related):
            found.append(group)
    return found


def _notify_earners(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    action: str,
    named: list[m.Credential],
    result: ChangeResult,
) -> None:
    """One message per earner whose credentials changed (the private reason is not in it)."""
    changed = set(result.changed)
    rows = named + [session.get(m.Credential, cid) for cid in result.cascaded]
    by_earner: dict[int, list[m.Credential]] = {}
    for row in rows:
        if row is not None and row.id in changed:
            by_earner.setdefault(row.earner_id, []).append(row)
    what = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}[action]
    after = {
        "revoke": "It no longer verifies and has left your transcript.",
        "suspend": "It does not verify while suspended; it may be reinstated.",
        "reinstate": "It verifies again.",
    }[action]
    for earner_rows in by_earner.values():
        earner = earner_rows[0].earner
        lines = [
            f"- {json.loads(row.signed_json).get('name', row.kind)}: {ctx.urls.credential(row.id)}"
            for row in earner_rows
        ]
        many = len(earner_rows) > 1
        notify.queue_message(
            session,
            to=earner.email,
            subject=f"Your credential{'s were' if many else ' was'} {what}",
            body=(
                f"Hello {earner.name},\n\nThe program staff {what} "
                f"{'these credentials' if many else 'this credential'} of yours:\n\n"
                + "\n".join(lines)
                + f"\n\n{after} Questions: reply to the program staff.\n"
            ),
            now=now,
        )


def _locked(session: Session, rows: list[m.Credential]) -> list[m.Credential]:
    """The rows again, locked for update on PostgreSQL, so two staff changing one credential queue up."""
    ids = [row.id for row in rows]
    locked = session.scalars(
        select(m.Credential)
        .where(m.Credential.id.in_(ids))
        .order_by(m.Credential.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # re-read: another change may have committed meanwhile
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
