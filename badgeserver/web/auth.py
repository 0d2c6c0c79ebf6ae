"""Who is asking: sign-in and sign-out, the session cookie, CSRF, and the decorators that guard views.

Protect a page with `@login_required("staff")` (or "educator", "reviewer"); protect a JSON endpoint
with `@api_auth("scope:name")`. Both leave the person in `flask.g.person` (detached: load it again in
your own session before changing it); `api_auth` also sets `g.scopes`. Every browser POST carries
`{{ csrf_field() }}` (or the `X-CSRF-Token` header); `@csrf_exempt` is for the rare public form.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from badgeserver.config import Settings
from badgeserver.program import accounts
from badgeserver.store import models as m
from badgeserver.web.problems import problem, wants_json
from badgeserver.web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FAILED = "The form has expired; reload the page and try again."
# The public verifier changes nothing, so anyone may post to it from anywhere.
CSRF_EXEMPT_ENDPOINTS = frozenset({"verify.verify_form", "verify.api_verify"})
SESSION_COOKIE = "badgeserver_session"
REALM = 'Bearer realm="badgeserver"'
_UNSET = object()


# --- the session ------------------------------------------------------------------------------------


def configure_session(app: Flask, settings: Settings) -> None:
    """Harden Flask's cookie session: HttpOnly, SameSite=Lax, Secure under https, a bounded lifetime."""
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def _password_mark(person: m.Person) -> str:
    """A keyed fingerprint of the password hash: changing the password ends every other session."""
    key = str(current_app.secret_key or "").encode("utf-8")
    return hmac.new(key, (person.password_hash or "").encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def start_session(person: m.Person) -> None:
    """Sign `person` in: a fresh session (new contents, new CSRF token), so nothing survives from before."""
    session.clear()
    session.permanent = True
    session["pid"] = person.id
    session["nonce"] = secrets.token_urlsafe(16)
    session["at"] = int(services().clock().timestamp())
    session["pwd"] = _password_mark(person)
    session["gen"] = person.session_generation
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.bs_person = person


def end_session() -> None:
    """Sign out: the whole session is dropped."""
    session.clear()
    g.bs_person = None


def current_person() -> m.Person | None:
    """The signed-in, active person of this browser session (None for Bearer-token requests)."""
    found = g.get("bs_person", _UNSET)
    if found is not _UNSET:
        return found
    person = None
    # No cookie: the session is never touched, so public pages stay free of `Vary: Cookie`.
    if not g.get("bearer") and current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        person = _session_person()
    g.bs_person = person
    return person


def _session_person() -> m.Person | None:
    pid, started = session.get("pid"), session.get("at")
    if not isinstance(pid, int) or not isinstance(started, int):
        return None
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if services().clock().timestamp() - started > lifetime:
        end_session()
        return None
    with services().db.read() as db_session:
        person = db_session.get(m.Person, pid)
    if (
        person is None
        or not person.active
        or session.get("gen") != person.session_generation
        or not hmac.compare_digest(str(session.get("pwd", "")), _password_mark(person))
    ):
        end_session()
        return None
    return person


def _template_person() -> m.Person | None:
    """current_person() for templates: an error page must render even when the database is down."""
    try:
        return current_person()
    except SQLAlchemyError:
        log.exception("Could not load the signed-in person")
        return None


# --- CSRF -------------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_field() -> Markup:
    """The hidden form field carrying the CSRF token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def csrf_exempt(view: F) -> F:
    """Mark a view that changes nothing (like the public verifier) as open to cross-site posts."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _check_csrf() -> Response | None:
    """Refuse an unsafe browser request without the session's CSRF token."""
    if _bearer_token() is not None:
        # Browsers never add an Authorization header cross-site; the session is ignored for it.
        g.bearer = True
        return None
    if request.method not in UNSAFE_METHODS or request.endpoint is None:
        return None  # routing errors (404, 405) answer as they are
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint in CSRF_EXEMPT_ENDPOINTS or getattr(view, "csrf_exempt", False):
        return None
    has_cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    expected = session.get(CSRF_FIELD) if has_cookie else None
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        return problem(400, "Bad Request", CSRF_FAILED, "csrf_failed")
    return None


# --- guarding views ---------------------------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site; None for anything that could leave it."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def login_required(role: str = "educator") -> Callable[[F], F]:
    """A page for signed-in people with `role`: others are sent to sign in, or shown 403."""
    if role not in accounts.ROLES:
        raise ValueError(f"login_required({role!r}): the role is one of {', '.join(accounts.ROLES)}.")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            person = current_person()
            if person is None:
                if wants_json():
                    return problem(401, "Unauthorized", "Sign in to use this page.", "unauthorized")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not accounts.has_role(person, role):
                return problem(403, "Forbidden", f"This page is for {_ROLE_NAMES[role]} only.", "forbidden")
            g.person = person
            response = current_app.make_response(view(*args, **kwargs))
            response.headers["Cache-Control"] = "no-store"
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


_ROLE_NAMES = {"educator": "signed-in people", "reviewer": "reviewers", "staff": "program staff"}


def _unauthorized(detail: str, error: str | None = None) -> Response:
    response = problem(401, "Unauthorized", detail, "unauthorized")
    response.headers["WWW-Authenticate"] = REALM + (f', error="{error}"' if error else "")
    return response


def api_auth(scope: str | None = None) -> Callable[[F], F]:
    """A JSON endpoint for a Bearer token holding `scope` (None: any valid token); else 401 or 403."""
    if scope is not None and scope not in accounts.SCOPES:
        raise ValueError(f"api_auth({scope!r}): not a scope; choose from {', '.join(accounts.SCOPES)}.")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _bearer_token()
            if not token:
                return _unauthorized("Send an API token: Authorization: Bearer bsk_….")
            svc = services()
            try:
                with svc.db.transaction() as db_session:
                    person, scopes = accounts.authenticate_token(db_session, token, now=svc.clock())
            except accounts.AuthenticationFailed as exc:
                return _unauthorized(exc.message, "invalid_token")
            if scope is not None and scope not in scopes:
                detail = f"The token lacks the scope {scope}."
                response = problem(403, "Forbidden", detail, "insufficient_scope")
                response.headers["WWW-Authenticate"] = f'{REALM}, error="insufficient_scope", scope="{scope}"'
                return response
            g.person, g.scopes = person, scopes
            response = current_app.make_response(view(*args, **kwargs))
            response.headers["Cache-Control"] = "no-store"
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


# --- the views --------------------------------------------------------------------------------------


def _login_page(email: str, target: str, error: str | None, status: int) -> Response:
    html = render_template("login.html", email=email, next=target, error=error)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/login")
def login() -> Response:
    """The sign-in form."""
    target = safe_next(request.args.get("next")) or ""
    if current_person() is not None:
        return redirect(target or url_for("account.account"), 303)
    return _login_page("", target, None, 200)


@bp.post("/login")
def login_post() -> Response:
    """Check the email and password; on success start a fresh session and go where the person was going."""
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    target = safe_next(request.form.get("next")) or ""
    if not email or not password:
        return _login_page(email, target, "Enter your email and your password.", 400)
    svc = services()
    person: m.Person | None = None
    failure = ""
    try:
        with svc.db.transaction() as db_session:
            try:
                person = accounts.authenticate(
                    db_session, email, password, remote_addr=request.remote_addr or "", now=svc.clock()
                )
            except accounts.AuthenticationFailed as exc:
                failure = exc.message  # caught inside: the failed attempt is committed, to count it
    except accounts.Throttled as exc:
        response = _login_page(email, target, exc.message, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if person is None:
        return _login_page(email, target, failure, 400)
    start_session(person)
    return redirect(target or url_for("account.account"), 303)


@bp.post("/logout")
def logout() -> Response:
    """Sign out everywhere (every session of this person ends, even a copied cookie) and go to the catalog."""
    person = current_person()
    if person is not None:
        with services().db.transaction() as db_session:
            row = db_session.get(m.Person, person.id)
            if row is not None:
                row.session_generation += 1
    end_session()
    return redirect(url_for("public.index"), 303)


@bp.get("/api/v1/me")
@api_auth()
def me() -> Response:
    """Who the token belongs to and what it may do: the simplest check that a token works."""
    person: m.Person = g.person
    body = {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "roles": [role for role in accounts.ROLES if accounts.has_role(person, role)],
        "scopes": [scope for scope in accounts.SCOPES if scope in g.scopes],
    }
    return jsonify(body)


# --- wiring -----------------------------------------------------------------------------------------


def init_app(app: Flask, settings: Settings) -> None:
    """Session settings, the CSRF check, template helpers, error answers and the sign-in views."""
    configure_session(app, settings)
    app.before_request(_check_csrf)
    app.add_template_global(_template_person, "current_person")
    app.add_template_global(csrf_token, "csrf_token")
    app.add_template_global(csrf_field, "csrf_field")
    app.add_template_global(accounts.has_role, "has_role")
    app.register_blueprint(bp)

    @app.errorhandler(accounts.Throttled)
    def _throttled(error: accounts.Throttled) -> Response:
        response = problem(429, "Too Many Requests", error.message, error.code)
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(accounts.AuthenticationFailed)
    def _failed(error: accounts.AuthenticationFailed) -> Response:
        return _unauthorized(error.message)
