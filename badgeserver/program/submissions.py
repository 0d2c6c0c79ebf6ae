"""Submissions, fees, attempts and rubric reviews; an earned review issues the credential in one transaction.

The earning review also issues every stack and bundle it completes, adds the reviewer's payout and
writes the earner's notification, all in the caller's transaction: all of it happens, or none.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.config import Settings
from badgeserver.errors import BadgeServerError, InputError, NotFound
from badgeserver.identity import is_email, normalize_email
from badgeserver.program import audit, compose, eligibility, notify, payouts
from badgeserver.program.issuing import IssuingContext, issue_for_submission, level_meets
from badgeserver.store import models as m

MAX_TEXT = 20_000
DEFAULT_MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
SUBMISSION_FIELDS = ("id", "educator_id", "version_id", "state", "publish_evidence", "updated_at")


class WorkflowError(BadgeServerError):
    """The action does not fit the record's state (for example, reviewing a draft)."""

    code = "conflict"


class Forbidden(BadgeServerError):
    """The person may not take this action."""

    code = "forbidden"


def random_receipt_code() -> str:
    """Six random letters and digits for a fee receipt number."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))


@dataclass
class ProgramContext:
    """The program's settings and randomness, passed in like IssuingContext so tests control them."""

    reviewer_share_percent: int = payouts.DEFAULT_SHARE_PERCENT
    max_evidence_bytes: int = DEFAULT_MAX_EVIDENCE_BYTES
    receipt_code: Callable[[], str] = field(default=random_receipt_code)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProgramContext:
        """The context for a deployment's settings."""
        return cls(
            reviewer_share_percent=settings.reviewer_share_percent,
            max_evidence_bytes=settings.max_evidence_bytes,
        )


@dataclass(frozen=True)
class ReviewOutcome:
    """A stored review, its payout, and the credentials it issued (microcredential, stacks, bundles)."""

    review: m.Review
    credential: m.Credential | None
    composites: tuple[m.Credential, ...] = ()
    payout: m.Payout | None = None


def create_person(
    session: Session,
    *,
    email: str,
    name: str,
    now: datetime,
    public_name: str | None = None,
    reviewer: bool = False,
    staff: bool = False,
    actor: m.Person | None = None,
) -> m.Person:
    """Add an educator (optionally a reviewer or staff member); audited as done by `actor`."""
    address = normalize_email(email)
    if not is_email(address):
        raise InputError(f"{email!r} is not an email address.")
    if not name.strip():
        raise InputError("A person needs a name.")
    if session.scalar(select(m.Person).where(m.Person.email == address)) is not None:
        raise WorkflowError(f"Someone with the email {address} already exists.")
    person = m.Person(
        email=address,
        name=name.strip(),
        public_name=public_name,
        is_reviewer=reviewer,
        is_staff=staff,
        created_at=now,
    )
    session.add(person)
    session.flush()
    audit.record(session, actor=actor, action="person.created", subject=person, now=now)
    return person


def current_version(session: Session, slug: str) -> m.MicrocredentialVersion:
    """The newest version of an active microcredential; retired ones take no new submissions."""
    micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == slug))
    if micro is None or not micro.versions:
        raise NotFound(f"There is no microcredential {slug!r}.")
    if micro.state != "active":
        raise WorkflowError(f"The microcredential {slug!r} is retired and takes no new submissions.")
    return micro.versions[-1]


def lock_row(session: Session, model: type[m.Base], row_id: int) -> None:
    """Lock one row until the transaction ends (PostgreSQL); SQLite transactions are serialized already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model).where(model.id == row_id).with_for_update())  # type: ignore[attr-defined]


def start_submission(session: Session, educator: m.Person, slug: str, *, now: datetime) -> m.Submission:
    """Open a draft submission for the current version of microcredential `slug`."""
    version = current_version(session, slug)
    lock_row(session, m.Person, educator.id)  # one start at a time per educator
    held = session.scalar(
        select(m.Credential)
        .join(m.MicrocredentialVersion, m.Credential.version_id == m.MicrocredentialVersion.id)
        .where(
            m.Credential.earner_id == educator.id,
            m.Credential.kind == "microcredential",
            m.Credential.revoked_at.is_(None),  # a revoked credential may be earned again
            m.MicrocredentialVersion.microcredential_id == version.microcredential_id,
        )
    )
    if held is not None:
        # A microcredential is earned once: its credit must not count twice on the transcript.
        raise WorkflowError(f"{educator.email} already holds {version.name!r}; it is earned only once.")
    open_one = session.scalar(
        select(m.Submission)
        .join(m.MicrocredentialVersion)
        .where(
            m.Submission.educator_id == educator.id,
            m.MicrocredentialVersion.microcredential_id == version.microcredential_id,
            m.Submission.state != "earned",
        )
    )
    if open_one is not None:
        raise WorkflowError(f"{educator.email} already has an open submission for {slug!r}.")
    submission = m.Submission(
        educator_id=educator.id, version_id=version.id, state="draft", created_at=now, updated_at=now
    )
    session.add(submission)
    session.flush()
    audit.record(session, actor=educator, action="submission.started", subject=submission, now=now)
    return submission


def _owner(submission: m.Submission, actor: m.Person, *, staff_too: bool = False) -> None:
    if actor.id == submission.educator_id or (staff_too and actor.is_staff):
        return
    raise Forbidden("Only the educator who owns this submission may do that.")


def _open_for_changes(submission: m.Submission) -> None:
    if submission.state not in ("draft", "returned"):
        raise WorkflowError(
            f"Submission {submission.id} is {submission.state}; it can change only while draft or returned."
        )


def unused_payment(session: Session, submission: m.Submission) -> m.Payment | None:
    """The fee recorded for the submission's next attempt, if one is paid and not yet used."""
    query = (
        select(m.Payment)
        .where(m.Payment.submission_id == submission.id, m.Payment.attempt_id.is_(None))
        .order_by(m.Payment.id)
    )
    return session.scalars(query).first()


