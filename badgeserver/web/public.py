"""Public pages and documents: credentials, baked images, issuers, achievements, DIDs, status lists."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, g, render_template
from sqlalchemy import select
from werkzeug.routing import BaseConverter

from badgeserver import bakery
from badgeserver.issuer.build import achievement_json
from badgeserver.ld.contexts import OB_V3P0, VC_V2
from badgeserver.program import issuing, profiles
from badgeserver.program import public as published
from badgeserver.store import models as m
from badgeserver.web import share
from badgeserver.web.auth import current_person
from badgeserver.web.credential_access import badge_image, is_owner, keep_private, visible_credential
from badgeserver.web.negotiate import (
    CREDENTIAL_JSON,
    IMMUTABLE,
    credential_mimetype,
    image_response,
    json_response,
    wants_html,
)
from badgeserver.web.services import services

bp = Blueprint("public", __name__)

UUID = "<uuid:credential_id>"
STATUS_CACHE = "public, max-age=300"


@bp.after_request
def _vary(response: Response) -> Response:
    """Pages and documents share URLs and differ by Accept, so caches must key on it."""
    response.vary.add("Accept")
    if g.get("earner_view_possible"):
        response.vary.add("Cookie")  # a signed-in earner sees their own view of the same URL
    return keep_private(response)


DB_INT_MAX = 2**31 - 1  # the largest INTEGER id; bigger numbers overflow the database driver


class SlugConverter(BaseConverter):
    """A catalog slug in a URL; anything else (NUL bytes, upper case, 1000 characters) is no page."""

    regex = r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?"


@bp.get("/")
def index() -> str:
    """The catalog: microcredentials with credit, stacks and bundles."""
    with services().db.read() as session:
        micro = session.scalars(select(m.Microcredential).order_by(m.Microcredential.slug)).all()
        listing = [(mc, mc.versions[-1]) for mc in micro if mc.state == "active" and mc.versions]
        stacks = session.scalars(select(m.Stack).order_by(m.Stack.id)).all()
        bundles = session.scalars(select(m.Bundle).order_by(m.Bundle.id)).all()
        return render_template(
            "index.html", listing=listing, stacks=stacks, bundles=bundles, urls=services().urls
        )


def _credential(session: Any, credential_id: str) -> m.Credential:
    # A private credential answers 404, except to its earner (credential_access.py).
    return visible_credential(session, credential_id)


@bp.get(f"/credentials/{UUID}")
def credential(credential_id: Any) -> Response | str:
    """The credential: a page for people, the exact signed JSON for programs."""
    svc = services()
    with svc.db.read() as session:
        row = _credential(session, str(credential_id))
        if not wants_html():
            return json_response(
                row.signed_json, mimetype=credential_mimetype(), cache=CREDENTIAL_JSON, public=True
            )
        document = json.loads(row.signed_json)
        report = svc.verifier().verify_text(row.signed_json)
        said = share.facts(document)
        owner = is_owner(row)
        g.earner_view_possible = True
        if owner:  # the earner's own view says "this is your credential": for their browser alone
            g.private_credential = True
        return render_template(
            "credential.html",
            row=row,
            credential=document,
            report=report,
            urls=svc.urls,
            note=_version_note(row),
            said=said,
            share=share.share_page(row, said, svc.urls),
            standing=published.credential_state(row, svc.clock()),
            replacement=_replacement(session, row),
            owner=owner,
            long_date=share.long_date,
            site_name=share.SITE_NAME,
        )


def _replacement(session: Any, row: m.Credential) -> str | None:
    """The id of the credential that replaced this one, when the viewer may see it."""
    newer = session.scalar(select(m.Credential).where(m.Credential.replaces_id == row.id))
    if newer is None or not profiles.may_see(newer, current_person()):
        return None
    return str(newer.id)


def _version_note(row: m.Credential) -> str | None:
    version = row.version
    if version is None:
        return None
    micro = version.microcredential
    if micro.state == "retired":
        return (
            f"This microcredential has since been retired. This credential was issued for version "
            f"{version.version} and remains valid."
        )
    latest = micro.versions[-1]
    if latest.id != version.id:
        return (
            f"Issued for version {version.version}; the microcredential has been updated since "
            f"(now version {latest.version}). This credential remains valid."
        )
    return None


@bp.get(f"/credentials/{UUID}.json")
def credential_json(credential_id: Any) -> Response:
    """The exact signed credential JSON."""
    with services().db.read() as session:
        row = _credential(session, str(credential_id))
        return json_response(
            row.signed_json, mimetype=credential_mimetype(), cache=CREDENTIAL_JSON, public=True
        )


@bp.get(f"/credentials/{UUID}.<any(png, svg):extension>")
def baked(credential_id: Any, extension: str) -> Response:
    """The badge image with the credential baked in, made on request (BAKE-1..BAKE-8)."""
    with services().db.read() as session:
        row = _credential(session, str(credential_id))
        image = badge_image(session, row, extension)
        data = bakery.bake(image.data, row.signed_json)
    response = image_response(data, image.media_type, IMMUTABLE)
    response.headers["Content-Disposition"] = f'inline; filename="badge-{credential_id}.{extension}"'
    return response


@bp.get(f"/images/<int(max={DB_INT_MAX}):image_id>.<any(png, svg):extension>")
def image(image_id: int, extension: str) -> Response:
    """A catalog image (badge or logo)."""
    with services().db.read() as session:
        row = session.get(m.Image, image_id)
        media = "image/png" if extension == "png" else "image/svg+xml"
        if row is None or row.media_type != media:
            abort(404, description="There is no such image.")
        return image_response(row.data, row.media_type, IMMUTABLE)


def _issuer(session: Any, slug: str) -> m.Issuer:
    issuer = published.issuer_by_slug(session, slug)
    if issuer is None:
        abort(404, description=f"There is no issuer {slug!r}.")
    return issuer


@bp.get("/issuers/<slug:slug>")
def issuer(slug: str) -> Response | str:
    """The issuer's profile: a page, or the OB Profile JSON."""
    svc = services()
    with svc.db.read() as session:
        row = _issuer(session, slug)
        profile = published.profile_json(row, svc.issuing)
        if not wants_html():
            return json_response(
                profile, mimetype="application/ld+json", cache="public, max-age=3600", public=True
            )
        micro = session.scalars(select(m.Microcredential).where(m.Microcredential.issuer_id == row.id)).all()
        return render_template("issuer.html", issuer=row, profile=profile, micro=micro, urls=svc.urls)


