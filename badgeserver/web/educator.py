"""Educator pages: the dashboard, a submission (evidence, fee, reflections, history), evidence files,
the transcript."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.program import transcripts
from badgeserver.store import models as m
from badgeserver.web.auth import login_required
from badgeserver.web.flow_support import (
    Errors,
    FormErrors,
    actor,
    errors_of,
    evidence_file_response,
    form_number,
    html,
    iso,
    submission_view,
    visible_submission,
)
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("educator", __name__)

SUBMISSION = "/submissions/<int(max=2147483647):submission_id>"


@bp.after_request
def _private(response: Response) -> Response:
    """Evidence files are private downloads (login_required alone says only no-store)."""
    if request.endpoint == "educator.evidence_file" and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the dashboard ---------------------------------------------------------------------------------


def active_catalog(session: Any) -> list[m.MicrocredentialVersion]:
    """The current version of every active microcredential, by name."""
    micro = session.scalars(select(m.Microcredential).where(m.Microcredential.state == "active")).all()
    return sorted((mc.versions[-1] for mc in micro if mc.versions), key=lambda v: v.name)


def my_submissions(session: Any, person: m.Person) -> list[m.Submission]:
    """The person's submissions, the most recently changed first."""
    query = (
        select(m.Submission)
        .where(m.Submission.educator_id == person.id)
        .order_by(m.Submission.updated_at.desc(), m.Submission.id.desc())
    )
    return list(session.scalars(query))


def _dashboard(status: int = 200, errors: Errors | None = None) -> Response:
    svc = services()
    with svc.db.read() as session:
        person = actor(session)
        rows = [
            {
                "id": row.id,
                "name": row.version.name,
                "version": row.version.version,
                "state": row.state,
                "updated_at": iso(row.updated_at),
            }
            for row in my_submissions(session, person)
        ]
        record = transcripts.transcript(session, person, svc.urls)
        catalog = [(v.microcredential.slug, v.name) for v in active_catalog(session)]
    return html(
        "flow_dashboard.html",
        status,
        person=person,
        submissions=rows,
        transcript=record,
        catalog=catalog,
        errors=errors or [],
        credit_text=transcripts.credit_text,
    )


@bp.get("/dashboard")
@login_required("educator")
def dashboard() -> Response:
    """My submissions with their state, my credentials, and my transcript total."""
    return _dashboard()


@bp.post("/submissions/new")
@login_required("educator")
def start() -> Response:
    """Start a submission for `microcredential` (a form field, or the query string)."""
    slug = (request.form.get("microcredential") or request.args.get("microcredential") or "").strip()
    if not slug:
        return _dashboard(400, [("microcredential", "Choose the microcredential to start.")])
    svc = services()
    try:
        with svc.db.transaction() as session:
            submission = sub.start_submission(session, actor(session), slug[:100], now=svc.clock())
            number, name = submission.id, submission.version.name
    except BadgeServerError as exc:
        return _dashboard(status_for(exc), errors_of(exc, "microcredential"))
    flash(f"You started a submission for {name}. Add your evidence, pay the fee, then submit.")
    return redirect(url_for("educator.submission", submission_id=number), 303)


# --- one submission --------------------------------------------------------------------------------


def _submission_page(
    submission_id: int, status: int = 200, errors: Errors | None = None, values: dict[str, Any] | None = None
) -> Response:
    svc = services()
    with svc.db.read() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        view = submission_view(session, submission, person, svc.urls)
        owner = person.id == submission.educator_id
        can_review = person.is_reviewer and not owner and view["state"] == "submitted"
    return html(
        "flow_submission.html",
        status,
        s=view,
        owner=owner,
        can_review=can_review,
        errors=errors or [],
        values=values or {},
        max_size=size_text(svc.program.max_evidence_bytes),
    )


def _change(submission_id: int, change: Any, field: str | None, values: dict[str, Any] | None = None) -> Any:
    """Run `change(session, person, submission)` in one transaction; the page with errors if it fails."""
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = actor(session)
            submission = visible_submission(session, submission_id, person)
            return change(session, person, submission)
    except BadgeServerError as exc:
        if exc.code == "not_found" and not isinstance(exc, FormErrors):
            raise
        return _submission_page(submission_id, status_for(exc), errors_of(exc, field), values)