def record_fee(
    session: Session,
    submission: m.Submission,
    actor: m.Person,
    *,
    now: datetime,
    program: ProgramContext | None = None,
) -> m.Payment:
    """Record the review fee for the next attempt as paid; returns the payment with its receipt number."""
    ctx = program or ProgramContext()
    _owner(submission, actor, staff_too=True)
    lock_row(session, m.Submission, submission.id)  # one fee at a time per submission
    _open_for_changes(submission)
    waiting = unused_payment(session, submission)
    if waiting is not None:
        raise WorkflowError(f"The fee for the next attempt is already paid (receipt {waiting.receipt}).")
    for _ in range(20):
        receipt = f"FEE-{now.year}-{ctx.receipt_code()}"
        if session.scalar(select(m.Payment.id).where(m.Payment.receipt == receipt)) is None:
            break
    else:
        raise WorkflowError("No unused receipt number was found; try again.")
    payment = m.Payment(
        submission_id=submission.id, receipt=receipt, amount_cents=submission.version.fee_cents, paid_at=now
    )
    session.add(payment)
    session.flush()
    audit.record(session, actor=actor, action="fee.paid", subject=payment, now=now)
    return payment


def set_publish_evidence(
    session: Session, submission: m.Submission, actor: m.Person, publish: bool, *, now: datetime
) -> m.Submission:
    """The owner chooses whether the credential will list their evidence items (while draft or returned)."""
    _owner(submission, actor)
    _open_for_changes(submission)
    if submission.publish_evidence == publish:
        return submission
    before = audit.snapshot(submission, SUBMISSION_FIELDS)
    submission.publish_evidence = publish
    submission.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="submission.publish_evidence",
        subject=submission,
        now=now,
        before=before,
        after=audit.snapshot(submission, SUBMISSION_FIELDS),
    )
    return submission


def _texts(values: list[str], what: str) -> list[str]:
    cleaned = [str(value).strip() for value in values]
    if any(not value for value in cleaned):
        raise InputError(f"Every {what} must be filled in.")
    if any(len(value) > MAX_TEXT for value in cleaned):
        raise InputError(f"A {what} is longer than {MAX_TEXT} characters.")
    return cleaned


def _payment_for(session: Session, submission: m.Submission, receipt: str | None) -> m.Payment:
    if receipt is None:
        payment = unused_payment(session, submission)
        if payment is None:
            raise InputError(
                "Record the review fee as paid before submitting: each attempt needs its own fee."
            )
        return payment
    found = session.scalar(select(m.Payment).where(m.Payment.receipt == receipt.strip()))
    if found is None or found.submission_id != submission.id:
        raise InputError(f"There is no fee receipt {receipt.strip()!r} for this submission.")
    if found.attempt_id is not None:
        raise InputError(f"The fee receipt {found.receipt} has already paid for an attempt.")
    return found


