"""The issuers' signing keys over the years: rotate, retire, revoke, and reissue what a revoked key signed.

- rotate: a new active key signs new credentials and every status list; the previous keys are retired.
- retire: the key signs nothing new but stays in the DID document, so what it signed still verifies.
- revoke: the key leaves the DID document at once (what it signed stops verifying); the status lists
  it signed are signed again with the active key, and the credentials it signed are listed.
- reissue: each credential signed by a revoked key is issued again with the active key: the same
  achievement, earner and award date, a new id and proof; the old credential is revoked.

Every operation runs in the caller's transaction. Key files are written before the commit, and a
file left behind by an interrupted operation is taken up by the next one (issuing.new_key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.issuer import build
from badgeserver.issuer.sign import sign_credential
from badgeserver.program import audit, notify
from badgeserver.program.compose import digest_sri
from badgeserver.program.issuing import (
    CREDENTIAL_AUDIT_FIELDS,
    IssuingContext,
    IssuingError,
    active_key,
    lock_list,
    new_key,
    record_issued,
    set_bit,
    sign_list,
    status_entries,
    status_slot,
    verification_method,
)
from badgeserver.program.submissions import Forbidden
from badgeserver.store import models as m

KEY_AUDIT_FIELDS = (
    "id",
    "issuer_id",
    "key_name",
    "public_key_multibase",
    "state",
    "retired_at",
    "revoked_at",
)
MAX_REASON = 1000
KIND_ORDER = {"microcredential": 0, "stack": 1, "bundle": 2}


class KeyLifecycleError(IssuingError):
    """A key operation that cannot be carried out as asked."""

    code = "invalid_key_operation"


@dataclass(frozen=True)
class Reissued:
    """One credential issued again: the old id (now revoked) and the new one."""

    old_id: str
    new_id: str


def _require_staff(actor: m.Person | None) -> None:
    if actor is None or not actor.is_staff or not actor.active:
        raise Forbidden("Only staff may rotate, retire or revoke keys and reissue credentials.")


def _issuer(session: Session, slug: str) -> m.Issuer:
    issuer = session.scalar(select(m.Issuer).where(m.Issuer.slug == slug))
    if issuer is None:
        raise KeyLifecycleError(f"There is no issuer {slug}.")
    return issuer


def _key(session: Session, name: str) -> m.IssuerKey:
    row = session.scalar(select(m.IssuerKey).where(m.IssuerKey.key_name == name).with_for_update())
    if row is None:
        raise KeyLifecycleError(f"There is no issuer key named {name}.")
    return row


def _audit_key(
    session: Session,
    row: m.IssuerKey,
    action: str,
    actor: m.Person | None,
    now: datetime,
    before: dict[str, Any] | None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=row,
        now=now,
        before=before,
        after=audit.snapshot(row, KEY_AUDIT_FIELDS),
    )


def _resign_lists(
    session: Session, issuer: m.Issuer, ctx: IssuingContext, now: datetime, signed_by: int | None = None
) -> list[m.StatusList]:
    """Sign the issuer's lists again with the active key (only those `signed_by` that key, if given)."""
    query = select(m.StatusList).where(m.StatusList.issuer_id == issuer.id)
    if signed_by is not None:
        query = query.where(m.StatusList.key_id == signed_by)
    rows = list(
        session.scalars(
            query.order_by(m.StatusList.id).with_for_update().execution_options(populate_existing=True)
        )
    )
    for row in rows:
        sign_list(session, row, ctx, now)
    return rows


def rotate(
    session: Session, ctx: IssuingContext, now: datetime, *, issuer_slug: str, actor: m.Person | None = None
) -> m.IssuerKey:
    """Add a new active key for the issuer, retire the ones before it, and sign its status lists anew."""
    _require_staff(actor)
    issuer = _issuer(session, issuer_slug)
    for old in session.scalars(
        select(m.IssuerKey)
        .where(m.IssuerKey.issuer_id == issuer.id, m.IssuerKey.state == "active")
        .with_for_update()
    ):
        before = audit.snapshot(old, KEY_AUDIT_FIELDS)
        old.state, old.retired_at = "retired", now
        _audit_key(session, old, "key.retired", actor, now, before)
    row, _ = new_key(session, issuer, ctx, now)
    _audit_key(session, row, "key.created", actor, now, None)
    _resign_lists(session, issuer, ctx, now)
    session.flush()
    return row