def size_text(limit: int) -> str:
    """A byte limit for people: whole MiB, or KiB below one MiB."""
    return f"{limit // 1048576} MiB" if limit >= 1048576 else f"{max(1, limit // 1024)} KiB"


def _guard(submission_id: int, *, staff_too: bool = False) -> None:
    """Before reading the form: 404 unless the person may see the submission, 403 unless it is theirs."""
    with services().db.read() as session:
        person = actor(session)
        submission = visible_submission(session, submission_id, person)
        if person.id != submission.educator_id and not (staff_too and person.is_staff):
            raise sub.Forbidden("Only the educator who owns this submission may do that.")


def _done(submission_id: int, message: str) -> Response:
    flash(message)
    return redirect(url_for("educator.submission", submission_id=submission_id), 303)


@bp.get(SUBMISSION)
@login_required("educator")
def submission(submission_id: int) -> Response:
    """The submission: what to submit, evidence, fee, reflections, status and every attempt's review."""
    return _submission_page(submission_id)


@bp.post(f"{SUBMISSION}/evidence/file")
@login_required("educator")
def add_file(submission_id: int) -> Response:
    """Upload an evidence file with a title and description (multipart)."""
    _guard(submission_id)
    svc = services()
    upload = request.files.get("file")
    title = (request.form.get("title") or "").strip()
    description = request.form.get("description") or ""
    values = {"file_title": title, "file_description": description}
    errors: Errors = []
    if upload is None or not upload.filename:
        errors.append(("evidence-file", "Choose a file to upload."))
    if not title:
        errors.append(("file-title", "Give the file a title."))
    if errors:
        return _submission_page(submission_id, 400, errors, values)
    assert upload is not None
    data = upload.read(svc.program.max_evidence_bytes + 1)

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        ev.add_file(
            session,
            submission,
            person,
            data=data,
            filename=upload.filename or "",
            media_type=upload.mimetype,
            title=title,
            description=description,
            now=svc.clock(),
            max_bytes=svc.program.max_evidence_bytes,
        )
        return _done(submission_id, f"“{title}” was added to your evidence.")

    result: Response = _change(submission_id, change, "evidence-file", values)
    return result


@bp.post(f"{SUBMISSION}/evidence/link")
@login_required("educator")
def add_link(submission_id: int) -> Response:
    """Add a link (http or https) as evidence, with a title and description."""
    _guard(submission_id)
    svc = services()
    url = (request.form.get("url") or "").strip()
    title = (request.form.get("title") or "").strip()
    description = request.form.get("description") or ""
    values = {"link_url": url, "link_title": title, "link_description": description}
    errors: Errors = []
    if not url:
        errors.append(("link-url", "Give the link's address (https://…)."))
    if not title:
        errors.append(("link-title", "Give the link a title."))
    if errors:
        return _submission_page(submission_id, 400, errors, values)

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        ev.add_link(
            session, submission, person, url=url, title=title, description=description, now=svc.clock()
        )
        return _done(submission_id, f"The link “{title}” was added to your evidence.")

    result: Response = _change(submission_id, change, "link-url", values)
    return result


@bp.post(f"{SUBMISSION}/evidence/remove")
@login_required("educator")
def remove_item(submission_id: int) -> Response:
    """Remove an evidence item that has not been submitted yet."""
    _guard(submission_id)
    svc = services()
    item_id = form_number(request.form.get("item_id"))

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        item = session.get(m.EvidenceItem, item_id) if item_id is not None else None
        if item is None or item.submission_id != submission.id:
            raise FormErrors([(None, "Choose an evidence item of this submission to remove.")])
        if person.id != submission.educator_id:
            raise sub.Forbidden("Only the educator who owns this submission may change its evidence.")
        title = item.title
        ev.remove_item(session, item.id, person, now=svc.clock())
        return _done(submission_id, f"“{title}” was removed.")

    result: Response = _change(submission_id, change, None)
    return result


