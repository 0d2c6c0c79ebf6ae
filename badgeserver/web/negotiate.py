"""Content negotiation and cache headers shared by the public pages."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request

JSON_TYPES = ("application/ld+json", "application/vc", "application/vc+ld+json", "application/json")
IMMUTABLE = "public, max-age=31536000, immutable"


def wants_html() -> bool:
    """True when the caller asked for HTML by name (browsers do); programs get JSON."""
    return any(mime == "text/html" and quality > 0 for mime, quality in request.accept_mimetypes)


def json_response(document: Any, *, mimetype: str = "application/json", cache: str | None = None) -> Response:
    """A JSON body (UTF-8, not ASCII-escaped) with an ETag."""
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False, indent=2)
    return cached(Response(text, mimetype=mimetype), text.encode("utf-8"), cache)


def cached(response: Response, body: bytes, cache: str | None) -> Response:
    """Set ETag (and Cache-Control) for `body`; answer 304 when the client has it."""
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    if cache:
        response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Accept"
    response.make_conditional(request)
    return response


def credential_mimetype() -> str:
    """The JSON media type the caller asked for (application/ld+json, application/vc, or JSON)."""
    best = request.accept_mimetypes.best_match(JSON_TYPES)
    return best or "application/json"
