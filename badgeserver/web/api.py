"""The JSON API's description: the OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from badgeserver import __version__
from badgeserver.web import flow_openapi, share_openapi
from badgeserver.web.negotiate import json_response
from badgeserver.web.services import services

bp = Blueprint("api", __name__)

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_JSON_LD = {"schema": {"type": "object"}}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def _answer(description: str, media: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if media:
        answer["content"] = media
    return answer


def _problem(description: str) -> dict[str, Any]:
    return _answer(description, {"application/problem+json": {"schema": _PROBLEM}})


def _page(summary: str) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": _answer("The page", _HTML)}}


def _uuid_param() -> dict[str, Any]:
    return {
        "name": "credential_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }


def _slug_param(name: str = "slug") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    }


def openapi_document(server: str) -> dict[str, Any]:
    """The OpenAPI 3.0 description of badgeserver's HTTP interface."""
    credential_json = {
        "application/ld+json": _JSON_LD,
        "application/vc": _JSON_LD,
        "application/json": _JSON_LD,
        "text/html": {"schema": {"type": "string"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "badgeserver",
            "version": __version__,
            "description": "Open Badges 3.0 credentials: public documents, baked badge images, verification.",
        },
        "servers": [{"url": server}],
        "paths": {
            "/api/verify": {
                "post": {
                    "summary": "Verify a credential: a baked PNG or SVG, credential JSON, a JWT, or a URL",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "url": {"type": "string", "format": "uri"},
                                        "credential": {"type": "string"},
                                        "recipient": {"type": "string", "format": "email"},
                                    },
                                }
                            },
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "url": {"type": "string", "format": "uri"},
                                        "credential": {"type": "string"},
                                        "recipient": {"type": "string", "format": "email"},
                                    },
                                }
                            },
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/VerifyRequest"},
                                        {"type": "object", "description": "The credential itself"},
                                    ]
                                }
                            },
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "image/svg+xml": {"schema": {"type": "string", "format": "binary"}},
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _answer(
                            "The verification report (verified or not)",
                            {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}},
                        ),
                        "400": _problem("The input holds no usable credential"),
                        "413": _problem("The input is too large"),
                    },
                }
            },
            "/credentials/{credential_id}": {
                "get": {
                    "summary": "A credential: its page (text/html) or its exact signed JSON",
                    "parameters": [_uuid_param()],
                    "responses": {
                        "200": _answer("The credential", credential_json),
                        "404": _problem("No such public credential"),
                    },
                }
            },
            "/credentials/{credential_id}.json": {
                "get": {
                    "summary": "The exact signed credential JSON",
                    "parameters": [_uuid_param()],
                    "responses": {
                        "200": _answer("The credential", {"application/json": _JSON_LD}),
                        "404": _problem("No such public credential"),
                    },
                }
            },
            "/credentials/{credential_id}.png": {
                "get": {
                    "summary": "The badge image with the credential baked in (PNG)",
                    "parameters": [_uuid_param()],
                    "responses": {
                        "200": _answer(
                            "Baked PNG", {"image/png": {"schema": {"type": "string", "format": "binary"}}}
                        ),
                        "404": _problem("No such public credential"),
                    },
                }
            },
            "/credentials/{credential_id}.svg": {
                "get": {
                    "summary": "The badge image with the credential baked in (SVG)",
                    "parameters": [_uuid_param()],
                    "responses": {
                        "200": _answer("Baked SVG", {"image/svg+xml": {"schema": {"type": "string"}}}),
                        "404": _problem("No such public credential"),
                    },
                }
            },
            "/issuers/{slug}": {
                "get": {
                    "summary": "The issuer's Open Badges Profile (JSON-LD) or page",
                    "parameters": [_slug_param()],
                    "responses": {
                        "200": _answer("The profile", {"application/ld+json": _JSON_LD}),
                        "404": _problem("No such issuer"),
                    },
                }
            },
            "/issuers/{slug}/did.json": {
                "get": {
                    "summary": "The issuer's did:web DID document",
                    "parameters": [_slug_param()],
                    "responses": {
                        "200": _answer("The DID document", {"application/did+json": _JSON_LD}),
                        "404": _problem("No such issuer"),
                    },
                }
            },
            "/achievements/{slug}/v{version}": {
                "get": {
                    "summary": "One microcredential version's Achievement (JSON-LD) or page",
                    "parameters": [
                        _slug_param(),
                        {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _answer("The achievement", {"application/ld+json": _JSON_LD}),
                        "404": _problem("No such achievement"),
                    },
                }
            },
            "/": {"get": _page("The catalog: microcredentials, stacks and bundles")},
            "/verify": {
                "get": _page("The verification form: upload a badge, paste a credential, or give a link"),
                "post": {
                    "summary": "Verify what the form carried (file, credential or url) and show the report",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "credential": {"type": "string"},
                                        "url": {"type": "string", "format": "uri"},
                                        "recipient": {"type": "string", "format": "email"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _answer("The report page", _HTML),
                        "400": _answer("The form held nothing usable", _HTML),
                        "413": _answer("The upload is too large", _HTML),
                    },
                },
            },
            **{
                f"/images/{{image_id}}.{extension}": {
                    "get": {
                        "summary": f"A catalog image (badge or logo), {extension.upper()}",
                        "parameters": [
                            {
                                "name": "image_id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "integer"},
                            }
                        ],
                        "responses": {
                            "200": _answer(
                                "The image", {media: {"schema": {"type": "string", "format": "binary"}}}
                            ),
                            "404": _problem("No such image"),
                        },
                    }
                }
                for extension, media in (("png", "image/png"), ("svg", "image/svg+xml"))
            },
            **{
                f"/{kind}s/{{slug}}": {
                    "get": {
                        "summary": f"A {kind} page listing its parts",
                        "parameters": [_slug_param()],
                        "responses": {
                            "200": _answer(f"The {kind} page", _HTML),
                            "404": _problem(f"No such {kind}"),
                        },
                    }
                }
                for kind in ("stack", "bundle")
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This OpenAPI document",
                    "responses": {"200": _answer("The OpenAPI document", {"application/json": _JSON_LD})},
                }
            },
            **_account_paths(),
            **flow_openapi.page_paths(),
            **flow_openapi.api_paths(),
            **share_openapi.paths(),
            "/status/{slug}/{purpose}/{number}": {
                "get": {
                    "summary": "A signed Bitstring Status List credential",
                    "parameters": [
                        _slug_param(),
                        {
                            "name": "purpose",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["revocation", "suspension"]},
                        },
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": _answer("The status list", {"application/vc+ld+json": _JSON_LD}),
                        "404": _problem("No such status list"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (bsk_…): the account page or `badgeserver tokens create`.",
                }
            },
            "schemas": {
                "Me": {
                    "type": "object",
                    "required": ["id", "email", "name", "roles", "scopes"],
                    "properties": {
                        "id": {"type": "integer"},
                        "email": {"type": "string", "format": "email"},
                        "name": {"type": "string"},
                        "roles": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["educator", "reviewer", "staff"]},
                        },
                        "scopes": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                    },
                },
                "VerifyRequest": {
                    "type": "object",
                    "properties": {
                        "credential": {"oneOf": [{"type": "object"}, {"type": "string"}]},
                        "url": {"type": "string", "format": "uri"},
                        "recipient": {"type": "string", "format": "email"},
                    },
                },
                "Check": {
                    "type": "object",
                    "required": ["id", "status", "code", "message"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["passed", "failed", "warning", "error", "skipped"],
                        },
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
                "Report": {
                    "type": "object",
                    "required": ["verified", "headline", "checked_at", "input", "summary", "checks"],
                    "properties": {
                        "verified": {"type": "boolean"},
                        "headline": {"type": "string"},
                        "checked_at": {"type": "string", "format": "date-time"},
                        "input": {"type": "object", "properties": {"kind": {"type": "string"}}},
                        "credential": {"type": "object", "nullable": True},
                        "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "checks": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}},
                    },
                },
            },
        },
    }


