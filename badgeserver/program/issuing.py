"""Issue credentials from stored records: keys, status indexes, build, sign, store. One transaction."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from badgeserver import bitstring, keys
from badgeserver.errors import BadgeServerError
from badgeserver.issuer import build
from badgeserver.issuer.sign import sign_credential
from badgeserver.issuer.status_list import build_status_list
from badgeserver.ld.canon import Canonicalizer
from badgeserver.program import audit
from badgeserver.program.urls import Urls
from badgeserver.store import models as m

REVOCATION = "revocation"
SUSPENSION = "suspension"
LIST_TTL_SECONDS = 300  # the lists' ttl and their HTTP max-age: a change is seen everywhere within 5 minutes


class IssuingError(BadgeServerError):
    """A credential could not be issued (no key, no free status index, ...)."""

    code = "issuing_failed"


@dataclass
class IssuingContext:
    """The outside world issuing needs, passed in so tests control every effect."""

    urls: Urls
    keystore: keys.KeyStore
    canonicalizer: Canonicalizer = field(default_factory=Canonicalizer)
    status_list_size: int = bitstring.MIN_ENTRIES
    # Credentials carry a suspension entry beside the revocation entry (a VCDM 2.0 array). Off by
    # default: OB 3.0 allows one credentialStatus object (DM-23, STAT-10).
    suspension_entries: bool = False
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    new_salt: Callable[[], str] = field(default=lambda: secrets.token_hex(8))
    random_index: Callable[[int], int] = field(default=secrets.randbelow)


def issuer_profile(issuer: m.Issuer, urls: Urls) -> build.IssuerProfile:
    """The issuer as it appears in a credential: its did:web id, name, site and logo."""
    return build.IssuerProfile(
        id=urls.issuer_did(issuer.slug),
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        image=urls.image(issuer.image_png_id, "png") if issuer.image_png_id else None,
    )


def verification_method(urls: Urls, issuer_slug: str, key: m.IssuerKey) -> str:
    """The DID URL of a key in the issuer's did:web document."""
    return f"{urls.issuer_did(issuer_slug)}#{key.public_key_multibase}"


def active_key(
    session: Session, issuer: m.Issuer, ctx: IssuingContext, now: datetime
) -> tuple[m.IssuerKey, keys.KeyPair]:
    """The issuer's newest active key and its private half; one is made if the issuer has none."""
    row = session.scalar(
        select(m.IssuerKey)
        .where(m.IssuerKey.issuer_id == issuer.id, m.IssuerKey.state == "active")
        .order_by(m.IssuerKey.id.desc())
    )
    if row is None:
        return new_key(session, issuer, ctx, now)
    pair = ctx.keystore.load(row.key_name)
    if pair.public_key_multibase != row.public_key_multibase:
        raise IssuingError(f"The key file {row.key_name} does not hold the key the database records.")
    return row, pair


