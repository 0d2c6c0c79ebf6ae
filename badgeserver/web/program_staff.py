"""Staff program pages: the catalog (versions, retirement, founding reviewers), payouts, submissions."""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, flash, g, redirect, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError, InputError, NotFound
from badgeserver.program import accounts, catalog_admin, payouts
from badgeserver.program.catalog_changes import load_rubric
from badgeserver.store import models as m
from badgeserver.web.auth import login_required
from badgeserver.web.educator import csv_download
from badgeserver.web.flow_support import (
    Errors,
    FormErrors,
    actor,
    errors_of,
    form_number,
    html,
    iso,
    parse_period,
)
from badgeserver.web.problems import status_for
from badgeserver.web.reviewer import this_month
from badgeserver.web.services import services

bp = Blueprint("program_staff", __name__)

STATES = ("draft", "submitted", "returned", "earned")
PAGE_SIZE = 100
VERSION_FIELDS = {  # form field -> the field it may change
    "name": "name",
    "description": "description",
    "criteria": "criteria",
    "reflection_prompts": "reflection_prompts",
    "rubric": "rubric",
}


def rubric_yaml(rubric: list[dict[str, Any]]) -> str:
    """A stored rubric as YAML in the catalog format, for editing."""
    return yaml.safe_dump(rubric, sort_keys=False, allow_unicode=True, width=100)


# --- the catalog -----------------------------------------------------------------------------------


@bp.get("/staff/catalog")
@login_required("staff")
def catalog() -> Response:
    """Every microcredential with its state and versions; every stack with its founding reviewers."""
    return _catalog_page()


def _catalog_page(status: int = 200, errors: Errors | None = None) -> Response:
    with services().db.read() as session:
        micro = session.scalars(select(m.Microcredential).order_by(m.Microcredential.slug)).all()
        rows = [
            {
                "slug": mc.slug,
                "name": mc.versions[-1].name if mc.versions else mc.slug,
                "state": mc.state,
                "retired_at": iso(mc.retired_at),
                "versions": [v.version for v in mc.versions],
            }
            for mc in micro
        ]
        stacks = []
        for stack in session.scalars(select(m.Stack).order_by(m.Stack.id)):
            founders = session.execute(
                select(m.Person.id, m.Person.name, m.Person.email)
                .join(m.ReviewerAssignment, m.ReviewerAssignment.person_id == m.Person.id)
                .where(m.ReviewerAssignment.stack_id == stack.id)
                .order_by(m.Person.email)
            ).all()
            stacks.append({"slug": stack.slug, "name": stack.name, "founders": founders})
    return html("flow_staff_catalog.html", status, rows=rows, stacks=stacks, errors=errors or [])


def _version_page(
    slug: str, status: int = 200, errors: Errors | None = None, values: dict[str, str] | None = None
) -> Response:
    with services().db.read() as session:
        micro = catalog_admin.microcredential(session, slug)
        current = micro.versions[-1]
        versions = [
            {"version": v.version, "name": v.name, "created_at": iso(v.created_at)} for v in micro.versions
        ]
        form = {
            "version": "",
            "name": current.name,
            "description": current.description,
            "criteria": current.criteria,
            "reflection_prompts": "\n".join(current.reflection_prompts),
            "rubric": rubric_yaml(current.rubric),
        } | (values or {})
        state, name = micro.state, current.name
    return html(
        "flow_staff_microcredential.html",
        status,
        slug=slug,
        name=name,
        state=state,
        versions=versions,
        current=versions[-1]["version"],
        form=form,
        errors=errors or [],
    )


@bp.get("/staff/catalog/<slug:slug>")
@login_required("staff")
def microcredential(slug: str) -> Response:
    """One microcredential: its versions, the form to publish a new one, and retirement."""
    return _version_page(slug)


