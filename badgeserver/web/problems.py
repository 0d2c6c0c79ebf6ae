"""Map errors to HTTP answers: problem JSON (RFC 9457) for machines, a plain page for people."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from badgeserver.errors import (
    BadgeServerError,
    FetchError,
    InputError,
    InputTooLarge,
    NotFound,
)
from badgeserver.web.negotiate import wants_html

log = logging.getLogger(__name__)

STATUS_BY_CODE = {"forbidden": 403, "conflict": 409, "not_found": 404}
DETAILS = {
    400: "The request could not be understood.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The upload is larger than badgeserver accepts.",
}


def status_for(error: BadgeServerError) -> int:
    """The HTTP status of a domain error: 4xx for anything the caller can fix."""
    if isinstance(error, InputTooLarge):
        return 413
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InputError):
        return 400
    if isinstance(error, FetchError):
        return 502
    return STATUS_BY_CODE.get(error.code, 400)


def wants_json() -> bool:
    """True when the caller is a program: an API path, or anyone who did not ask for HTML first."""
    if request.path.startswith("/api/") or request.path.endswith(".json"):
        return True
    return not wants_html()


def problem(status: int, title: str, detail: str, code: str | None = None) -> Response:
    """A problem answer in the form the caller wants."""
    if wants_json():
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        if code:
            body["code"] = code
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    html = render_template("error.html", status=status, title=title, detail=detail)
    return Response(html, status=status, mimetype="text/html")


def register(app: Flask) -> None:
    """Install the error handlers on `app`."""

    @app.errorhandler(BadgeServerError)
    def _domain(error: BadgeServerError) -> Response:
        status = status_for(error)
        return problem(status, _title(status), error.message, error.code)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        detail = DETAILS.get(status) if error.description == type(error).description else error.description
        response = problem(status, _title(status), detail or _title(status))
        if status == 405:  # RFC 9110: a 405 names the methods that work
            for name, value in error.get_headers():
                if name.lower() == "allow":
                    response.headers["Allow"] = ", ".join(sorted(m.strip() for m in value.split(",")))
        return response

    @app.errorhandler(IntegrityError)
    def _conflict(error: IntegrityError) -> Response:
        # A unique rule in the database caught two requests racing for the same change.
        return problem(
            409,
            "Conflict",
            "This change conflicts with another made at the same time; reload and try again.",
            "conflict",
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("Unexpected error on %s %s", request.method, request.path)
        return problem(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
