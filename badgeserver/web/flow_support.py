"""What the program pages and the JSON API share: who may see a submission, its view, dates, files."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, g, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import InputError, NotFound
from badgeserver.program import eligibility, payouts
from badgeserver.program import evidence as ev
from badgeserver.program.issuing import level_meets, rubric_levels
from badgeserver.program.urls import Urls
from badgeserver.store import models as m

DB_INT_MAX = 2**31 - 1
MAX_PERIOD_DAYS = 3660  # about ten years: a longer ledger is surely a typo
_DIGITS = re.compile(r"[0-9]{1,10}")  # not str.isdigit: "²" is a digit that int() refuses


Errors = list[tuple[str | None, str]]  # (the id of the field at fault, or None; the message)


class FormErrors(InputError):
    """A form's mistakes, each tied to its field, found before anything changed."""

    def __init__(self, errors: Errors) -> None:
        """Keep every mistake; the message is the first."""
        super().__init__(errors[0][1])
        self.errors = errors


def errors_of(exc: Exception, field: str | None = None) -> Errors:
    """The (field, message) list of a domain error: a FormErrors' own, or its message at `field`."""
    if isinstance(exc, FormErrors):
        return exc.errors
    return [(field, getattr(exc, "message", str(exc)))]


def form_number(text: str | None, *, maximum: int = DB_INT_MAX) -> int | None:
    """A positive whole number from a form or query (ASCII digits only), or None."""
    value = (text or "").strip()
    if not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= maximum else None


