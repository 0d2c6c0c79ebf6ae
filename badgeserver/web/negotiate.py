"""Content negotiation and cache headers shared by the public pages."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request

JSON_TYPES = ("application/ld+json", "application/vc", "application/vc+ld+json", "application/json")
IMMUTABLE = "public, max-age=31536000, immutable"
# Credential JSON is immutable too, but an earner may make it private: caches keep it a day at most.
CREDENTIAL_JSON = "public, max-age=86400"


def _explicit_quality(names: tuple[str, ...]) -> float:
    return max((q for mime, q in request.accept_mimetypes if mime in names), default=0.0)


def wants_html() -> bool:
    """True when the caller named HTML and prefers it to JSON (browsers do); programs get JSON."""
    html = _explicit_quality(("text/html", "application/xhtml+xml"))
    return html > 0 and html >= _explicit_quality(JSON_TYPES)


def json_response(
    document: Any, *, mimetype: str = "application/json", cache: str | None = None, public: bool = False
) -> Response:
    """A JSON body (UTF-8, not ASCII-escaped) with an ETag; `public` lets any web page read it."""
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False, indent=2)
    response = cached(Response(text, mimetype=mimetype), text.encode("utf-8"), cache)
    if public:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def image_response(data: bytes, mimetype: str, cache: str) -> Response:
    """An image; an SVG opened directly may run nothing and load nothing."""
    response = cached(Response(data, mimetype=mimetype), data, cache)
    if mimetype == "image/svg+xml":
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


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
