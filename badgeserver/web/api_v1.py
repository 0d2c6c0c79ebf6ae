"""The program's JSON API under /api/v1: submissions, evidence, fees, reviews, transcripts (Bearer tokens).

Staff endpoints (payouts, catalog changes) are in api_v1_staff.py. Every body is checked here and a
wrong one answered 400 with one sentence; domain errors become problem JSON (web/problems.py).
Unsafe endpoints are `csrf_exempt`: they accept Bearer tokens only, never the browser session, so a
cross-site form cannot act through them, and a call without a token is answered 401, not a CSRF 400.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from badgeserver.errors import InputError, NotFound
from badgeserver.program import eligibility, transcripts
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.store import models as m
from badgeserver.verify.inputs import check_depth
from badgeserver.web.auth import api_auth, csrf_exempt
from badgeserver.web.educator import active_catalog, csv_download, my_submissions
from badgeserver.web.flow_support import (
    actor,
    evidence_file_response,
    iso,
    submission_view,
    visible_submission,
)
from badgeserver.web.services import services

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

ID = "<int(max=2147483647):submission_id>"
JSON_TYPES = ("application/json", "application/problem+json")


@bp.after_request
def _private(response: Response) -> Response:
    """Evidence files are private downloads (api_auth alone says only no-store)."""
    if request.endpoint == "api_v1.evidence_file" and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def json_body() -> dict[str, Any]:
    """The request's JSON object; InputError (400) with one sentence for anything else."""
    if request.mimetype not in JSON_TYPES:
        raise InputError("Send a JSON object with Content-Type: application/json.")
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("The request body is not UTF-8 text.") from None
    check_depth(text)
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object.")
    _check_text(body)
    return body


