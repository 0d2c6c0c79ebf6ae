"""Reviewer pages: the review queue, scoring a submission against its rubric, and my payouts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError
from badgeserver.program import eligibility, payouts
from badgeserver.program import submissions as sub
from badgeserver.program.issuing import level_meets
from badgeserver.web.auth import login_required
from badgeserver.web.flow_support import (
    Errors,
    FormErrors,
    actor,
    errors_of,
    html,
    iso,
    parse_period,
    rubric_view,
    submission_view,
    visible_submission,
)
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("reviewer", __name__)

REVIEW = "/review/<int(max=2147483647):submission_id>"
MAX_FEEDBACK = 20_000


def this_month(today: date) -> tuple[str, str]:
    """The first day of `today`'s month and `today`, as YYYY-MM-DD."""
    return today.replace(day=1).isoformat(), today.isoformat()


@bp.get("/review")
@login_required("reviewer")
def queue() -> Response:
    """The submissions waiting for a review I may give, the longest-waiting first."""
    svc = services()
    with svc.db.read() as session:
        person = actor(session)
        rows = [
            {
                "id": row.id,
                "name": row.version.name,
                "version": row.version.version,
                "attempt": len(row.attempts),
                "waiting_since": iso(row.updated_at),
            }
            for row in eligibility.review_queue(session, person)
        ]
        stacks = [stack.name for stack in eligibility.eligible_stacks(session, person)]
    return html("flow_queue.html", rows=rows, stacks=stacks, trained=person.is_reviewer)


def _review_page(
    submission_id: int, status: int = 200, errors: Errors | None = None, values: dict[str, Any] | None = None
) -> Response:
    svc = services()
    with svc.db.read() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        refused = eligibility.refusal(session, person, submission)
        if refused is not None:
            raise sub.Forbidden(refused)
        view = submission_view(session, submission, person, svc.urls)
    return html(
        "flow_review.html",
        status,
        s=view,
        errors=errors or [],
        values=values or {"scores": {}, "feedback": {}},
    )


@bp.get(REVIEW)
@login_required("reviewer")
def review(submission_id: int) -> Response:
    """The latest attempt's evidence and reflections, and the rubric to score it."""
    return _review_page(submission_id)


def _checked(rubric: list[dict[str, Any]], scores: dict[str, str], feedback: dict[str, str]) -> None:
    """Every criterion scored with one of its levels; feedback wherever the level is below the required."""
    errors: Errors = []
    for criterion in rubric:
        cid = criterion["id"]
        meets = level_meets(criterion, scores.get(cid, ""))
        if meets is None:
            errors.append((f"score-{cid}", f"Choose a level for “{criterion['name']}”."))
            continue
        if not meets and not feedback.get(cid, "").strip():
            errors.append(
                (
                    f"feedback-{cid}",
                    f"Give feedback on “{criterion['name']}”: it is below {criterion['required_name']}.",
                )
            )
        if len(feedback.get(cid, "")) > MAX_FEEDBACK:
            errors.append((f"feedback-{cid}", f"The feedback on “{criterion['name']}” is too long."))
    if errors:
        raise FormErrors(errors)


@bp.post(REVIEW)
@login_required("reviewer")
def record_review(submission_id: int) -> Response:
    """Score each criterion; the program decides: earned (issued) or returned with feedback."""
    svc = services()
    form = request.form
    scores = {k[6:]: v for k, v in form.items() if k.startswith("score-") and v}
    feedback = {k[9:]: v for k, v in form.items() if k.startswith("feedback-")}
    values = {"scores": scores, "feedback": feedback}
    try:
        with svc.db.transaction() as session:
            person = actor(session)
            submission = visible_submission(session, submission_id, person)
            refused = eligibility.refusal(session, person, submission)
            if refused is not None:
                raise sub.Forbidden(refused)
            if submission.state != "submitted":
                raise sub.WorkflowError(
                    f"Submission {submission.id} is {submission.state}, not waiting for review."
                )
            rubric = rubric_view(submission.version)
            _checked(rubric, scores, feedback)
            known = {c["id"] for c in rubric}
            outcome = sub.review_submission(
                session,
                submission,
                person,
                scores={k: v for k, v in scores.items() if k in known},
                feedback={k: v for k, v in feedback.items() if k in known},
                now=svc.clock(),
                issuing=svc.issuing,
                program=svc.program,
            )
            decision = outcome.review.decision
            issued = [outcome.credential, *outcome.composites] if outcome.credential is not None else []
            urls = [svc.urls.credential(row.id) for row in issued]
    except BadgeServerError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise
        return _review_page(submission_id, status_for(exc), errors_of(exc), values)
    if decision == "earned":
        flash(f"Earned: the credential was issued ({', '.join(urls)}).")
    else:
        flash("Returned with your feedback; the educator has been told.")
    return redirect(url_for("reviewer.review", submission_id=submission_id), 303)


@bp.get("/review/payouts")
@login_required("reviewer")
def my_payouts() -> Response:
    """My payouts for a period (default: this month), with the total."""
    svc = services()
    default_start, default_end = this_month(svc.clock().date())
    start = request.args.get("start") or default_start
    end = request.args.get("end") or default_end
    values = {"start": start[:20], "end": end[:20]}
    with svc.db.read() as session:
        person = actor(session)
        try:
            first, last = parse_period(start, end)
        except FormErrors as exc:
            return html("flow_my_payouts.html", 400, ledger=None, values=values, errors=exc.errors)
        ledger = payouts.ledger(session, start=first, end=last, reviewer=person)
    return html("flow_my_payouts.html", ledger=ledger, values=values, errors=[], dollars=payouts.dollars)
