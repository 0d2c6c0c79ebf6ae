"""Submissions, attempts and rubric reviews; an earned review issues the credential in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import BadgeServerError, InputError, NotFound
from badgeserver.identity import is_email, normalize_email
from badgeserver.program.issuing import IssuingContext, issue_for_submission, rubric_levels
from badgeserver.store import models as m

MAX_TEXT = 20_000


class WorkflowError(BadgeServerError):
    """The action does not fit the record's state (for example, reviewing a draft)."""

    code = "conflict"


class Forbidden(BadgeServerError):
    """The person may not take this action."""

    code = "forbidden"


@dataclass(frozen=True)
class ReviewOutcome:
    """A stored review and, when it earned the microcredential, the credential issued."""

    review: m.Review
    credential: m.Credential | None


def create_person(
    session: Session,
    *,
    email: str,
    name: str,
    now: datetime,
    public_name: str | None = None,
    reviewer: bool = False,
    staff: bool = False,
) -> m.Person:
    """Add an educator (optionally a reviewer or staff member)."""
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
    return person


def current_version(session: Session, slug: str) -> m.MicrocredentialVersion:
    """The newest version of an active microcredential; retired ones take no new submissions."""
    micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == slug))
    if micro is None or not micro.versions:
        raise NotFound(f"There is no microcredential {slug!r}.")
    if micro.state != "active":
        raise WorkflowError(f"The microcredential {slug!r} is retired and takes no new submissions.")
    return micro.versions[-1]


def start_submission(session: Session, educator: m.Person, slug: str, *, now: datetime) -> m.Submission:
    """Open a draft submission for the current version of microcredential `slug`."""
    version = current_version(session, slug)
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
    return submission


def _texts(values: list[str], what: str) -> list[str]:
    cleaned = [str(value).strip() for value in values]
    if any(not value for value in cleaned):
        raise InputError(f"Every {what} must be filled in.")
    if any(len(value) > MAX_TEXT for value in cleaned):
        raise InputError(f"A {what} is longer than {MAX_TEXT} characters.")
    return cleaned


def submit_attempt(
    session: Session,
    submission: m.Submission,
    *,
    evidence: list[dict[str, str]],
    reflections: list[str],
    fee_receipt: str,
    now: datetime,
) -> m.Attempt:
    """Submit evidence and reflections (with the fee receipt) for review; returned work may be resubmitted."""
    if submission.state not in ("draft", "returned"):
        raise WorkflowError(f"Submission {submission.id} is {submission.state} and cannot be submitted now.")
    prompts = submission.version.reflection_prompts
    if len(reflections) != len(prompts):
        raise InputError(f"Answer each of the {len(prompts)} reflection prompts.")
    if not evidence:
        raise InputError("Add at least one piece of evidence.")
    items = []
    for item in evidence:
        name = str(item.get("name", "")).strip()
        if not name:
            raise InputError("Every piece of evidence needs a name.")
        items.append({"name": name[:200], "description": str(item.get("description", "")).strip()[:MAX_TEXT]})
    if not fee_receipt.strip():
        raise InputError("Record the review fee as paid (a fee receipt) before submitting.")
    attempt = m.Attempt(
        submission_id=submission.id,
        number=len(submission.attempts) + 1,
        evidence=items,
        reflections=_texts(reflections, "reflection"),
        fee_receipt=fee_receipt.strip()[:100],
        submitted_at=now,
    )
    session.add(attempt)
    submission.state = "submitted"
    submission.updated_at = now
    session.flush()
    session.expire(submission, ["attempts"])
    return attempt


def review_submission(
    session: Session,
    submission: m.Submission,
    reviewer: m.Person,
    *,
    scores: dict[str, str],
    feedback: dict[str, str],
    now: datetime,
    issuing: IssuingContext,
) -> ReviewOutcome:
    """Score the latest attempt per rubric criterion; all criteria met earns it and issues the credential."""
    if not reviewer.is_reviewer:
        raise Forbidden(f"{reviewer.email} is not a reviewer.")
    if reviewer.id == submission.educator_id:
        raise Forbidden("Nobody reviews their own submission.")
    if submission.state != "submitted":
        raise WorkflowError(f"Submission {submission.id} is {submission.state}, not waiting for review.")
    attempt = submission.attempts[-1]
    rubric = {str(c["id"]): c for c in submission.version.rubric}
    unknown = sorted(set(scores) - set(rubric))
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a criterion of this rubric.")
    missing = [cid for cid in rubric if cid not in scores]
    if missing:
        raise InputError(f"Score every rubric criterion; {missing[0]!r} has no score.")
    met = {}
    for cid, criterion in rubric.items():
        order = [str(level["id"]) for level in rubric_levels(criterion)]
        if scores[cid] not in order:
            raise InputError(f"{scores[cid]!r} is not a level of criterion {cid!r}.")
        met[cid] = order.index(scores[cid]) >= order.index(str(criterion["required"]))
    notes = {cid: str(text).strip()[:MAX_TEXT] for cid, text in feedback.items() if str(text).strip()}
    for cid, ok in met.items():
        if not ok and cid not in notes:
            raise InputError(f"Give feedback on {cid!r}, which is not yet met.")
    decision = "earned" if all(met.values()) else "returned"
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
    credential = (
        issue_for_submission(session, submission, review, issuing, now) if decision == "earned" else None
    )
    return ReviewOutcome(review=review, credential=credential)