@bp.get("/issuers/<slug:slug>/did.json")
def did_document(slug: str) -> Response:
    """The issuer's did:web DID document (DID-2, DID-3)."""
    svc = services()
    with svc.db.read() as session:
        document = published.did_document(_issuer(session, slug), svc.issuing)
    response = json_response(document, mimetype="application/did+json", cache="public, max-age=300")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/status/<slug:slug>/<any(revocation, suspension):purpose>/<int(min=1, max=999999):number>")
def status_list(slug: str, purpose: str, number: int) -> Response:
    """The signed Bitstring Status List credential (STAT-4, STAT-5)."""
    svc = services()
    text = published.status_list_text(svc.db, slug, purpose, number, svc.issuing, svc.clock())
    if text is None:
        abort(404, description="There is no such status list.")
    response = json_response(text, mimetype="application/vc+ld+json", cache=STATUS_CACHE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/achievements/<slug:slug>/v<version>")
def achievement(slug: str, version: str) -> Response | str:
    """One microcredential version: a page, or its Achievement JSON."""
    svc = services()
    with svc.db.read() as session:
        micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == slug))
        row = next((v for v in micro.versions if v.version == version), None) if micro else None
        if micro is None or row is None:
            abort(404, description=f"There is no microcredential {slug!r} version {version!r}.")
        document = {"@context": [VC_V2, OB_V3P0], **achievement_json(issuing.achievement_spec(row, svc.urls))}
        if not wants_html():
            return json_response(
                document, mimetype="application/ld+json", cache="public, max-age=3600", public=True
            )
        return render_template("achievement.html", micro=micro, version=row, document=document, urls=svc.urls)


@bp.get("/<any(stacks, bundles):kind>/<slug:slug>")
def group(kind: str, slug: str) -> str:
    """A stack or bundle page listing its parts."""
    model: Any = m.Stack if kind == "stacks" else m.Bundle
    with services().db.read() as session:
        row = session.scalar(select(model).where(model.slug == slug))
        if row is None:
            abort(404, description=f"There is no {kind[:-1]} {slug!r}.")
        return render_template("group.html", kind=kind[:-1], group=row, urls=services().urls)
