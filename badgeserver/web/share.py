"""Sharing: the social card and QR codes of a credential, oEmbed, the earner's public profile, and what
the credential page needs to share it (LinkedIn, other networks, the embed snippet, Open Graph tags)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from badgeserver.program import profiles
from badgeserver.program import public as published
from badgeserver.program.transcripts import credit_text
from badgeserver.program.urls import Urls
from badgeserver.sharing import images, links
from badgeserver.store import models as m
from badgeserver.web.auth import current_person
from badgeserver.web.credential_access import PRIVATE_CACHE, badge_image, keep_private, visible_credential
from badgeserver.web.negotiate import IMMUTABLE, image_response
from badgeserver.web.services import services

bp = Blueprint("share", __name__)
bp.after_request(keep_private)

SITE_NAME = "Educator Microcredentials"
UUID = "<uuid:credential_id>"
CARD_CACHE = "public, max-age=86400"
OEMBED_CACHE = "public, max-age=3600"  # a revocation reaches embedding sites within the hour
_CREDENTIAL_PATH = re.compile(
    r"^/credentials/(?P<id>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})/?$"
)
_DIMENSION = re.compile(r"^[0-9]{1,5}$")
MAX_OEMBED_URL = 2000


# --- what a credential says, for people -----------------------------------------------------------


def published_name(document: dict[str, Any]) -> str | None:
    """The name the earner chose to publish (an unhashed `name` identifier), or None."""
    subject = document.get("credentialSubject")
    identifiers = subject.get("identifier", []) if isinstance(subject, dict) else []
    for item in identifiers if isinstance(identifiers, list) else []:
        if (
            isinstance(item, dict)
            and item.get("identityType") == "name"
            and item.get("hashed") is False
            and isinstance(item.get("identityHash"), str)
            and item["identityHash"].strip()
        ):
            return str(item["identityHash"]).strip()
    return None


def parse_day(value: Any) -> date | None:
    """The date of an ISO 8601 date-time (validFrom, validUntil), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def long_date(day: date) -> str:
    """A date for people: 5 January 2026."""
    return f"{day.day} {day.strftime('%B %Y')}"


@dataclass(frozen=True)
class Facts:
    """What a credential says, read once from its signed JSON."""

    achievement: str
    description: str
    issuer: str
    earner: str | None
    issued: date | None
    expires: date | None


def facts(document: dict[str, Any]) -> Facts:
    """The credential's achievement, issuer, published earner name and dates."""
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    issuer = document.get("issuer") or {}
    return Facts(
        achievement=str(achievement.get("name") or "Credential"),
        description=str(achievement.get("description") or ""),
        issuer=str(issuer.get("name") or issuer.get("id") or "the issuer"),
        earner=published_name(document),
        issued=parse_day(document.get("validFrom")),
        expires=parse_day(document.get("validUntil")),
    )


# --- what the credential page shows to share it ----------------------------------------------------


@dataclass(frozen=True)
class SharePage:
    """Everything the credential page needs to be shared, embedded, printed and previewed."""

    page_url: str
    title: str
    description: str
    card_url: str
    card_alt: str
    linkedin_url: str
    linkedin_fields: list[tuple[str, str, str]]
    links: list[links.ShareLink]
    embed_html: str
    oembed_url: str
    qr_png_url: str
    qr_svg_url: str


def card_url(urls: Urls, credential_id: str) -> str:
    """The stable URL of the credential's social card."""
    return f"{urls.credential(credential_id)}/card.png"


def embed_of(page: str, said: Facts) -> links.Embed:
    """What an embed shows: the stable badge image linking to the credential page."""
    return links.Embed(
        page_url=page,
        image_url=f"{page}.png",
        achievement=said.achievement,
        issuer=said.issuer,
        earner=said.earner,
    )


def share_page(row: m.Credential, said: Facts, urls: Urls) -> SharePage:
    """The share links, LinkedIn fields, embed snippet, card and QR URLs of one credential."""
    page = urls.credential(row.id)
    issued = said.issued or row.issued_at.date()
    cert = links.Certification(
        name=said.achievement,
        organization_name=said.issuer,
        organization_id=row.issuer.linkedin_organization_id,
        issued=issued,
        expires=said.expires,
        cert_id=row.id,
        cert_url=page,
    )
    earned = f"Earned by {said.earner}. " if said.earner else ""
    description = (
        f"{earned}Issued by {said.issuer} on {long_date(issued)}. "
        "An Open Badges credential anyone can verify."
    )
    embed = embed_of(page, said)
    return SharePage(
        page_url=page,
        title=said.achievement,
        description=description,
        card_url=card_url(urls, row.id),
        card_alt=f"{said.achievement} badge. {earned}Issued by {said.issuer}.",
        linkedin_url=links.linkedin_add_url(cert),
        linkedin_fields=links.linkedin_fields(cert),
        links=links.share_links(page, said.achievement, said.issuer),
        embed_html=links.embed_html(embed),
        oembed_url=f"{urls.base}/oembed?url={quote(page, safe='')}&format=json",
        qr_png_url=f"{page}/qr.png",
        qr_svg_url=f"{page}/qr.svg",
    )


# --- the social card and QR codes ------------------------------------------------------------------


