"""The OpenAPI description of sharing: social card, QR codes, oEmbed, profiles and the sharing settings."""

from __future__ import annotations

from typing import Any

from badgeserver.web.flow_openapi import (
    FLAG,
    HTML,
    OBJECT,
    TEXT,
    _answer,
    _api,
    _form,
    _json,
    _page,
    _problem,
    _query,
)

PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
SVG = {"image/svg+xml": {"schema": {"type": "string"}}}
CREDENTIAL = {
    "name": "credential_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
HANDLE = {
    "name": "handle",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$"},
}
PRIVATE = "No such credential, or a private one (only its earner, signed in, gets it)"


def _public(
    summary: str, media: dict[str, Any], params: list[dict[str, Any]], missing: str
) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": params,
        "responses": {
            "200": _answer("Found", media),
            "304": _answer("Not modified (ETag)"),
            "404": _problem(missing),
        },
    }


def paths() -> dict[str, Any]:
    """Every sharing route: public documents, the earner's settings pages and the API."""
    oembed_params = [
        _query("url", "The credential page's address on this server", required=True, fmt="uri"),
        _query("format", "json (the default); xml answers 501"),
        _query("maxwidth", "Largest width in pixels"),
        _query("maxheight", "Largest height in pixels"),
    ]
    settings_page = _page("Sharing settings: the public profile and each credential's visibility")
    return {
        "/credentials/{credential_id}/card.png": {
            "get": _public(
                "The credential's 1200x630 social card (Open Graph and Twitter cards), cached for a year",
                PNG,
                [CREDENTIAL],
                PRIVATE,
            )
        },
        **{
            f"/credentials/{{credential_id}}/qr.{extension}": {
                "get": _public(
                    f"A QR code of the credential page's address ({extension.upper()})",
                    media,
                    [CREDENTIAL],
                    PRIVATE,
                )
            }
            for extension, media in (("png", PNG), ("svg", SVG))
        },
        "/oembed": {
            "get": {
                "summary": "oEmbed 1.0 (type rich) for a public credential page",
                "parameters": oembed_params,
                "responses": {
                    "200": _answer("The oEmbed answer", OBJECT),
                    "400": _problem("No url, a url that is not http(s), bad sizes or an unknown format"),
                    "404": _problem("The url is not a public credential page of this server"),
                    "501": _problem("format=xml: only JSON is answered"),
                },
            }
        },
        "/earners/{handle}": {
            "get": {
                "summary": "An earner's public profile: public credentials by bundle and stack, total credit",
                "parameters": [HANDLE],
                "responses": {
                    "200": _answer("The profile page", HTML),
                    "404": _answer(
                        "No such handle, or a private profile (only its owner, signed in, sees it)", HTML
                    ),
                },
            }
        },
        "/sharing": {"get": settings_page},
        "/sharing/profile": {
            "post": _form(
                "Make your profile public (profile_public=1) or private; optionally choose its handle",
                {"profile_public": FLAG, "handle": TEXT},
            )
        },
        "/sharing/name": {
            "post": _form(
                "Set the name your new credentials carry (empty: keep it private)", {"public_name": TEXT}
            )
        },
        "/sharing/credentials/{credential_id}": {
            "post": _form(
                "Make one of your credentials public (public=1) or private (public=0)",
                {"public": {"type": "string", "enum": ["0", "1"]}},
                [CREDENTIAL],
            )
        },
        "/api/v1/sharing": {
            "get": _api(
                "My profile settings and each credential's visibility (submissions:read)", errors=("403",)
            )
        },
        "/api/v1/sharing/profile": {
            "put": _api(
                "Make my profile public or private, optionally with a handle (submissions:write)",
                body=_json({"public": {"type": "boolean"}, "handle": TEXT}, ["public"]),
                errors=("400", "403", "409"),
            )
        },
        "/api/v1/sharing/name": {
            "put": _api(
                "Set the name my new credentials carry; null keeps it private (submissions:write)",
                body=_json({"name": {"type": "string", "nullable": True}}, []),
                errors=("400", "403"),
            )
        },
        "/api/v1/credentials/{credential_id}/visibility": {
            "put": _api(
                "Make one of my credentials public or private (submissions:write)",
                params=[CREDENTIAL],
                body=_json({"public": {"type": "boolean"}}, ["public"]),
                errors=("400", "403", "404"),
            )
        },
    }