def _check_text(value: Any) -> None:
    """JSON may escape a lone surrogate (\\ud800) or NUL (\\u0000), which no database or page can hold."""
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        texts = list(value)
        for item in value.values():
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
    for text in texts:
        if "\x00" in text:
            raise InputError("The request body holds a NUL character (\\u0000), which no text accepts.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("The request body holds text that is not valid Unicode (a surrogate).") from None


def text_field(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    """A string member of the body."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"Give {key!r} as a non-empty string.")
    return value


def string_map(body: dict[str, Any], key: str) -> dict[str, str]:
    """An object of strings (criterion id to text), or an empty one when absent."""
    value = body.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InputError(f"Give {key!r} as an object whose values are strings.")
    return {str(k): v for k, v in value.items()}


def _owner_only(person: m.Person, submission: m.Submission) -> None:
    if person.id != submission.educator_id:
        raise sub.Forbidden("Only the educator who owns this submission may do that.")


def _own_submission(session: Session, submission_id: int) -> tuple[m.Person, m.Submission]:
    """The caller and a submission they may see and change (they own it), else NotFound or Forbidden."""
    person = actor(session)
    submission = visible_submission(session, submission_id, person)
    _owner_only(person, submission)
    return person, submission


def _view(session: Session, submission: m.Submission, person: m.Person) -> dict[str, Any]:
    view = submission_view(session, submission, person, services().urls)
    for item in view["evidence"]:
        if item["kind"] == "file":
            item["download"] = url_for("api_v1.evidence_file", item_id=item["id"], _external=False)
    view.pop("open")
    view.pop("pending_evidence")
    return view


def created(document: dict[str, Any], location: str) -> Response:
    """201 Created with a Location."""
    response = jsonify(document)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.get("/catalog")
def catalog() -> Response:
    """The catalog: active microcredentials (current version, evidence, prompts, rubric), stacks, bundles."""
    svc = services()
    with svc.db.read() as session:
        micro = [
            {
                "slug": v.microcredential.slug,
                "name": v.name,
                "version": v.version,
                "credit": float(v.credit),
                "fee_cents": v.fee_cents,
                "url": svc.urls.achievement(v.microcredential.slug, v.version),
                "description": v.description,
                "criteria": v.criteria,
                "evidence": v.evidence,
                "reflection_prompts": v.reflection_prompts,
                "rubric": v.rubric,
            }
            for v in active_catalog(session)
        ]
        stacks = [
            {
                "slug": s.slug,
                "name": s.name,
                "url": svc.urls.stack_achievement(s.slug),
                "microcredentials": [member.microcredential.slug for member in s.members],
            }
            for s in session.scalars(select(m.Stack).order_by(m.Stack.id))
        ]
        bundles = [
            {
                "slug": b.slug,
                "name": b.name,
                "url": svc.urls.bundle_achievement(b.slug),
                "stacks": [member.stack.slug for member in b.members],
            }
            for b in session.scalars(select(m.Bundle).order_by(m.Bundle.id))
        ]
    return jsonify({"microcredentials": micro, "stacks": stacks, "bundles": bundles})


@bp.post("/submissions")
@csrf_exempt
@api_auth("submissions:write")
def start() -> Response:
    """Start a submission: {"microcredential": slug}."""
    slug = text_field(json_body(), "microcredential")[:100]
    svc = services()
    with svc.db.transaction() as session:
        person = actor(session)
        submission = sub.start_submission(session, person, slug, now=svc.clock())
        document = _view(session, submission, person)
    return created(document, url_for("api_v1.submission", submission_id=document["id"]))


def _summary(row: m.Submission) -> dict[str, Any]:
    """The fields every list of submissions shows."""
    version = row.version
    return {
        "id": row.id,
        "microcredential": version.microcredential.slug,
        "name": version.name,
        "version": version.version,
    }


@bp.get("/submissions")
@api_auth("submissions:read")
def submissions() -> Response:
    """My submissions, the most recently changed first."""
    with services().db.read() as session:
        rows = [
            {**_summary(row), "state": row.state, "updated_at": iso(row.updated_at)}
            for row in my_submissions(session, actor(session))
        ]
    return jsonify({"submissions": rows})


@bp.get(f"/submissions/{ID}")
@api_auth("submissions:read")
def submission(submission_id: int) -> Response:
    """One submission (owner, staff, or an eligible reviewer once submitted): evidence, fees, attempts."""
    with services().db.read() as session:
        person = actor(session)
        return jsonify(_view(session, visible_submission(session, submission_id, person), person))


def _item(row: m.EvidenceItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "url": row.url,
        "filename": row.filename,
        "media_type": row.media_type,
        "size": row.size,
    }


@bp.post(f"/submissions/{ID}/evidence")
@csrf_exempt
@api_auth("submissions:write")
def add_evidence(submission_id: int) -> Response:
    """Add evidence: a multipart `file` (with `title`, `description`), or JSON {url, title, description}."""
    svc = services()
    with svc.db.transaction() as session:
        person, submission = _own_submission(session, submission_id)
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise InputError("Send the file in the multipart field 'file', with its file name.")
            row = ev.add_file(
                session,
                submission,
                person,
                data=upload.read(svc.program.max_evidence_bytes + 1),
                filename=upload.filename,
                media_type=upload.mimetype,
                title=request.form.get("title") or None,
                description=request.form.get("description") or "",
                now=svc.clock(),
                max_bytes=svc.program.max_evidence_bytes,
            )
        else:
            body = json_body()
            row = ev.add_link(
                session,
                submission,
                person,
                url=text_field(body, "url"),
                title=text_field(body, "title"),
                description=text_field(body, "description", required=False),
                now=svc.clock(),
            )
        document = _item(row)
    return created(document, url_for("api_v1.submission", submission_id=submission_id))


@bp.delete(f"/submissions/{ID}/evidence/<int(max=2147483647):item_id>")
@csrf_exempt
@api_auth("submissions:write")
def remove_evidence(submission_id: int, item_id: int) -> Response:
    """Remove a pending evidence item (submitted ones stay with their attempt)."""
    svc = services()
    with svc.db.transaction() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        item = session.get(m.EvidenceItem, item_id)
        if item is None or item.submission_id != submission.id:
            raise NotFound(f"Submission {submission_id} has no evidence item {item_id}.")
        _owner_only(person, submission)
        ev.remove_item(session, item_id, person, now=svc.clock())
    return Response(status=204)


@bp.post(f"/submissions/{ID}/fee")
@csrf_exempt
@api_auth("submissions:write")
def pay_fee(submission_id: int) -> Response:
    """Record the review fee for the next attempt as paid; answers the receipt."""
    svc = services()
    with svc.db.transaction() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        payment = sub.record_fee(session, submission, person, now=svc.clock(), program=svc.program)
        document = {
            "receipt": payment.receipt,
            "amount_cents": payment.amount_cents,
            "paid_at": iso(payment.paid_at),
        }
    return created(document, url_for("api_v1.submission", submission_id=submission_id))


@bp.put(f"/submissions/{ID}/publish-evidence")
@csrf_exempt
@api_auth("submissions:write")
def publish_evidence(submission_id: int) -> Response:
    """Choose whether the credential lists the evidence: {"publish_evidence": true|false}."""
    svc = services()
    with svc.db.transaction() as session:
        person, submission = _own_submission(session, submission_id)
        body = json_body()
        publish = body.get("publish_evidence", body.get("publish"))
        if not isinstance(publish, bool):
            raise InputError("Give 'publish_evidence' as true or false.")
        sub.set_publish_evidence(session, submission, person, publish, now=svc.clock())
        return jsonify(_view(session, submission, person))


@bp.post(f"/submissions/{ID}/submit")
@csrf_exempt
@api_auth("submissions:write")
def submit(submission_id: int) -> Response:
    """Submit for review: {"reflections": [one answer per prompt]}, paid by the recorded fee."""
    svc = services()
    with svc.db.transaction() as session:
        person, submission = _own_submission(session, submission_id)
        reflections = json_body().get("reflections")
        if not isinstance(reflections, list) or not all(isinstance(text, str) for text in reflections):
            raise InputError("Give 'reflections' as a list of strings, one answer per reflection prompt.")
        sub.submit_attempt(session, submission, reflections=reflections, now=svc.clock())
        return jsonify(_view(session, submission, person))


@bp.get("/review-queue")
@api_auth("reviews:write")
def review_queue() -> Response:
    """The submissions waiting for a review I may give, the longest-waiting first."""
    with services().db.read() as session:
        rows = [
            {**_summary(row), "attempt": len(row.attempts), "waiting_since": iso(row.updated_at)}
            for row in eligibility.review_queue(session, actor(session))
        ]
    return jsonify({"submissions": rows})


@bp.post(f"/submissions/{ID}/review")
@csrf_exempt
@api_auth("reviews:write")
def review(submission_id: int) -> Response:
    """Score the latest attempt: {"scores": {criterion: level}, "feedback": {criterion: text}}."""
    svc = services()
    with svc.db.transaction() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        refused = eligibility.refusal(session, person, submission)
        if refused is not None:
            raise sub.Forbidden(refused)
        body = json_body()
        scores, feedback = string_map(body, "scores"), string_map(body, "feedback")
        if not scores:
            raise InputError("Give 'scores': an object with a level for every rubric criterion.")
        outcome = sub.review_submission(
            session,
            submission,
            person,
            scores=scores,
            feedback=feedback,
            now=svc.clock(),
            issuing=svc.issuing,
            program=svc.program,
        )
        issued = [outcome.credential, *outcome.composites] if outcome.credential is not None else []
        document = {
            "submission": submission.id,
            "decision": outcome.review.decision,
            "credential_url": svc.urls.credential(issued[0].id) if issued else None,
            "credentials": [{"kind": row.kind, "url": svc.urls.credential(row.id)} for row in issued],
            "payout_cents": outcome.payout.amount_cents if outcome.payout is not None else None,
        }
    return jsonify(document)


@bp.get("/transcript")
@api_auth("submissions:read")
def transcript() -> Response:
    """My transcript as JSON, or CSV with ?format=csv."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InputError("The format is json or csv.")
    svc = services()
    with svc.db.read() as session:
        person = actor(session)
        record = transcripts.transcript(session, person, svc.urls)
        number = person.id
    if fmt == "csv":
        return csv_download(transcripts.transcript_csv(record), f"transcript-{number}.csv")
    return jsonify(transcripts.transcript_dict(record))


@bp.get("/evidence/<int(max=2147483647):item_id>")
@api_auth("submissions:read")
def evidence_file(item_id: int) -> Response:
    """An evidence file, for its owner, staff, or a reviewer eligible for its submission."""
    with services().db.read() as session:
        item = ev.evidence_for_viewer(session, item_id, actor(session))
        response = evidence_file_response(item)
    return response