def _form_post(summary: str, fields: dict[str, Any], done: str = "303") -> dict[str, Any]:
    """A browser form post (CSRF token required): a redirect or page on success, the page with errors."""
    properties = {"csrf_token": {"type": "string"}} | fields
    return {
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": properties}}
            },
        },
        "responses": {
            done: _answer("Done" if done == "303" else "The page", _HTML if done != "303" else None),
            "400": _answer("The form has errors or expired (no CSRF token); nothing changed", _HTML),
        },
    }


def _account_paths() -> dict[str, Any]:
    """Sign-in, the account and staff pages (browser forms), and GET /api/v1/me."""
    text, flag, number = {"type": "string"}, {"type": "string", "enum": ["1"]}, {"type": "integer"}
    login = _form_post(
        "Sign in; 303 to `next` (a path on this site) or /account", {"email": text, "password": text}
    )
    login["responses"]["429"] = _answer("Too many failed sign-ins (Retry-After says how long to wait)", _HTML)
    return {
        "/login": {"get": _page("The sign-in form"), "post": login},
        "/logout": {"post": _form_post("Sign out", {})},
        "/account": {"get": _page("Your account: roles, password, API tokens (signed in)")},
        "/account/password": {
            "post": _form_post(
                "Change your password",
                {"current_password": text, "new_password": text, "confirm_password": text},
            )
        },
        "/account/tokens": {
            "post": _form_post(
                "Create an API token; the page shows it once",
                {"token_name": text, "scope": {"type": "array", "items": text}},
                done="200",
            )
        },
        "/account/tokens/revoke": {"post": _form_post("Revoke one of your API tokens", {"token_id": number})},
        "/staff/people": {
            "get": _page("People and their roles (staff)"),
            "post": _form_post(
                "Add a person with roles and an initial password (staff)",
                {"email": text, "name": text, "password": text, "reviewer": flag, "staff": flag},
            ),
        },
        "/staff/people/roles": {
            "post": _form_post(
                "Change a person's roles (staff)", {"person_id": number, "reviewer": flag, "staff": flag}
            )
        },
        "/staff/people/active": {
            "post": _form_post(
                "Deactivate (active=0) or reactivate (active=1) a person (staff)",
                {"person_id": number, "active": {"type": "string", "enum": ["0", "1"]}},
            )
        },
        "/staff/audit": {"get": _page("The audit log, newest first, by kind and page (staff)")},
        "/api/v1/me": {
            "get": {
                "summary": "The API token's person, roles and scopes: the simplest check that a token works",
                "security": [{"apiToken": []}],
                "responses": {
                    "200": _answer(
                        "Who the token acts for",
                        {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}},
                    ),
                    "401": _problem("No token, or an unknown or revoked one (see WWW-Authenticate)"),
                },
            }
        },
    }


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of this server."""
    return json_response(openapi_document(services().urls.base), cache="public, max-age=3600")
