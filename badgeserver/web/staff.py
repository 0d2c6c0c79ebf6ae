"""Staff pages: people and their roles, and the audit log."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError, InputError
from badgeserver.program import accounts, audit
from badgeserver.store import models as m
from badgeserver.web.account import Errors, form_id
from badgeserver.web.auth import login_required
from badgeserver.web.flow_support import form_number
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("staff", __name__)

PAGE_SIZE = 50
MAX_PAGE = 100_000
SEARCH_MAX = 100
NEW_PERSON_FIELDS = {accounts.WEAK: "new-password", "invalid_input": "new-email", "conflict": "new-email"}


def _page_number() -> int:
    return min(form_number(request.args.get("page"), maximum=MAX_PAGE) or 1, MAX_PAGE)


def _people_page(
    status: int = 200, errors: Errors | None = None, values: dict[str, Any] | None = None
) -> Response:
    """The people list (searched and paged), with the create form and any errors."""
    search = (request.args.get("q") or "")[:SEARCH_MAX]
    page = _page_number()
    with services().db.read() as session:
        rows = accounts.list_people(
            session, search=search, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
    html = render_template(
        "staff_people.html",
        people=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        search=search,
        me=g.person,
        role_of=accounts.role_of,
        errors=errors or [],
        values={"email": "", "name": "", "reviewer": False, "staff": False} | (values or {}),
    )
    return Response(html, status=status, mimetype="text/html")


def _done(message: str) -> Response:
    flash(message)
    return redirect(url_for("staff.people"), 303)


@bp.get("/staff/people")
@login_required("staff")
def people() -> Response:
    """Everyone, with their roles; staff add people, change roles, and deactivate."""
    return _people_page()


@bp.post("/staff/people")
@login_required("staff")
def add_person() -> Response:
    """Add a person with roles and an initial password."""
    form = request.form
    email, name = (form.get("email") or "").strip(), (form.get("name") or "").strip()
    reviewer, staff = bool(form.get("reviewer")), bool(form.get("staff"))
    values = {"email": email, "name": name, "reviewer": reviewer, "staff": staff}
    password = form.get("password") or ""
    errors: Errors = []
    if not email:
        errors.append(("new-email", "Enter the person's email address."))
    if not name:
        errors.append(("new-name", "Enter the person's name."))
    if not password:
        errors.append(("new-password", "Enter an initial password (12 characters or more)."))
    else:
        try:
            accounts.check_password_policy(password, email)
        except InputError as exc:
            errors.append(("new-password", exc.message))
    if errors:
        return _people_page(400, errors, values)
    svc = services()
    try:
        with svc.db.transaction() as session:
            actor = session.get(m.Person, g.person.id)
            person = accounts.add_person(
                session,
                actor,
                email=email,
                name=name,
                reviewer=reviewer,
                staff=staff,
                password=password,
                now=svc.clock(),
            )
    except BadgeServerError as exc:
        return _people_page(status_for(exc), [(NEW_PERSON_FIELDS.get(exc.code), exc.message)], values)
    return _done(f"{person.name} ({person.email}) was added as {accounts.role_of(person)}.")


def _target(session: Any) -> tuple[m.Person | None, m.Person]:
    """The acting staff member and the person the form names."""
    person_id = form_id(request.form.get("person_id"))
    if person_id is None:
        raise InputError("Choose a person.")
    return session.get(m.Person, g.person.id), accounts.get_person(session, person_id)


@bp.post("/staff/people/roles")
@login_required("staff")
def set_roles() -> Response:
    """Give or take the reviewer and staff roles."""
    svc = services()
    try:
        with svc.db.transaction() as session:
            actor, person = _target(session)
            accounts.set_roles(
                session,
                actor,
                person,
                reviewer=bool(request.form.get("reviewer")),
                staff=bool(request.form.get("staff")),
                now=svc.clock(),
            )
    except BadgeServerError as exc:
        return _people_page(status_for(exc), [(None, exc.message)])
    return _done(f"{person.email} is now {accounts.role_of(person)}.")


@bp.post("/staff/people/active")
@login_required("staff")
def set_active() -> Response:
    """Deactivate a person (no sign-in, no tokens) or reactivate them."""
    active = request.form.get("active") == "1"
    svc = services()
    try:
        with svc.db.transaction() as session:
            actor, person = _target(session)
            accounts.set_active(session, actor, person, active=active, now=svc.clock())
    except BadgeServerError as exc:
        return _people_page(status_for(exc), [(None, exc.message)])
    return _done(f"{person.email} was {'reactivated' if active else 'deactivated'}.")


def _scrubbed(value: Any) -> Any:
    """A before/after record without secrets, even if one was recorded by mistake."""
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items() if k not in audit.SECRET_FIELDS}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _as_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_scrubbed(value), indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.get("/staff/audit")
@login_required("staff")
def audit_log() -> Response:
    """The audit log, newest first, a page at a time, optionally for one kind of record."""
    kind = (request.args.get("kind") or "").strip()[:40]
    page = _page_number()
    with services().db.read() as session:
        kinds = list(
            session.scalars(select(m.AuditEntry.subject_type).distinct().order_by(m.AuditEntry.subject_type))
        )
        found = audit.entries(
            session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, subject_type=kind or None
        )
        entries = [
            {
                "id": entry.id,
                "at": entry.at,
                "actor": entry.actor.email if entry.actor is not None else "the system",
                "action": entry.action,
                "subject": f"{entry.subject_type} {entry.subject_id}",
                "before": _as_json(entry.before),
                "after": _as_json(entry.after),
            }
            for entry in found[:PAGE_SIZE]
        ]
    html = render_template(
        "staff_audit.html", entries=entries, kinds=kinds, kind=kind, page=page, more=len(found) > PAGE_SIZE
    )
    return Response(html, status=200, mimetype="text/html")