def new_key(
    session: Session, issuer: m.Issuer, ctx: IssuingContext, now: datetime
) -> tuple[m.IssuerKey, keys.KeyPair]:
    """Record a new active key `issuer-<slug>-<n>` for the issuer (in the caller's transaction).

    The key file is written before the row commits. A file left by an operation that was interrupted
    before its commit names no key in the database; it is taken up here instead of a new one.
    """
    recorded = set(session.scalars(select(m.IssuerKey.key_name).where(m.IssuerKey.issuer_id == issuer.id)))
    number = len(recorded) + 1
    while f"issuer-{issuer.slug}-{number}" in recorded:
        number += 1
    name = f"issuer-{issuer.slug}-{number}"
    pair = ctx.keystore.load(name) if ctx.keystore.exists(name) else ctx.keystore.generate(name, now=now)
    if pair.private_key is None:
        raise IssuingError(f"The key file {name} holds no private key.")
    row = m.IssuerKey(
        issuer_id=issuer.id,
        key_name=name,
        public_key_multibase=pair.public_key_multibase,
        state="active",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, pair


def status_list(
    session: Session, issuer: m.Issuer, purpose: str, ctx: IssuingContext, now: datetime
) -> m.StatusList:
    """The issuer's current status list for `purpose`, created empty on first use."""
    row = session.scalar(
        select(m.StatusList)
        .where(m.StatusList.issuer_id == issuer.id, m.StatusList.purpose == purpose)
        .order_by(m.StatusList.number.desc())
    )
    return _new_list(session, issuer, purpose, 1, ctx, now) if row is None else row


def allocate_index(session: Session, lists: tuple[m.StatusList, ...], ctx: IssuingContext) -> int | None:
    """A random index free in every one of `lists` (STAT-2); None when none was found (the lists are full).

    A credential holds the same index in its revocation and suspension lists; indexes are never reused.
    """
    size = min(row.size for row in lists)
    for _ in range(64):
        index = ctx.random_index(size)
        taken = session.scalar(
            select(m.Credential.id)
            .where(
                m.Credential.status_index == index,
                or_(
                    m.Credential.status_list_id.in_([row.id for row in lists]),
                    m.Credential.suspension_list_id.in_([row.id for row in lists]),
                ),
            )
            .limit(1)
        )
        if taken is None:
            return index
    return None


def _new_list(
    session: Session, issuer: m.Issuer, purpose: str, number: int, ctx: IssuingContext, now: datetime
) -> m.StatusList:
    row = m.StatusList(
        issuer_id=issuer.id,
        purpose=purpose,
        number=number,
        size=ctx.status_list_size,
        bits=bytes(bitstring.empty(ctx.status_list_size)),
        signed_json=None,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    sign_list(session, row, ctx, now)  # published signed from the start: a reader never signs
    return row


def status_slot(
    session: Session, issuer: m.Issuer, ctx: IssuingContext, now: datetime, *, suspension: bool | None = None
) -> tuple[m.StatusList, m.StatusList | None, int]:
    """The revocation list, the suspension list (when credentials carry one) and a fresh index in both.

    When the current lists have no free index left, the next numbered lists are started.
    """
    wanted = ctx.suspension_entries if suspension is None else suspension
    revocation = status_list(session, issuer, REVOCATION, ctx, now)
    suspension_list = status_list(session, issuer, SUSPENSION, ctx, now) if wanted else None
    lists = (revocation,) if suspension_list is None else (revocation, suspension_list)
    index = allocate_index(session, lists, ctx)
    if index is None:
        revocation = _new_list(session, issuer, REVOCATION, revocation.number + 1, ctx, now)
        if suspension_list is not None:
            suspension_list = _new_list(session, issuer, SUSPENSION, suspension_list.number + 1, ctx, now)
        lists = (revocation,) if suspension_list is None else (revocation, suspension_list)
        index = allocate_index(session, lists, ctx)
        if index is None:
            raise IssuingError("No free status list index was found in a new status list.")
    return revocation, suspension_list, index


def lock_list(session: Session, list_id: int | None) -> m.StatusList:
    """The status list row, locked for update on PostgreSQL and read afresh.

    Two transactions that each flip a bit of the same list would otherwise both start from the old
    bits, and the second commit would undo the first (SQLite writers are already one at a time).
    """
    row = session.scalar(
        select(m.StatusList)
        .where(m.StatusList.id == list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise IssuingError(f"The status list {list_id} is missing.")
    return row


def set_bit(row: m.StatusList, index: int, value: bool) -> bool:
    """Set one status bit; True when it changed (the list must then be signed again)."""
    if bool(bitstring.get_bit(row.bits, index)) == value:
        return False
    bits = bytearray(row.bits)
    bitstring.set_bit(bits, index, int(value))
    row.bits = bytes(bits)
    row.signed_json = None
    return True


def signed_status_list(session: Session, row: m.StatusList, ctx: IssuingContext, now: datetime) -> str:
    """The signed list credential; signed again only when its bits changed or its key left (STAT-5)."""
    if row.signed_json is not None:
        return row.signed_json
    return sign_list(session, row, ctx, now)


def sign_list(session: Session, row: m.StatusList, ctx: IssuingContext, now: datetime) -> str:
    """Sign the list's current bits with the issuer's active key, in the caller's transaction.

    The signed JSON is written in the same transaction as the bits, so a reader sees the old list
    or the new one, never half of a change.
    """
    issuer = row.issuer
    key, pair = active_key(session, issuer, ctx, now)
    if pair.private_key is None:
        raise IssuingError(f"The key {key.key_name} cannot sign.")
    unsigned = build_status_list(
        list_url=ctx.urls.status_list(issuer.slug, row.purpose, row.number),
        issuer_id=ctx.urls.issuer_did(issuer.slug),
        purpose=row.purpose,
        bits=row.bits,
        valid_from=now,
        ttl_ms=LIST_TTL_SECONDS * 1000,
    )
    signed = sign_credential(
        unsigned,
        private_key=pair.private_key,
        verification_method=verification_method(ctx.urls, issuer.slug, key),
        now=now,
        canonicalizer=ctx.canonicalizer,
        schema_url=None,
    )
    row.signed_json = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    row.key_id = key.id
    row.updated_at = now
    session.flush()
    return row.signed_json


def achievement_spec(version: m.MicrocredentialVersion, urls: Urls) -> build.AchievementSpec:
    """The Achievement of one microcredential version, with rubric, alignment and related versions."""
    micro = version.microcredential
    achievement_id = urls.achievement(micro.slug, version.version)
    rubric = tuple(
        build.RubricCriterion(
            id=f"{achievement_id}#{criterion['id']}",
            name=str(criterion["name"]),
            description=str(criterion["description"]),
            required_level=f"{achievement_id}#{criterion['id']}-{criterion['required']}",
            levels=tuple(
                build.RubricLevel(
                    id=f"{achievement_id}#{criterion['id']}-{level['id']}",
                    name=level["name"],
                    description=level["description"],
                )
                for level in rubric_levels(criterion)
            ),
        )
        for criterion in version.rubric
    )
    evidence = "\n".join(f"- {item['name']}: {item['description']}" for item in version.evidence)
    return build.AchievementSpec(
        id=achievement_id,
        name=version.name,
        description=version.description,
        criteria_narrative=f"{version.criteria}\n\nEvidence submitted:\n{evidence}",
        criteria_url=achievement_id,
        image=urls.image(version.image_png_id, "png"),
        image_caption=f"{version.name} badge",
        achievement_type=version.achievement_type,
        credits_available=float(version.credit),
        version=version.version,
        alignments=tuple(
            build.Alignment(target_name=a["name"], target_url=a["url"], target_framework=a.get("framework"))
            for a in version.alignments
        ),
        rubric=rubric,
        related=tuple(
            build.Related(id=urls.achievement(micro.slug, other.version), version=other.version)
            for other in micro.versions
            if other.id != version.id
        ),
        tags=tuple(version.tags),
        creator=issuer_profile(micro.issuer, urls),
    )


def level_meets(criterion: dict[str, Any], level_id: str) -> bool | None:
    """Whether `level_id` reaches the criterion's required level; None if it is not one of its levels."""
    order = [str(level["id"]) for level in rubric_levels(criterion)]
    if level_id not in order:
        return None
    return order.index(level_id) >= order.index(str(criterion["required"]))


def rubric_levels(criterion: dict[str, Any]) -> list[dict[str, str]]:
    """The levels of a stored rubric criterion, lowest first."""
    levels = criterion.get("levels")
    return list(levels) if isinstance(levels, list) else []


def recipient(person: m.Person, ctx: IssuingContext) -> build.Recipient:
    """The earner as a credential names them: a salted email hash, and the name they chose to publish."""
    return build.Recipient(email=person.email, salt=ctx.new_salt(), name=person.public_name)


CREDENTIAL_AUDIT_FIELDS = (
    "id",
    "kind",
    "earner_id",
    "issuer_id",
    "key_id",
    "version_id",
    "stack_id",
    "bundle_id",
    "submission_id",
    "status_list_id",
    "suspension_list_id",
    "status_index",
    "credit",
    "issued_at",
    "valid_until",
    "replaces_id",
)


def issue_credential(
    session: Session,
    ctx: IssuingContext,
    now: datetime,
    *,
    issuer: m.Issuer,
    spec: build.AchievementSpec,
    earner: m.Person,
    kind: str,
    credit: Decimal,
    results: tuple[build.ResultAchieved, ...] = (),
    evidence: tuple[build.EvidenceItem, ...] = (),
    related_resources: tuple[build.RelatedResource, ...] = (),
    links: dict[str, int | None] | None = None,
    valid_until: datetime | None = None,
    awarded: datetime | None = None,
    replaces: str | None = None,
) -> m.Credential:
    """Build, sign and store one credential at a fresh status index; `links` sets version/stack/bundle ids.

    `awarded` keeps the original award date when a credential is issued again (reissue).
    """
    key, pair = active_key(session, issuer, ctx, now)
    if pair.private_key is None:
        raise IssuingError(f"The key {key.key_name} cannot sign.")
    revocation, suspension, index = status_slot(session, issuer, ctx, now)
    credential_id = ctx.new_id()
    unsigned = build.build_credential(
        issuer_profile(issuer, ctx.urls),
        spec,
        recipient(earner, ctx),
        build.Award(
            credential_id=ctx.urls.credential(credential_id),
            valid_from=now,
            valid_until=valid_until,
            awarded_date=awarded,
            results=results,
            evidence=evidence,
            credits_earned=float(credit),
            status=status_entries(ctx, issuer, revocation, suspension, index),
            related_resources=related_resources,
        ),
    )
    signed = sign_credential(
        unsigned,
        private_key=pair.private_key,
        verification_method=verification_method(ctx.urls, issuer.slug, key),
        now=now,
        canonicalizer=ctx.canonicalizer,
    )
    row = m.Credential(
        id=credential_id,
        kind=kind,
        earner_id=earner.id,
        issuer_id=issuer.id,
        key_id=key.id,
        status_list_id=revocation.id,
        suspension_list_id=None if suspension is None else suspension.id,
        status_index=index,
        signed_json=json.dumps(signed, ensure_ascii=False, indent=2),
        credit=credit,
        issued_at=now,
        public=True,
        valid_until=valid_until,
        replaces_id=replaces,
        **(links or {}),
    )
    return record_issued(session, row, now)


def status_entries(
    ctx: IssuingContext,
    issuer: m.Issuer,
    revocation: m.StatusList,
    suspension: m.StatusList | None,
    index: int,
) -> build.StatusEntry | tuple[build.StatusEntry, ...]:
    """The credential's status entries: revocation, and suspension when it carries one (same index)."""
    entry = build.StatusEntry(ctx.urls.status_list(issuer.slug, REVOCATION, revocation.number), index)
    if suspension is None:
        return entry
    return entry, build.StatusEntry(
        ctx.urls.status_list(issuer.slug, SUSPENSION, suspension.number), index, SUSPENSION
    )


def record_issued(session: Session, row: m.Credential, now: datetime) -> m.Credential:
    """Store a newly signed credential and its audit entry."""
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=None,
        action=f"credential.issued.{row.kind}",
        subject=row,
        now=now,
        after=audit.snapshot(row, CREDENTIAL_AUDIT_FIELDS),
    )
    return row


def _published_evidence(session: Session, submission: m.Submission) -> tuple[build.EvidenceItem, ...]:
    """The submitted evidence items as public Evidence: title, description and a link's URL, never files."""
    items = session.scalars(
        select(m.EvidenceItem)
        .where(m.EvidenceItem.submission_id == submission.id, m.EvidenceItem.attempt_id.is_not(None))
        .order_by(m.EvidenceItem.id)
    )
    return tuple(
        build.EvidenceItem(
            id=item.url if item.kind == "link" else None,
            name=item.title,
            description=item.description or None,
        )
        for item in items
    )


def issue_for_submission(
    session: Session, submission: m.Submission, review: m.Review, ctx: IssuingContext, now: datetime
) -> m.Credential:
    """Issue, sign and store the credential for an earned submission (in the caller's transaction)."""
    version = submission.version
    spec = achievement_spec(version, ctx.urls)
    results = tuple(
        build.ResultAchieved(
            criterion_id=f"{spec.id}#{criterion_id}", level_id=f"{spec.id}#{criterion_id}-{level_id}"
        )
        for criterion_id, level_id in review.scores.items()
    )
    attempt = review.attempt
    narrative = (
        f"{submission.educator.public_name or 'The educator'} submitted {len(attempt.evidence)} "
        f"piece(s) of evidence and {len(attempt.reflections)} reflection(s) (attempt {attempt.number}); "
        "a trained reviewer scored them against the rubric and found every criterion met."
    )
    summary = build.EvidenceItem(name="Review summary", narrative=narrative)
    published = _published_evidence(session, submission) if submission.publish_evidence else ()
    evidence = (summary, *published)
    return issue_credential(
        session,
        ctx,
        now,
        issuer=version.microcredential.issuer,
        spec=spec,
        earner=submission.educator,
        kind="microcredential",
        credit=version.credit,
        results=results,
        evidence=evidence,
        links={"version_id": version.id, "submission_id": submission.id},
        valid_until=None if version.validity_days is None else now + timedelta(days=version.validity_days),
    )
