"""The tables. Records are rows; derived artifacts (baked images, QR codes) are never stored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (for migrations on both databases)."""

    metadata = MetaData(naming_convention=NAMING)


class Image(Base):
    """A badge or logo image, stored once by content (PNG or SVG bytes)."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Issuer(Base):
    """An organization that issues credentials; its DID is derived from BASE_URL and its slug."""

    __tablename__ = "issuers"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    image_png_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    image_svg_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    linkedin_organization_id: Mapped[str | None] = mapped_column(String(20), default=None)
    keys: Mapped[list[IssuerKey]] = relationship(back_populates="issuer", order_by="IssuerKey.id")


class IssuerKey(Base):
    """A signing key of an issuer: the private half lives in the key store under `key_name`."""

    __tablename__ = "issuer_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    key_name: Mapped[str] = mapped_column(String(64), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active, retired, revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    issuer: Mapped[Issuer] = relationship(back_populates="keys")


class Microcredential(Base):
    """A microcredential across its versions; retired ones take no new submissions."""

    __tablename__ = "microcredentials"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")  # active, retired
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    issuer: Mapped[Issuer] = relationship()
    versions: Mapped[list[MicrocredentialVersion]] = relationship(
        back_populates="microcredential", order_by="MicrocredentialVersion.id"
    )


class MicrocredentialVersion(Base):
    """One version of a microcredential: its texts, rubric, credit, fee and image."""

    __tablename__ = "microcredential_versions"
    __table_args__ = (UniqueConstraint("microcredential_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    microcredential_id: Mapped[int] = mapped_column(ForeignKey("microcredentials.id"))
    version: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    achievement_type: Mapped[str] = mapped_column(String(60), default="MicroCredential")
    description: Mapped[str] = mapped_column(Text)
    criteria: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reflection_prompts: Mapped[list[str]] = mapped_column(JSON)
    rubric: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    alignments: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[list[str]] = mapped_column(JSON)
    credit: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    fee_cents: Mapped[int] = mapped_column(Integer)
    validity_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None: never expires
    image_png_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    image_svg_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    microcredential: Mapped[Microcredential] = relationship(back_populates="versions")


class Stack(Base):
    """A set of related microcredentials; earning all of them earns the stack."""

    __tablename__ = "stacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    credit: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    image_png_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    image_svg_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    members: Mapped[list[StackMember]] = relationship(order_by="StackMember.position")


class StackMember(Base):
    """A microcredential's place in a stack."""

    __tablename__ = "stack_members"
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    microcredential_id: Mapped[int] = mapped_column(ForeignKey("microcredentials.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    microcredential: Mapped[Microcredential] = relationship()


class Bundle(Base):
    """A set of stacks; earning all of them earns the bundle."""

    __tablename__ = "bundles"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    credit: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    image_png_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    image_svg_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    members: Mapped[list[BundleMember]] = relationship(order_by="BundleMember.position")


class BundleMember(Base):
    """A stack's place in a bundle."""

    __tablename__ = "bundle_members"
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    stack: Mapped[Stack] = relationship()


class Person(Base):
    """An educator, reviewer or staff member. `public_name` is what the earner chose to publish."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    public_name: Mapped[str | None] = mapped_column(String(200))
    is_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Signing out bumps this, ending every session that recorded the old value.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The public profile: /earners/<profile_handle>, shown only while profile_public (never the email or id).
    profile_handle: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    profile_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RetiredHandle(Base):
    """A profile handle its earner moved away from: reserved to them, and sent on to their new one."""

    __tablename__ = "retired_handles"
    handle: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    retired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Submission(Base):
    """An educator's work toward one microcredential version, across all its attempts."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("microcredential_versions.id"))
    state: Mapped[str] = mapped_column(String(16))  # draft, submitted, returned, earned
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    publish_evidence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    educator: Mapped[Person] = relationship()
    version: Mapped[MicrocredentialVersion] = relationship()
    attempts: Mapped[list[Attempt]] = relationship(back_populates="submission", order_by="Attempt.number")


class Attempt(Base):
    """One submitted attempt: evidence, reflections and the fee receipt."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    number: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reflections: Mapped[list[str]] = mapped_column(JSON)
    fee_receipt: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submission: Mapped[Submission] = relationship(back_populates="attempts")
    review: Mapped[Review | None] = relationship(back_populates="attempt")


class Review(Base):
    """A reviewer's rubric scores and decision on one attempt."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    decision: Mapped[str] = mapped_column(String(16))  # earned, returned
    scores: Mapped[dict[str, str]] = mapped_column(JSON)  # criterion id -> level id
    feedback: Mapped[dict[str, str]] = mapped_column(JSON)  # criterion id -> text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempt: Mapped[Attempt] = relationship(back_populates="review")
    reviewer: Mapped[Person] = relationship()


class StatusList(Base):
    """A Bitstring Status List of one issuer and purpose; `bits` is the uncompressed bitstring."""

    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("issuer_id", "purpose", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    signed_json: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[int | None] = mapped_column(ForeignKey("issuer_keys.id"), default=None)  # its signer
    issuer: Mapped[Issuer] = relationship()


class Credential(Base):
    """An issued credential: the exact signed JSON, stored once and never rewritten."""

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_index"),
        UniqueConstraint("suspension_list_id", "status_index", name="uq_credentials_suspension_index"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, also in the URL
    kind: Mapped[str] = mapped_column(String(16))  # microcredential, stack, bundle
    earner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    key_id: Mapped[int] = mapped_column(ForeignKey("issuer_keys.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("microcredential_versions.id"))
    stack_id: Mapped[int | None] = mapped_column(ForeignKey("stacks.id"))
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("bundles.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), unique=True)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    status_index: Mapped[int] = mapped_column(Integer)  # the same index in both lists
    suspension_list_id: Mapped[int | None] = mapped_column(ForeignKey("status_lists.id"), default=None)
    signed_json: Mapped[str] = mapped_column(Text)
    credit: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revocation_reason: Mapped[str | None] = mapped_column(Text, default=None)  # private: never published
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    replaces_id: Mapped[str | None] = mapped_column(String(36), default=None)  # reissued from this credential
    earner: Mapped[Person] = relationship()
    issuer: Mapped[Issuer] = relationship()
    key: Mapped[IssuerKey] = relationship()
    version: Mapped[MicrocredentialVersion | None] = relationship()


class ReviewerAssignment(Base):
    """Staff's designation of a trained founding reviewer for a stack (before anyone holds it)."""

    __tablename__ = "reviewer_assignments"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvidenceItem(Base):
    """A file or link an educator submitted; private to its owner, reviewers and staff."""

    __tablename__ = "evidence_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id"), default=None
    )  # None: not yet submitted
    kind: Mapped[str] = mapped_column(String(8))  # file, link
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    media_type: Mapped[str | None] = mapped_column(String(100), default=None)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    """A review fee recorded as paid, with its receipt number (no payment gateway)."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    receipt: Mapped[str] = mapped_column(String(40), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id"), default=None
    )  # the attempt it paid for


class Payout(Base):
    """The reviewer's share of a fee, one per completed review."""

    __tablename__ = "payouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewer: Mapped[Person] = relationship()


class OutboxMessage(Base):
    """A notification waiting to be sent (SMTP when configured, the log otherwise)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; scoped and revocable."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    person: Mapped[Person] = relationship()


class LoginAttempt(Base):
    """A sign-in attempt, kept to throttle guessing."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEntry(Base):
    """One state change: who, when, what, and the record before and after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)  # None: the system
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    actor: Mapped[Person | None] = relationship()
