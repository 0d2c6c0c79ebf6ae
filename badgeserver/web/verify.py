"""Verification for anyone: the /verify page and POST /api/verify, one report for both."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from badgeserver.errors import FetchError, InputError
from badgeserver.identity import is_email
from badgeserver.verify.inputs import check_depth
from badgeserver.verify.report import Report
from badgeserver.web.services import services

bp = Blueprint("verify", __name__)

IMAGE_TYPES = ("image/png", "image/svg+xml")
FETCH_ACCEPT = "application/ld+json, application/vc, application/json, image/png, image/svg+xml;q=0.9"


def _from_url(url: str, recipient: str | None) -> Report:
    url = url.strip()
    if not url:
        raise InputError("Give a URL to verify.")
    try:
        data = services().fetcher.get(url, accept=FETCH_ACCEPT)
    except FetchError as exc:
        raise InputError(exc.message) from exc
    return services().verifier().verify_bytes(data, recipient=recipient)


def _from_json_body(body: Any) -> Report:
    if not isinstance(body, dict):
        raise InputError('Send a credential object, or {"credential": …} or {"url": …}.')
    recipient = _recipient(body.get("recipient"))
    if isinstance(body.get("url"), str):
        return _from_url(body["url"], recipient)
    if "credential" in body:
        credential = body["credential"]
        text = credential if isinstance(credential, str) else json.dumps(credential)
        return services().verifier().verify_text(text, recipient=recipient)
    if "@context" in body or "proof" in body:
        return services().verifier().verify_text(json.dumps(body))
    raise InputError('Send a credential object, or {"credential": …} or {"url": …}.')


def _recipient(value: object) -> str | None:
    """The optional recipient email, checked like everywhere else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not is_email(value):
        raise InputError("The recipient is not an email address.")
    return value.strip()


def _report_response(report: Report) -> Response:
    body = report.to_json()
    response = jsonify(body)
    parse = next(c for c in report.checks if c.id == "input.parse")
    if parse.status == "failed" and parse.code == "input_too_large":
        response = jsonify(
            {
                "type": "about:blank",
                "title": "Content Too Large",
                "status": 413,
                "detail": parse.message,
                "code": parse.code,
                "report": body,
            }
        )
        response.status_code = 413
        response.mimetype = "application/problem+json"
    elif parse.status == "failed":
        response = jsonify(
            {
                "type": "about:blank",
                "title": "Bad Request",
                "status": 400,
                "detail": report.headline(),
                "code": "unusable_input",
                "report": body,
            }
        )
        response.status_code = 400
        response.mimetype = "application/problem+json"
    return response


@bp.post("/api/verify")
def api_verify() -> Response:
    """Verify an uploaded file, a JSON credential, a JWT, or a URL; answer the report."""
    verifier = services().verifier()
    mimetype = request.mimetype
    if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded") or request.files:
        upload = request.files.get("file")
        recipient = _recipient(request.form.get("recipient"))
        if upload is not None:
            return _report_response(verifier.verify_bytes(upload.read(), recipient=recipient))
        if request.form.get("url"):
            return _report_response(_from_url(request.form["url"], recipient))
        if request.form.get("credential"):
            return _report_response(verifier.verify_text(request.form["credential"], recipient=recipient))
        raise InputError("Send a file in the form field 'file', or a 'url' or 'credential' field.")
    data = request.get_data(cache=False)
    if not data:
        raise InputError("The request has no body; send a credential, a baked image, or a URL.")
    if mimetype in IMAGE_TYPES or mimetype == "text/plain":
        return _report_response(verifier.verify_bytes(data))
    if mimetype in ("application/json", "application/ld+json", "application/vc", "application/vc+ld+json"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("The request body is not UTF-8 text.") from None
        check_depth(text)
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError("The request body is not valid JSON.") from exc
        return _report_response(_from_json_body(body))
    return _report_response(verifier.verify_bytes(data))


@bp.get("/verify")
def verify_page() -> str:
    """The verification form: upload, paste or link."""
    return render_template("verify.html", report=None, error=None)


@bp.post("/verify")
def verify_form() -> tuple[str, int] | str:
    """Verify what the form carried and show the report."""
    upload = request.files.get("file")
    pasted = (request.form.get("credential") or "").strip()
    url = (request.form.get("url") or "").strip()
    try:
        recipient = _recipient(request.form.get("recipient"))
        if upload is not None and upload.filename:
            report = services().verifier().verify_bytes(upload.read(), recipient=recipient)
        elif pasted:
            report = services().verifier().verify_text(pasted, recipient=recipient)
        elif url:
            report = _from_url(url, recipient)
        else:
            raise InputError("Choose a file, paste a credential, or give a URL.")
    except InputError as exc:
        return render_template("verify.html", report=None, error=exc.message), 400
    status = 400 if report.status_of("input.parse") == "failed" else 200
    return render_template("verify.html", report=report, error=None), status
