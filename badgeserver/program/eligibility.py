"""Who may review what: trained reviewers who hold a whole stack, or staff-assigned founding reviewers.

A reviewer may review a submission when they are marked trained, it is not their own, and they hold
every microcredential (any version) of a stack that contains the submission's microcredential, or
staff assigned them to such a stack as a founding reviewer. A microcredential that belongs to no stack
has no holders to draw on, so only founding reviewers (of any stack) may review it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.store import models as m


def held_microcredential_ids(session: Session, person_id: int) -> set[int]:
    """The microcredentials (any version) a person holds a microcredential credential for."""
    query = (
        select(m.MicrocredentialVersion.microcredential_id)
        .join(m.Credential, m.Credential.version_id == m.MicrocredentialVersion.id)
        .where(
            m.Credential.earner_id == person_id,
            m.Credential.kind == "microcredential",
            m.Credential.revoked_at.is_(None),  # a revoked credential is not held
        )
    )
    return set(session.scalars(query))


def founding_stack_ids(session: Session, person_id: int) -> set[int]:
    """The stacks staff assigned the person to as a founding reviewer."""
    query = select(m.ReviewerAssignment.stack_id).where(m.ReviewerAssignment.person_id == person_id)
    return set(session.scalars(query))


def _stack_members(session: Session) -> dict[int, set[int]]:
    """Every stack's member microcredential ids."""
    members: dict[int, set[int]] = {}
    query = select(m.StackMember.stack_id, m.StackMember.microcredential_id)
    for stack_id, micro_id in session.execute(query):
        members.setdefault(stack_id, set()).add(micro_id)
    return members


def _is_trained(person: m.Person) -> bool:
    return bool(person.is_reviewer and person.active)


def eligible_stacks(session: Session, person: m.Person) -> list[m.Stack]:
    """The stacks whose microcredentials the person may review (empty unless a trained, active reviewer)."""
    if not _is_trained(person):
        return []
    held = held_microcredential_ids(session, person.id)
    founding = founding_stack_ids(session, person.id)
    ids = {sid for sid, members in _stack_members(session).items() if members <= held or sid in founding}
    if not ids:
        return []
    return list(session.scalars(select(m.Stack).where(m.Stack.id.in_(ids)).order_by(m.Stack.id)))


def reviewable_microcredential_ids(session: Session, person: m.Person) -> set[int]:
    """The microcredentials whose submissions the person may review."""
    if not _is_trained(person):
        return set()
    held = held_microcredential_ids(session, person.id)
    founding = founding_stack_ids(session, person.id)
    members = _stack_members(session)
    result: set[int] = set()
    for stack_id, micro_ids in members.items():
        if micro_ids <= held or stack_id in founding:
            result |= micro_ids
    if founding:
        in_a_stack = set().union(*members.values()) if members else set()
        result |= set(session.scalars(select(m.Microcredential.id))) - in_a_stack
    return result


def refusal(session: Session, person: m.Person, submission: m.Submission) -> str | None:
    """Why the person may not review the submission (one sentence), or None when they may."""
    if not person.is_reviewer:
        return f"{person.email} is not a reviewer."
    if not person.active:
        return f"{person.email} is not an active account."
    if person.id == submission.educator_id:
        return "Nobody reviews their own submission."
    if submission.version.microcredential_id not in reviewable_microcredential_ids(session, person):
        return (
            f"{person.email} may not review {submission.version.name}: a reviewer must hold every "
            "microcredential of a stack that contains it, or be assigned to such a stack as a "
            "founding reviewer."
        )
    return None


def can_review(session: Session, person: m.Person, submission: m.Submission) -> bool:
    """True when the person may review the submission (whatever its state)."""
    return refusal(session, person, submission) is None


def review_queue(session: Session, person: m.Person) -> list[m.Submission]:
    """The submissions waiting for review that the person may review, the longest-waiting first."""
    micro_ids = reviewable_microcredential_ids(session, person)
    if not micro_ids:
        return []
    query = (
        select(m.Submission)
        .join(m.MicrocredentialVersion, m.Submission.version_id == m.MicrocredentialVersion.id)
        .where(
            m.Submission.state == "submitted",
            m.Submission.educator_id != person.id,
            m.MicrocredentialVersion.microcredential_id.in_(micro_ids),
        )
        .order_by(m.Submission.updated_at, m.Submission.id)
    )
    return list(session.scalars(query))


def reviewer_may_see(session: Session, person: m.Person, submission: m.Submission) -> bool:
    """A reviewer sees a submission while it waits for a review they may give, or one they reviewed."""
    if submission.state == "submitted" and can_review(session, person, submission):
        return True
    reviewed = session.scalar(
        select(m.Review.id)
        .join(m.Attempt, m.Review.attempt_id == m.Attempt.id)
        .where(m.Attempt.submission_id == submission.id, m.Review.reviewer_id == person.id)
    )
    return reviewed is not None and person.active