@bp.get(f"/credentials/{UUID}/card.png")
def card(credential_id: Any) -> Response:
    """The credential's social card: a 1200x630 PNG for Open Graph and Twitter cards."""
    svc = services()
    with svc.db.read() as session:
        row = visible_credential(session, str(credential_id))
        standing = published.credential_state(row, svc.clock())
        if standing.code in ("revoked", "suspended", "unverifiable"):
            abort(404, description=f"This credential is {standing.code}; it has no social card.")
        image = badge_image(session, row, "png")
        document = json.loads(row.signed_json)
        site = urlsplit(svc.urls.base).netloc
        # The card follows from the signed JSON, the badge and the site: its ETag is known before drawing.
        seed = "\n".join((images.CARD_VERSION, site, image.sha256, row.signed_json))
        etag = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]
        # A day, not a year: a revocation must reach the sites that show the card.
        cache = PRIVATE_CACHE if not row.public else CARD_CACHE
        if request.if_none_match.contains(etag):
            response = Response(status=304)
        else:
            said = facts(document)
            card_data = images.Card(
                achievement=said.achievement, issuer=said.issuer, earner=said.earner, site=site
            )
            response = Response(images.render_card(card_data, image.data), mimetype="image/png")
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Content-Disposition"] = f'inline; filename="card-{credential_id}.png"'
    return response


@bp.get(f"/credentials/{UUID}/qr.<any(png, svg):extension>")
def qr(credential_id: Any, extension: str) -> Response:
    """A QR code of the credential page's URL, as PNG or SVG."""
    svc = services()
    with svc.db.read() as session:
        row = visible_credential(session, str(credential_id))
        page = svc.urls.credential(row.id)
    if extension == "png":
        response = image_response(images.qr_png(page), "image/png", IMMUTABLE)
    else:
        response = image_response(images.qr_svg(page), "image/svg+xml", IMMUTABLE)
    response.headers["Content-Disposition"] = f'inline; filename="qr-{credential_id}.{extension}"'
    return response


# --- oEmbed ----------------------------------------------------------------------------------------


def _problem(status: int, title: str, detail: str) -> Response:
    """Problem JSON whatever the caller accepts: oEmbed consumers are programs."""
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _dimension(name: str) -> int | None | Response:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not _DIMENSION.match(raw) or int(raw) < 1:
        return _problem(400, "Bad Request", f"{name} must be a whole number of pixels from 1 to 99999.")
    return int(raw)


@bp.get("/oembed")
def oembed() -> Response:
    """oEmbed 1.0 for a credential page: ?url=<page>&format=json, with optional maxwidth and maxheight."""
    fmt = request.args.get("format", "json")
    if fmt == "xml":
        return _problem(501, "Not Implemented", "This server answers oEmbed in JSON only: use format=json.")
    if fmt != "json":
        return _problem(400, "Bad Request", "format must be json.")
    url = request.args.get("url", "").strip()
    if not url:
        return _problem(400, "Bad Request", "Give the credential page's address as url.")
    try:
        parts = urlsplit(url) if len(url) <= MAX_OEMBED_URL else None
        host = parts.hostname if parts is not None else None  # parses the host: "[::1" raises here
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        return _problem(400, "Bad Request", "url must be the http or https address of a credential page.")
    sizes = [_dimension("maxwidth"), _dimension("maxheight")]
    for size in sizes:
        if isinstance(size, Response):
            return size
    maxwidth, maxheight = (s if isinstance(s, int) else None for s in sizes)
    svc = services()
    found = _CREDENTIAL_PATH.match(parts.path)
    if parts.netloc.lower() != urlsplit(svc.urls.base).netloc.lower() or found is None:
        return _problem(404, "Not Found", "There is no public credential at this address on this server.")
    with svc.db.read() as session:
        row = session.get(m.Credential, found["id"].lower())
        if row is None or not row.public:
            return _problem(404, "Not Found", "There is no public credential at this address on this server.")
        standing = published.credential_state(row, svc.clock())
        if standing.code in ("revoked", "suspended", "unverifiable"):
            # Not offered for new embeds; the page itself says what happened.
            return _problem(
                404, "Not Found", f"This credential is {standing.code}; it is not offered for embedding."
            )
        said = facts(json.loads(row.signed_json))
        page = svc.urls.credential(row.id)
    embed = embed_of(page, said)
    try:
        document = links.oembed_document(
            embed,
            provider_name=SITE_NAME,
            provider_url=svc.urls.base,
            maxwidth=maxwidth,
            maxheight=maxheight,
            thumbnail=(card_url(svc.urls, row.id), *images.CARD_SIZE),
        )
    except links.OEmbedSizeError as exc:
        return _problem(400, "Bad Request", str(exc))
    response = jsonify(document)
    response.headers["Cache-Control"] = OEMBED_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- the earner's public profile -------------------------------------------------------------------


@bp.get("/earners/<slug:handle>")
def earner(handle: str) -> Response | WerkzeugResponse:
    """An earner's public profile: the credentials they made public, by bundle and stack, and the credit."""
    svc = services()
    with svc.db.read() as session:
        person = profiles.earner_by_handle(session, handle)
        moved = None if person is not None else profiles.earner_by_retired_handle(session, handle)
        if moved is not None and moved.profile_public and moved.profile_handle:
            return redirect(f"/earners/{moved.profile_handle}", 301)  # an old address, kept working
        viewer = current_person()
        owner = person is not None and viewer is not None and viewer.id == person.id
        if person is None or not (person.profile_public or owner):
            abort(404, description="There is no public profile at this address.")
        record = profiles.profile(session, person, svc.urls, svc.clock())
        count = session.scalar(
            select(m.Credential.id).where(m.Credential.earner_id == person.id, m.Credential.public.is_(False))
        )
    page = render_template(
        "earner.html",
        profile=record,
        owner=owner,
        has_private=count is not None,
        page_url=f"{svc.urls.base}/earners/{record.handle}",
        credit_text=credit_text,
        long_date=long_date,
        site_name=SITE_NAME,
    )
    response = Response(page, mimetype="text/html")
    if owner:
        response.headers["Cache-Control"] = PRIVATE_CACHE
    return response