def retire(
    session: Session, ctx: IssuingContext, now: datetime, *, key_name: str, actor: m.Person | None = None
) -> m.IssuerKey | None:
    """Stop signing with an active key (it stays published); returns the key made to replace it, if any."""
    _require_staff(actor)
    row = _key(session, key_name)
    if row.state != "active":
        raise KeyLifecycleError(f"The key {key_name} is {row.state}; only an active key can be retired.")
    before = audit.snapshot(row, KEY_AUDIT_FIELDS)
    row.state, row.retired_at = "retired", now
    _audit_key(session, row, "key.retired", actor, now, before)
    session.flush()
    replacement = _ensure_active(session, row.issuer_id, ctx, now, actor)
    _resign_lists(session, _issuer_of(session, row), ctx, now, signed_by=row.id)
    return replacement


def revoke(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    *,
    key_name: str,
    reason: str,
    actor: m.Person | None = None,
) -> list[m.Credential]:
    """Withdraw a compromised key from the DID document; return the unrevoked credentials it signed."""
    _require_staff(actor)
    reason = reason.strip()
    if not reason:
        raise KeyLifecycleError("Give the reason for revoking the key; it is kept in the audit log.")
    if len(reason) > MAX_REASON:
        raise KeyLifecycleError(f"The reason is longer than {MAX_REASON} characters.")
    row = _key(session, key_name)
    if row.state == "revoked":
        raise KeyLifecycleError(f"The key {key_name} is already revoked.")
    before = audit.snapshot(row, KEY_AUDIT_FIELDS)
    row.state, row.revoked_at = "revoked", now
    _audit_key(session, row, "key.revoked", actor, now, before | {"reason": reason})
    session.flush()
    _ensure_active(session, row.issuer_id, ctx, now, actor)
    # Lists it signed would otherwise stop verifying: every status would read "unknown".
    _resign_lists(session, _issuer_of(session, row), ctx, now, signed_by=row.id)
    return signed_by(session, row)


def _issuer_of(session: Session, row: m.IssuerKey) -> m.Issuer:
    issuer = session.get(m.Issuer, row.issuer_id)
    if issuer is None:
        raise KeyLifecycleError(f"The issuer of key {row.key_name} is missing.")
    return issuer


def _ensure_active(
    session: Session, issuer_id: int, ctx: IssuingContext, now: datetime, actor: m.Person | None
) -> m.IssuerKey | None:
    active = session.scalar(
        select(m.IssuerKey.id).where(m.IssuerKey.issuer_id == issuer_id, m.IssuerKey.state == "active")
    )
    if active is not None:
        return None
    issuer = session.get(m.Issuer, issuer_id)
    assert issuer is not None
    row, _ = new_key(session, issuer, ctx, now)
    _audit_key(session, row, "key.created", actor, now, None)
    return row


def signed_by(session: Session, key: m.IssuerKey) -> list[m.Credential]:
    """The credentials `key` signed that are not revoked: components before the stacks and bundles."""
    rows = session.scalars(
        select(m.Credential).where(m.Credential.key_id == key.id, m.Credential.revoked_at.is_(None))
    ).all()
    return sorted(rows, key=lambda r: (KIND_ORDER.get(r.kind, 3), r.issued_at, r.id))


def to_reissue(session: Session, key_name: str | None = None) -> list[m.Credential]:
    """The unrevoked credentials signed by revoked keys (or by the one revoked key named)."""
    query = select(m.IssuerKey).where(m.IssuerKey.state == "revoked")
    if key_name is not None:
        row = session.scalar(select(m.IssuerKey).where(m.IssuerKey.key_name == key_name))
        if row is None:
            raise KeyLifecycleError(f"There is no issuer key named {key_name}.")
        if row.state != "revoked":
            raise KeyLifecycleError(f"The key {key_name} is {row.state}; its credentials still verify.")
        query = query.where(m.IssuerKey.id == row.id)
    found: list[m.Credential] = []
    for key in session.scalars(query.order_by(m.IssuerKey.id)):
        found.extend(signed_by(session, key))
    return sorted(found, key=lambda r: (KIND_ORDER.get(r.kind, 3), r.issued_at, r.id))


