"""Stack and bundle credentials: issued by the earning that completes them, in the same transaction.

A composite credential lists its components in `evidence` and binds each one by the SHA-384 digest of
its exact stored JSON in `relatedResource` (VCDM 2.0 section 5.3), so the stack credential pins the
microcredential credentials it stands on. A component counts whatever its version.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.issuer import build
from badgeserver.program.issuing import IssuingContext, IssuingError, issue_credential, issuer_profile
from badgeserver.program.notify import notify_earned
from badgeserver.store import models as m


def digest_sri(text: str) -> str:
    """The Subresource Integrity digest (sha384) of a credential's exact stored JSON, UTF-8."""
    digest = hashlib.sha384(text.encode("utf-8")).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


def _issued_on(row: m.Credential) -> str:
    moment = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


def _components(
    rows: list[m.Credential], credential_url: Callable[[str], str]
) -> tuple[tuple[build.EvidenceItem, ...], tuple[build.RelatedResource, ...]]:
    evidence = []
    related = []
    for row in rows:
        url = credential_url(row.id)
        name = json.loads(row.signed_json)["credentialSubject"]["achievement"]["name"]
        evidence.append(build.EvidenceItem(id=url, name=name, narrative=f"Earned {_issued_on(row)}"))
        related.append(build.RelatedResource(id=url, digest_sri=digest_sri(row.signed_json)))
    return tuple(evidence), tuple(related)


def _first(rows: list[m.Credential]) -> m.Credential:
    return min(rows, key=lambda row: (row.issued_at, row.id))


def stack_components(session: Session, earner_id: int, stack: m.Stack) -> list[m.Credential] | None:
    """The earner's earliest credential per member of the stack, in stack order; None if one is missing."""
    member_ids = [member.microcredential_id for member in stack.members]
    rows = session.scalars(
        select(m.Credential)
        .join(m.MicrocredentialVersion, m.Credential.version_id == m.MicrocredentialVersion.id)
        .where(
            m.Credential.earner_id == earner_id,
            m.Credential.kind == "microcredential",
            m.Credential.revoked_at.is_(None),  # a revoked credential counts for nothing
            m.MicrocredentialVersion.microcredential_id.in_(member_ids),
        )
    ).all()
    by_member: dict[int, list[m.Credential]] = {}
    for row in rows:
        if row.version is not None:
            by_member.setdefault(row.version.microcredential_id, []).append(row)
    if not member_ids or any(mid not in by_member for mid in member_ids):
        return None
    return [_first(by_member[mid]) for mid in member_ids]


def bundle_components(session: Session, earner_id: int, bundle: m.Bundle) -> list[m.Credential] | None:
    """The earner's stack credential for each stack of the bundle, in bundle order; None if one is missing."""
    stack_ids = [member.stack_id for member in bundle.members]
    rows = session.scalars(
        select(m.Credential).where(
            m.Credential.earner_id == earner_id,
            m.Credential.kind == "stack",
            m.Credential.revoked_at.is_(None),
            m.Credential.stack_id.in_(stack_ids),
        )
    ).all()
    by_stack = {row.stack_id: row for row in rows}
    if not stack_ids or any(sid not in by_stack for sid in stack_ids):
        return None
    return [by_stack[sid] for sid in stack_ids]


def holds_group(session: Session, earner_id: int, kind: str, group_id: int) -> bool:
    """True when the earner already holds the stack (kind "stack") or bundle (kind "bundle") credential."""
    column = m.Credential.stack_id if kind == "stack" else m.Credential.bundle_id
    query = select(m.Credential.id).where(
        m.Credential.earner_id == earner_id,
        m.Credential.kind == kind,
        column == group_id,
        m.Credential.revoked_at.is_(None),
    )
    return session.scalar(query) is not None


def _issue_group(
    session: Session,
    group: m.Stack | m.Bundle,
    kind: str,
    earner: m.Person,
    components: list[m.Credential],
    ctx: IssuingContext,
    now: datetime,
) -> m.Credential:
    issuer = session.get(m.Issuer, group.issuer_id)
    if issuer is None:
        raise IssuingError(f"The issuer of {kind} {group.slug} is missing.")
    achievement_id = (
        ctx.urls.stack_achievement(group.slug) if kind == "stack" else ctx.urls.bundle_achievement(group.slug)
    )
    parts = [json.loads(row.signed_json)["credentialSubject"]["achievement"]["name"] for row in components]
    what = "microcredential" if kind == "stack" else "stack"
    spec = build.AchievementSpec(
        id=achievement_id,
        name=group.name,
        description=group.description,
        criteria_narrative=f"Earn every {what} of this {kind}: " + "; ".join(parts) + ".",
        criteria_url=achievement_id,
        image=ctx.urls.image(group.image_png_id, "png"),
        image_caption=f"{group.name} badge",
        achievement_type="Certificate",
        credits_available=float(group.credit),
        creator=issuer_profile(issuer, ctx.urls),
    )
    evidence, related = _components(components, ctx.urls.credential)
    row = issue_credential(
        session,
        ctx,
        now,
        issuer=issuer,
        spec=spec,
        earner=earner,
        kind=kind,
        credit=group.credit,
        evidence=evidence,
        related_resources=related,
        links={f"{kind}_id": group.id},
        # A stack or bundle is valid as long as its components are: it expires with the first of them.
        valid_until=min((row.valid_until for row in components if row.valid_until is not None), default=None),
    )
    notify_earned(session, earner, group.name, ctx.urls.credential(row.id), now=now)
    return row


def complete_groups(
    session: Session, earner: m.Person, earned: m.Credential, ctx: IssuingContext, now: datetime
) -> list[m.Credential]:
    """Issue every stack the new microcredential credential completes, then every bundle those complete."""
    if earned.version is None:
        return []
    # Serialize composition per earner (PostgreSQL): a concurrent earning waits, then sees this one.
    session.execute(select(m.Person.id).where(m.Person.id == earner.id).with_for_update())
    stacks = session.scalars(
        select(m.Stack)
        .join(m.StackMember, m.StackMember.stack_id == m.Stack.id)
        .where(m.StackMember.microcredential_id == earned.version.microcredential_id)
        .order_by(m.Stack.id)
    ).all()
    issued: list[m.Credential] = []
    for stack in stacks:
        if holds_group(session, earner.id, "stack", stack.id):
            continue
        components = stack_components(session, earner.id, stack)
        if components is not None:
            issued.append(_issue_group(session, stack, "stack", earner, components, ctx, now))
    for stack_row in list(issued):
        bundles = session.scalars(
            select(m.Bundle)
            .join(m.BundleMember, m.BundleMember.bundle_id == m.Bundle.id)
            .where(m.BundleMember.stack_id == stack_row.stack_id)
            .order_by(m.Bundle.id)
        ).all()
        for bundle in bundles:
            if holds_group(session, earner.id, "bundle", bundle.id):
                continue
            parts = bundle_components(session, earner.id, bundle)
            if parts is not None:
                issued.append(_issue_group(session, bundle, "bundle", earner, parts, ctx, now))
    return issued