def version_changes(current: m.MicrocredentialVersion, form: dict[str, str]) -> dict[str, Any]:
    """The fields the form changes, compared with the current version (unchanged ones left out)."""
    changes: dict[str, Any] = {}
    for key in ("name", "description", "criteria"):
        if form[key].strip() != str(getattr(current, key)).strip():
            changes[key] = form[key]
    prompts = [line.strip() for line in form["reflection_prompts"].splitlines() if line.strip()]
    if prompts != list(current.reflection_prompts):
        changes["reflection_prompts"] = prompts
    try:
        rubric = load_rubric(form["rubric"])
    except InputError as exc:
        raise FormErrors([("rubric", exc.message)]) from None
    if rubric != current.rubric:
        changes["rubric"] = rubric
    if form["version"].strip():
        changes["version"] = form["version"].strip()
    return changes


def _field_of(message: str) -> str | None:
    """The form field a catalog error names (changes.rubric[0]... -> rubric)."""
    for key in ("version", *VERSION_FIELDS):
        if f"changes.{key}" in message or f"Version {key}" in message:
            return key
    return "version" if message.startswith("Version") else None


@bp.post("/staff/catalog/<slug:slug>/versions")
@login_required("staff")
def publish_version(slug: str) -> Response:
    """Publish a new version: the current one with the form's changes (checked like the catalog)."""
    form = {key: request.form.get(key) or "" for key in ("version", *VERSION_FIELDS)}
    svc = services()
    try:
        with svc.db.transaction() as session:
            current = catalog_admin.microcredential(session, slug).versions[-1]
            changes = version_changes(current, form)
            version = catalog_admin.publish_version(session, actor(session), slug, changes, now=svc.clock())
            label = version.version
    except BadgeServerError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = exc.errors if isinstance(exc, FormErrors) else [(_field_of(exc.message), exc.message)]
        return _version_page(slug, status_for(exc), errors, form)
    flash(f"Version {label} of {slug} is published; new submissions use it.")
    return redirect(url_for("program_staff.microcredential", slug=slug), 303)


@bp.get("/staff/catalog/<slug:slug>/retire")
@login_required("staff")
def retire_confirm(slug: str) -> Response:
    """Ask for confirmation before retiring a microcredential."""
    return _retire_page(slug)


def _retire_page(slug: str, status: int = 200, errors: Errors | None = None) -> Response:
    with services().db.read() as session:
        micro = catalog_admin.microcredential(session, slug)
        name, state = micro.versions[-1].name, micro.state
        earned = session.scalar(
            select(func.count())
            .select_from(m.Credential)
            .join(m.MicrocredentialVersion, m.Credential.version_id == m.MicrocredentialVersion.id)
            .where(m.MicrocredentialVersion.microcredential_id == micro.id)
        )
    return html(
        "flow_staff_retire.html",
        status,
        slug=slug,
        name=name,
        state=state,
        earned=earned,
        errors=errors or [],
    )


@bp.post("/staff/catalog/<slug:slug>/retire")
@login_required("staff")
def retire(slug: str) -> Response:
    """Retire a microcredential (confirmed): no new submissions; issued credentials stay valid."""
    if request.form.get("confirm") != "1":
        return _retire_page(slug, 400, [("confirm", "Tick the box to confirm the retirement.")])
    svc = services()
    try:
        with svc.db.transaction() as session:
            catalog_admin.retire(session, actor(session), slug, now=svc.clock())
    except BadgeServerError as exc:
        if isinstance(exc, NotFound):
            raise
        return _retire_page(slug, status_for(exc), errors_of(exc, "confirm"))
    flash(f"{slug} is retired: it takes no new submissions, and credentials already issued remain valid.")
    return redirect(url_for("program_staff.catalog"), 303)


@bp.post("/staff/stacks/<slug:slug>/reviewers")
@login_required("staff")
def assign_reviewer(slug: str) -> Response:
    """Assign a trained reviewer (by email) to a stack as a founding reviewer."""
    email = (request.form.get("email") or "").strip()
    field = f"founder-{slug}"
    if not email:
        return _catalog_page(400, [(field, "Enter the reviewer's email address.")])
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = accounts.find_person(session, email)
            catalog_admin.assign_founding_reviewer(session, actor(session), person, slug, now=svc.clock())
    except BadgeServerError as exc:
        status = 400 if isinstance(exc, NotFound) else status_for(exc)
        return _catalog_page(status, errors_of(exc, field))
    flash(f"{email} is a founding reviewer of {slug}.")
    return redirect(url_for("program_staff.catalog"), 303)