def reissue(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    *,
    key_name: str | None = None,
    actor: m.Person | None = None,
) -> list[Reissued]:
    """Issue again, with the active key, every credential a revoked key signed; revoke the old ones."""
    _require_staff(actor)
    # One reissue at a time: a second waits here, then finds the first one's work done.
    session.scalars(
        select(m.IssuerKey.id)
        .where(m.IssuerKey.state == "revoked")
        .order_by(m.IssuerKey.id)
        .with_for_update()
    ).all()
    done: list[Reissued] = []
    renamed: dict[str, tuple[str, str]] = {}  # old credential URL -> (new URL, new digestSRI)
    for old in to_reissue(session, key_name):
        new = _reissue_one(session, ctx, now, old, renamed)
        renamed[ctx.urls.credential(old.id)] = (ctx.urls.credential(new.id), digest_sri(new.signed_json))
        status_list = lock_list(session, old.status_list_id)
        before = audit.snapshot(old, CREDENTIAL_AUDIT_FIELDS)
        old.revoked_at = now
        old.revocation_reason = f"Reissued as {new.id}: the key that signed it was revoked."
        set_bit(status_list, old.status_index, True)
        audit.record(
            session,
            actor=actor,
            action="credential.reissued",
            subject=old,
            now=now,
            before=before,
            after=audit.snapshot(old, CREDENTIAL_AUDIT_FIELDS) | {"reissued_as": new.id},
        )
        done.append(Reissued(old.id, new.id))
        notify.queue_message(
            session,
            to=old.earner.email,
            subject="Your credential was issued again with a new key",
            body=(
                f"Hello {old.earner.name},\n\nThe key that signed your credential "
                f"{json.loads(new.signed_json).get('name', new.kind)} was withdrawn, so the program "
                "issued it again: same achievement and award date, new link.\n\nYour credential: "
                f"{ctx.urls.credential(new.id)}\n\nThe old link and badge images made from it no longer "
                "verify; download the badge again from the new page.\n"
            ),
            now=now,
        )
    for status_list in session.scalars(select(m.StatusList).where(m.StatusList.signed_json.is_(None))):
        sign_list(session, status_list, ctx, now)
    session.flush()
    return done


def _reissue_one(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    old: m.Credential,
    renamed: dict[str, tuple[str, str]],
) -> m.Credential:
    issuer = session.get(m.Issuer, old.issuer_id)
    assert issuer is not None
    key, pair = active_key(session, issuer, ctx, now)
    if pair.private_key is None:
        raise KeyLifecycleError(f"The key {key.key_name} cannot sign.")
    document: dict[str, Any] = json.loads(old.signed_json)
    document.pop("proof", None)
    # A credential that could be suspended keeps that when reissued, whatever the setting now.
    revocation, suspension, index = status_slot(
        session, issuer, ctx, now, suspension=True if old.suspension_list_id is not None else None
    )
    new_id = ctx.new_id()
    document["id"] = ctx.urls.credential(new_id)
    document["credentialStatus"] = build.credential_status_json(
        status_entries(ctx, issuer, revocation, suspension, index)
    )
    # A stack or bundle names its components: point at their reissued credentials.
    for item in document.get("relatedResource", []):
        if isinstance(item, dict) and item.get("id") in renamed:
            item["id"], item["digestSRI"] = renamed[item["id"]]
    for item in document.get("evidence", []):
        if isinstance(item, dict) and item.get("id") in renamed:
            item["id"] = renamed[item["id"]][0]
    signed = sign_credential(
        document,
        private_key=pair.private_key,
        verification_method=verification_method(ctx.urls, issuer.slug, key),
        now=now,
        canonicalizer=ctx.canonicalizer,
    )
    submission_id = old.submission_id
    old.submission_id = None  # the submission's credential is now the new one
    session.flush()
    row = m.Credential(
        id=new_id,
        kind=old.kind,
        earner_id=old.earner_id,
        issuer_id=old.issuer_id,
        key_id=key.id,
        version_id=old.version_id,
        stack_id=old.stack_id,
        bundle_id=old.bundle_id,
        submission_id=submission_id,
        status_list_id=revocation.id,
        suspension_list_id=None if suspension is None else suspension.id,
        status_index=index,
        signed_json=json.dumps(signed, ensure_ascii=False, indent=2),
        credit=old.credit,
        issued_at=old.issued_at,  # the award date: the transcript does not move
        public=old.public,
        valid_until=old.valid_until,
        suspended_at=old.suspended_at if suspension is not None else None,
        replaces_id=old.id,
    )
    if row.suspended_at is not None and suspension is not None:
        set_bit(lock_list(session, suspension.id), index, True)  # still suspended when reissued
    return record_issued(session, row, now)