def submit_attempt(
    session: Session,
    submission: m.Submission,
    *,
    reflections: list[str],
    now: datetime,
    receipt: str | None = None,
) -> m.Attempt:
    """Submit the pending evidence and the reflections for review, paid by an unused fee payment."""
    # Returned work may be resubmitted without limit, each attempt with its own fee; items added
    # since the last attempt attach to this one, earlier items stay with theirs, and the attempt's
    # evidence summary lists them all.
    lock_row(session, m.Submission, submission.id)
    session.refresh(submission)
    if submission.state not in ("draft", "returned"):
        raise WorkflowError(f"Submission {submission.id} is {submission.state} and cannot be submitted now.")
    prompts = submission.version.reflection_prompts
    if len(reflections) != len(prompts):
        raise InputError(f"Answer each of the {len(prompts)} reflection prompts.")
    answers = _texts(reflections, "reflection")
    items = list(
        session.scalars(
            select(m.EvidenceItem)
            .where(m.EvidenceItem.submission_id == submission.id)
            .order_by(m.EvidenceItem.id)
        )
    )
    if not items:
        raise InputError("Add at least one piece of evidence.")
    payment = _payment_for(session, submission, receipt)
    before = audit.snapshot(submission, SUBMISSION_FIELDS)
    attempt = m.Attempt(
        submission_id=submission.id,
        number=len(submission.attempts) + 1,
        evidence=[{"name": item.title, "description": item.description} for item in items],
        reflections=answers,
        fee_receipt=payment.receipt,
        submitted_at=now,
    )
    session.add(attempt)
    session.flush()
    payment_before = audit.snapshot(payment)
    payment.attempt_id = attempt.id
    for item in items:
        if item.attempt_id is None:
            item.attempt_id = attempt.id
    submission.state = "submitted"
    submission.updated_at = now
    session.flush()
    session.expire(submission, ["attempts"])
    educator = submission.educator
    audit.record(session, actor=educator, action="attempt.submitted", subject=attempt, now=now)
    audit.record(session, actor=educator, action="fee.used", subject=payment, now=now, before=payment_before)
    audit.record(
        session,
        actor=educator,
        action="submission.submitted",
        subject=submission,
        now=now,
        before=before,
        after=audit.snapshot(submission, SUBMISSION_FIELDS),
    )
    return attempt


def _decide(
    rubric: dict[str, dict[str, object]], scores: dict[str, str], feedback: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """Check scores and feedback against the rubric; return the decision and the kept feedback."""
    unknown = sorted((set(scores) | set(feedback)) - set(rubric))
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a criterion of this rubric.")
    missing = [cid for cid in rubric if cid not in scores]
    if missing:
        raise InputError(f"Score every rubric criterion; {missing[0]!r} has no score.")
    met = {}
    for cid, criterion in rubric.items():
        meets = level_meets(criterion, scores[cid])
        if meets is None:
            raise InputError(f"{scores[cid]!r} is not a level of criterion {cid!r}.")
        met[cid] = meets
    notes = {cid: str(text).strip() for cid, text in feedback.items() if str(text).strip()}
    for cid, text in notes.items():
        if len(text) > MAX_TEXT:
            raise InputError(f"The feedback on {cid!r} is longer than {MAX_TEXT} characters.")
    for cid, ok in met.items():
        if not ok and cid not in notes:
            raise InputError(f"Give feedback on {cid!r}, which is not yet met.")
    return ("earned" if all(met.values()) else "returned"), notes


def review_submission(
    session: Session,
    submission: m.Submission,
    reviewer: m.Person,
    *,
    scores: dict[str, str],
    feedback: dict[str, str],
    now: datetime,
    issuing: IssuingContext,
    program: ProgramContext | None = None,
) -> ReviewOutcome:
    """Score the latest attempt per rubric criterion; all criteria met earns it and issues the credential."""
    # Only an eligible reviewer may review (eligibility.py). Every completed review pays the reviewer
    # their share of the fee; an earned one also issues every stack and bundle it completes, and the
    # educator is notified either way. All in the caller's transaction.
    ctx = program or ProgramContext()
    refused = eligibility.refusal(session, reviewer, submission)
    if refused is not None:
        raise Forbidden(refused)
    lock_row(session, m.Submission, submission.id)  # two reviewers at once: the second sees it done
    session.refresh(submission)
    if submission.state != "submitted":
        raise WorkflowError(f"Submission {submission.id} is {submission.state}, not waiting for review.")
    attempt = submission.attempts[-1]
    rubric = {str(c["id"]): c for c in submission.version.rubric}
    decision, notes = _decide(rubric, scores, feedback)
    before = audit.snapshot(submission, SUBMISSION_FIELDS)
    review = m.Review(
        attempt_id=attempt.id,
        reviewer_id=reviewer.id,
        decision=decision,
        scores={cid: scores[cid] for cid in rubric},
        feedback=notes,
        created_at=now,
    )
    session.add(review)
    session.flush()
    review.attempt = attempt
    submission.state = decision
    submission.updated_at = now
    session.flush()
    audit.record(session, actor=reviewer, action="review.recorded", subject=review, now=now)
    audit.record(
        session,
        actor=reviewer,
        action=f"submission.{decision}",
        subject=submission,
        now=now,
        before=before,
        after=audit.snapshot(submission, SUBMISSION_FIELDS),
    )
    payout = payouts.add_payout(session, review, share_percent=ctx.reviewer_share_percent, now=now)
    if decision != "earned":
        notify.notify_returned(session, submission, review, now=now)
        return ReviewOutcome(review=review, credential=None, payout=payout)
    credential = issue_for_submission(session, submission, review, issuing, now)
    notify.notify_earned(
        session, submission.educator, submission.version.name, issuing.urls.credential(credential.id), now=now
    )
    composites = compose.complete_groups(session, submission.educator, credential, issuing, now)
    return ReviewOutcome(review=review, credential=credential, composites=tuple(composites), payout=payout)