@bp.post(f"{SUBMISSION}/publish-evidence")
@login_required("educator")
def publish_evidence(submission_id: int) -> Response:
    """Choose whether the credential lists the evidence (titles, descriptions and links; never files)."""
    _guard(submission_id)
    svc = services()
    publish = request.form.get("publish_evidence") == "1"

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        sub.set_publish_evidence(session, submission, person, publish, now=svc.clock())
        said = "will list" if publish else "will not list"
        return _done(submission_id, f"Your credential {said} your evidence.")

    result: Response = _change(submission_id, change, "publish_evidence")
    return result


@bp.post(f"{SUBMISSION}/fee")
@login_required("educator")
def pay_fee(submission_id: int) -> Response:
    """Record the review fee for the next attempt as paid; the page shows the receipt."""
    _guard(submission_id, staff_too=True)
    svc = services()

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        payment = sub.record_fee(session, submission, person, now=svc.clock(), program=svc.program)
        return _done(submission_id, f"The review fee is recorded as paid: receipt {payment.receipt}.")

    result: Response = _change(submission_id, change, "pay-fee")
    return result


@bp.post(f"{SUBMISSION}/submit")
@login_required("educator")
def submit(submission_id: int) -> Response:
    """Submit the evidence with one answer per reflection prompt, paid by the recorded fee."""
    _guard(submission_id)
    svc = services()
    answers = {key: value for key, value in request.form.items() if key.startswith("reflection-")}
    values = {"reflections": answers}

    def change(session: Any, person: m.Person, submission: m.Submission) -> Response:
        if person.id != submission.educator_id:
            raise sub.Forbidden("Only the educator who owns this submission may submit it.")
        if submission.state not in ("draft", "returned"):
            raise sub.WorkflowError(
                f"Submission {submission.id} is {submission.state} and cannot be submitted now."
            )
        prompts = submission.version.reflection_prompts
        reflections = [answers.get(f"reflection-{n}", "") for n in range(len(prompts))]
        errors: Errors = [
            (f"reflection-{n}", f"Answer the reflection prompt “{prompt}”.")
            for n, prompt in enumerate(prompts)
            if not reflections[n].strip()
        ]
        if not ev.items_of(session, submission):
            errors.append(("evidence-file", "Add at least one piece of evidence: a file or a link."))
        if sub.unused_payment(session, submission) is None:
            errors.append(("pay-fee", "Record the review fee as paid before submitting."))
        if errors:
            raise FormErrors(errors)
        attempt = sub.submit_attempt(session, submission, reflections=reflections, now=svc.clock())
        return _done(submission_id, f"Attempt {attempt.number} was submitted for review.")

    result: Response = _change(submission_id, change, None, values)
    return result


# --- evidence files and the transcript -------------------------------------------------------------


@bp.get("/evidence/<int(max=2147483647):item_id>")
@login_required("educator")
def evidence_file(item_id: int) -> Response:
    """An evidence file, only for its owner, staff, or a reviewer eligible for its submission."""
    with services().db.read() as session:
        item = ev.evidence_for_viewer(session, item_id, actor(session))
        return evidence_file_response(item)


def _transcript() -> transcripts.Transcript:
    svc = services()
    with svc.db.read() as session:
        return transcripts.transcript(session, actor(session), svc.urls)


@bp.get("/transcript")
@login_required("educator")
def transcript() -> Response:
    """My transcript: every credential with its credit, and the total."""
    return html("flow_transcript.html", transcript=_transcript(), credit_text=transcripts.credit_text)


@bp.get("/transcript.json")
@login_required("educator")
def transcript_json() -> Response:
    """My transcript as JSON."""
    return jsonify(transcripts.transcript_dict(_transcript()))


@bp.get("/transcript.csv")
@login_required("educator")
def transcript_csv() -> Response:
    """My transcript as a CSV download."""
    return csv_download(transcripts.transcript_csv(_transcript()), f"transcript-{g.person.id}.csv")


def csv_download(data: bytes, filename: str) -> Response:
    """CSV bytes as a download named `filename`."""
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