def html(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page with its status."""
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def actor(session: Session) -> m.Person:
    """The signed-in (or token) person, loaded in `session` so it can be changed and related."""
    person = session.get(m.Person, g.person.id)
    if person is None or not person.active:
        raise NotFound("There is no such person.")
    return person


def iso(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 UTC with a Z (SQLite hands back naive UTC times)."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def may_view(session: Session, submission: m.Submission, viewer: m.Person) -> bool:
    """The owner and staff see a submission; a reviewer while it waits for them, or after reviewing it."""
    if viewer.id == submission.educator_id or (viewer.is_staff and viewer.active):
        return True
    return eligibility.reviewer_may_see(session, viewer, submission)


def visible_submission(session: Session, number: int, viewer: m.Person) -> m.Submission:
    """The submission for someone who may see it; NotFound for everyone else (its existence is private)."""
    submission = session.get(m.Submission, number) if 0 < number <= DB_INT_MAX else None
    if submission is None or not may_view(session, submission, viewer):
        raise NotFound(f"There is no submission {number} that you may see.")
    return submission


def credential_of(session: Session, submission: m.Submission) -> m.Credential | None:
    """The microcredential credential an earned submission issued, if any."""
    return session.scalar(select(m.Credential).where(m.Credential.submission_id == submission.id))


def rubric_view(version: m.MicrocredentialVersion) -> list[dict[str, Any]]:
    """The rubric's criteria with their levels (lowest first) and the required level's name."""
    result = []
    for criterion in version.rubric:
        levels = rubric_levels(criterion)
        required = str(criterion["required"])
        result.append(
            {
                "id": str(criterion["id"]),
                "name": str(criterion["name"]),
                "description": str(criterion.get("description", "")),
                "required": required,
                "required_name": next((lv["name"] for lv in levels if lv["id"] == required), required),
                "levels": levels,
            }
        )
    return result


def _review_view(review: m.Review, rubric: list[dict[str, Any]]) -> dict[str, Any]:
    criteria = []
    for criterion in rubric:
        level = review.scores.get(criterion["id"], "")
        names = {lv["id"]: lv["name"] for lv in criterion["levels"]}
        met = bool(level_meets(criterion, level))
        criteria.append(
            {
                "id": criterion["id"],
                "name": criterion["name"],
                "level": level,
                "level_name": names.get(level, level),
                "required_name": criterion["required_name"],
                "met": met,
                "feedback": review.feedback.get(criterion["id"], ""),
            }
        )
    return {"decision": review.decision, "reviewed_at": iso(review.created_at), "criteria": criteria}


def submission_view(
    session: Session, submission: m.Submission, viewer: m.Person, urls: Urls
) -> dict[str, Any]:
    """A submission as its pages and the API show it; pending evidence and fees only to owner and staff."""
    version = submission.version
    micro = version.microcredential
    insider = viewer.id == submission.educator_id or viewer.is_staff
    numbers = {attempt.id: attempt.number for attempt in submission.attempts}
    items = [
        {
            "id": item.id,
            "kind": item.kind,
            "title": item.title,
            "description": item.description,
            "url": item.url,
            "filename": item.filename,
            "media_type": item.media_type,
            "size": item.size,
            "attempt": numbers.get(item.attempt_id) if item.attempt_id is not None else None,
        }
        for item in ev.items_of(session, submission)
        if insider or item.attempt_id is not None
    ]
    rubric = rubric_view(version)
    attempts = []
    for attempt in submission.attempts:
        reflections = [
            {"prompt": prompt, "answer": answer}
            for prompt, answer in zip(version.reflection_prompts, attempt.reflections, strict=False)
        ]
        attempts.append(
            {
                "number": attempt.number,
                "submitted_at": iso(attempt.submitted_at),
                "fee_receipt": attempt.fee_receipt if insider else None,
                "evidence": [item for item in items if item["attempt"] == attempt.number],
                "reflections": reflections,
                "review": _review_view(attempt.review, rubric) if attempt.review is not None else None,
            }
        )
    payments = []
    if insider:
        rows = session.scalars(
            select(m.Payment).where(m.Payment.submission_id == submission.id).order_by(m.Payment.id)
        )
        payments = [
            {
                "receipt": row.receipt,
                "amount": payouts.dollars(row.amount_cents),
                "paid_at": iso(row.paid_at),
                "attempt": numbers.get(row.attempt_id) if row.attempt_id is not None else None,
            }
            for row in rows
        ]
    credential = credential_of(session, submission)
    return {
        "id": submission.id,
        "state": submission.state,
        "open": submission.state in ("draft", "returned"),
        "publish_evidence": submission.publish_evidence,
        "created_at": iso(submission.created_at),
        "updated_at": iso(submission.updated_at),
        "educator": {"name": submission.educator.name, "email": submission.educator.email},
        "microcredential": {
            "slug": micro.slug,
            "name": version.name,
            "version": version.version,
            "state": micro.state,
            "credit": float(version.credit),
            "fee": payouts.dollars(version.fee_cents),
            "url": urls.achievement(micro.slug, version.version),
            "evidence": list(version.evidence),
            "reflection_prompts": list(version.reflection_prompts),
            "rubric": rubric,
        },
        "evidence": items,
        "pending_evidence": [item for item in items if item["attempt"] is None],
        "payments": payments,
        "unused_receipt": next((p["receipt"] for p in payments if p["attempt"] is None), None),
        "attempts": attempts,
        "credential": None
        if credential is None
        else {"id": credential.id, "url": urls.credential(credential.id)},
    }


def parse_day(text: str | None, what: str) -> date:
    """A YYYY-MM-DD date from a form or query; InputError naming the field otherwise."""
    value = (text or "").strip()
    if not value:
        raise InputError(f"Give the {what} date as YYYY-MM-DD.")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"The {what} date {value[:20]!r} is not a date like 2026-01-31.") from None


def parse_period(start: str | None, end: str | None) -> tuple[date, date]:
    """A period of whole days (both included); FormErrors naming the start or end field otherwise."""
    days: dict[str, date] = {}
    errors: Errors = []
    for key, text in (("start", start), ("end", end)):
        try:
            days[key] = parse_day(text, key)
        except InputError as exc:
            errors.append((key, exc.message))
    if errors:
        raise FormErrors(errors)
    first, last = days["start"], days["end"]
    if last < first:
        raise FormErrors(
            [("end", "The period ends before it starts; choose an end date on or after the start.")]
        )
    if last - first > timedelta(days=MAX_PERIOD_DAYS):
        raise FormErrors([("end", "The period is longer than ten years; choose a shorter one.")])
    return first, last


def evidence_file_response(item: m.EvidenceItem) -> Response:
    """An evidence file as a private download: attachment, no sniffing, no caching, sandboxed."""
    if item.kind != "file" or item.data is None:
        raise NotFound("This evidence is a link, not a file.")
    response = Response(item.data, mimetype=item.media_type or "application/octet-stream")
    name = item.filename or f"evidence-{item.id}"
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;%' else "_" for ch in name)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
