"""Your account: who you are, your roles, your password and your API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError, NotFound
from badgeserver.program import accounts
from badgeserver.store import models as m
from badgeserver.web.auth import login_required, start_session
from badgeserver.web.flow_support import form_number
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("account", __name__)

Errors = list[tuple[str | None, str]]  # (the id of the field at fault, or None; the message)

PASSWORD_FIELDS = {"wrong_password": "current_password", accounts.WEAK: "new_password"}
TOKEN_FIELDS = {"token_name": "token_name", accounts.SCOPE: "scope-0", "forbidden": "scope-0"}


def form_id(text: str | None) -> int | None:
    """A positive database id from a form field, or None."""
    return form_number(text)


def _page(status: int = 200, errors: Errors | None = None, **extra: Any) -> Response:
    """The account page, with the errors (or the new token) of the form just sent."""
    svc = services()
    with svc.db.read() as session:
        person = session.get(m.Person, g.person.id)
        tokens = accounts.tokens_of(session, person) if person is not None else []
    values = {"token_name": "", "scopes": []} | extra.pop("values", {})
    html = render_template(
        "account_home.html",
        person=person,
        roles=[role for role in accounts.ROLES if person is not None and accounts.has_role(person, role)],
        tokens=tokens,
        scopes=accounts.SCOPES,
        allowed=accounts.allowed_scopes(person) if person is not None else (),
        errors=errors or [],
        values=values,
        **extra,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/account")
@login_required()
def account() -> Response:
    """Who you are, your roles, the password form and your API tokens."""
    return _page()


@bp.post("/account/password")
@login_required()
def change_password() -> Response:
    """Change your password: the current one, then the new one twice."""
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    errors: Errors = []
    if not current:
        errors.append(("current_password", "Enter your current password."))
    if not new:
        errors.append(("new_password", "Enter a new password."))
    elif new != (request.form.get("confirm_password") or ""):
        errors.append(("confirm_password", "The two new passwords are not the same."))
    if errors:
        return _page(400, errors)
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = session.get(m.Person, g.person.id)
            if person is None:
                return redirect(url_for("auth.login"), 303)
            accounts.change_password(session, person, current, new, now=svc.clock())
    except BadgeServerError as exc:
        return _page(status_for(exc), [(PASSWORD_FIELDS.get(exc.code), exc.message)])
    start_session(person)  # the password changed: every other session of this person has ended
    flash("Your password was changed. Other browsers signed in as you have been signed out.")
    return redirect(url_for("account.account"), 303)


@bp.post("/account/tokens")
@login_required()
def create_token() -> Response:
    """Create an API token and show it, this once."""
    name = (request.form.get("token_name") or "").strip()
    scopes = request.form.getlist("scope")
    values = {"token_name": name, "scopes": scopes}
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = session.get(m.Person, g.person.id)
            if person is None:
                return redirect(url_for("auth.login"), 303)
            token, plaintext = accounts.create_token(
                session, person, name, scopes, now=svc.clock(), actor=person
            )
    except BadgeServerError as exc:
        return _page(status_for(exc), [(TOKEN_FIELDS.get(exc.code), exc.message)], values=values)
    return _page(new_token=plaintext, new_token_name=token.name)


@bp.post("/account/tokens/revoke")
@login_required()
def revoke_token() -> Response:
    """Revoke one of your API tokens."""
    token_id = form_id(request.form.get("token_id"))
    if token_id is None:
        return _page(400, [(None, "Choose a token to revoke.")])
    svc = services()
    try:
        with svc.db.transaction() as session:
            actor = session.get(m.Person, g.person.id)
            token = session.get(m.ApiToken, token_id)
            if token is None or actor is None or token.person_id != actor.id:
                raise NotFound("You have no such token.")  # this page is for one's own, even for staff
            accounts.revoke_token(session, actor, token_id, now=svc.clock())
    except BadgeServerError as exc:
        return _page(status_for(exc), [(None, exc.message)])
    flash(f"The token “{token.name}” was revoked; programs using it can no longer sign in with it.")
    return redirect(url_for("account.account"), 303)