@bp.post("/staff/stacks/<slug:slug>/reviewers/remove")
@login_required("staff")
def remove_reviewer(slug: str) -> Response:
    """End a founding reviewer's assignment to a stack."""
    person_id = form_number(request.form.get("person_id"))
    svc = services()
    try:
        with svc.db.transaction() as session:
            if person_id is None:
                raise InputError("Choose the founding reviewer to remove.")
            person = accounts.get_person(session, person_id)
            catalog_admin.remove_founding_reviewer(session, actor(session), person, slug, now=svc.clock())
            email = person.email
    except BadgeServerError as exc:
        status = 400 if isinstance(exc, NotFound) else status_for(exc)
        return _catalog_page(status, errors_of(exc))
    flash(f"{email} is no longer a founding reviewer of {slug}.")
    return redirect(url_for("program_staff.catalog"), 303)


# --- payouts and submissions -----------------------------------------------------------------------


def _ledger(session: Any, args: Any) -> payouts.Ledger:
    """The ledger the query asks for: start, end, and optionally a reviewer's email."""
    first, last = parse_period(args.get("start"), args.get("end"))
    errors: Errors = []
    reviewer = None
    email = (args.get("reviewer") or "").strip()
    if email:
        try:
            reviewer = accounts.find_person(session, email[:320])
        except NotFound as exc:
            errors.append(("reviewer", exc.message))
    if errors:
        raise FormErrors(errors)
    return payouts.ledger(session, start=first, end=last, reviewer=reviewer)


@bp.get("/staff/payouts")
@login_required("staff")
def payouts_page() -> Response:
    """Reviewer payouts for a period (default: this month), optionally for one reviewer, with totals."""
    args = request.args.to_dict()
    start, end = this_month(services().clock().date())
    args.setdefault("start", start)
    args.setdefault("end", end)
    values = {key: str(args.get(key, ""))[:320] for key in ("start", "end", "reviewer")}
    with services().db.read() as session:
        try:
            ledger = _ledger(session, args)
        except FormErrors as exc:
            return html("flow_staff_payouts.html", 400, ledger=None, values=values, errors=exc.errors)
    return html("flow_staff_payouts.html", ledger=ledger, values=values, errors=[], dollars=payouts.dollars)


@bp.get("/staff/payouts.csv")
@login_required("staff")
def payouts_csv() -> Response:
    """The same ledger as a CSV download."""
    with services().db.read() as session:
        ledger = _ledger(session, request.args)
    name = f"payouts-{ledger.start.isoformat()}-{ledger.end.isoformat()}.csv"
    return csv_download(payouts.ledger_csv(ledger), name)


@bp.get("/staff/submissions")
@login_required("staff")
def submissions() -> Response:
    """Every submission with its state, newest change first, optionally of one state."""
    state = request.args.get("state") or ""
    state = state if state in STATES else ""
    page = form_number(request.args.get("page"), maximum=100_000) or 1
    with services().db.read() as session:
        query = select(m.Submission).order_by(m.Submission.updated_at.desc(), m.Submission.id.desc())
        if state:
            query = query.where(m.Submission.state == state)
        found = session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
        rows = [
            {
                "id": row.id,
                "educator": row.educator.name,
                "email": row.educator.email,
                "name": row.version.name,
                "version": row.version.version,
                "state": row.state,
                "attempts": len(row.attempts),
                "updated_at": iso(row.updated_at),
            }
            for row in found[:PAGE_SIZE]
        ]
    return html(
        "flow_staff_submissions.html",
        rows=rows,
        state=state,
        states=STATES,
        page=page,
        more=len(found) > PAGE_SIZE,
        me=g.person,
    )
