"""The earner's sharing settings: the public profile (on or off, its handle) and each credential public or
private. Browser forms with CSRF; the same controls are in the JSON API (api_v1_sharing.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError
from badgeserver.program import profiles
from badgeserver.program.public import credential_state
from badgeserver.program.transcripts import credit_text
from badgeserver.program.urls import Urls
from badgeserver.store import models as m
from badgeserver.web.auth import login_required
from badgeserver.web.flow_support import Errors, actor, errors_of, html
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("sharing_settings", __name__)


def profile_url(urls: Urls, handle: str | None) -> str | None:
    """The public address of a profile handle."""
    return f"{urls.base}/earners/{handle}" if handle else None


def my_credentials(session: Session, person: m.Person, urls: Urls, now: Any) -> list[dict[str, Any]]:
    """The person's credentials (all of them, public or not) with what the settings show of each."""
    rows = session.scalars(
        select(m.Credential)
        .where(m.Credential.earner_id == person.id)
        .order_by(m.Credential.issued_at, m.Credential.id)
    ).all()
    stacks = {s.id: s.name for s in session.scalars(select(m.Stack))}
    bundles = {b.id: b.name for b in session.scalars(select(m.Bundle))}
    result = []
    for row in rows:
        if row.version is not None:
            name = row.version.name
        elif row.stack_id is not None:
            name = stacks.get(row.stack_id, "Stack")
        else:
            name = bundles.get(row.bundle_id or 0, "Bundle")
        result.append(
            {
                "id": row.id,
                "name": name,
                "kind": row.kind,
                "public": row.public,
                "state": credential_state(row, now).code,
                "credit": credit_text(row.credit),
                "url": urls.credential(row.id),
            }
        )
    return result


def sharing_view(session: Session, person: m.Person, urls: Urls, now: Any) -> dict[str, Any]:
    """The profile settings and every credential's visibility, as the page and the API show them."""
    return {
        "profile": {
            "public": person.profile_public,
            "handle": person.profile_handle,
            "url": profile_url(urls, person.profile_handle),
            "name": person.public_name,
        },
        "credentials": my_credentials(session, person, urls, now),
    }


def _page(status: int = 200, errors: Errors | None = None, values: dict[str, Any] | None = None) -> Response:
    svc = services()
    with svc.db.read() as session:
        view = sharing_view(session, actor(session), svc.urls, svc.clock())
    return html("sharing_settings.html", status, view=view, errors=errors or [], values=values or {})


@bp.get("/sharing")
@login_required("educator")
def settings() -> Response:
    """Sharing settings: the public profile and its handle; each credential public or private."""
    return _page()


@bp.post("/sharing/profile")
@login_required("educator")
def profile() -> Response:
    """Turn the public profile on or off; optionally choose its handle (else a random one is kept)."""
    public = request.form.get("profile_public") == "1"
    handle = (request.form.get("handle") or "").strip()
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = profiles.set_profile(
                session, actor(session), public=public, handle=handle or None, now=svc.clock()
            )
            url = profile_url(svc.urls, person.profile_handle)
    except BadgeServerError as exc:
        return _page(status_for(exc), errors_of(exc, "handle"), {"handle": handle, "profile_public": public})
    flash(f"Your profile is public at {url}." if public else "Your profile is private: only you can see it.")
    return redirect(url_for("sharing_settings.settings"), 303)


@bp.post("/sharing/name")
@login_required("educator")
def public_name() -> Response:
    """Set the name your new credentials carry (empty: keep your name private)."""
    text = request.form.get("public_name") or ""
    svc = services()
    try:
        with svc.db.transaction() as session:
            person = profiles.set_public_name(session, actor(session), text, now=svc.clock())
            name = person.public_name
    except BadgeServerError as exc:
        return _page(status_for(exc), errors_of(exc, "public_name"), {"public_name": text})
    flash(
        f"Credentials you earn from now on name you as {name}."
        if name
        else "Credentials you earn from now on keep your name private."
    )
    return redirect(url_for("sharing_settings.settings"), 303)


@bp.post("/sharing/credentials/<uuid:credential_id>")
@login_required("educator")
def credential(credential_id: Any) -> Response:
    """Make one of your credentials public or private (public=1 or public=0)."""
    choice = request.form.get("public")
    if choice not in ("0", "1"):
        return _page(400, [(None, "Choose whether the credential is public (1) or private (0).")])
    svc = services()
    with svc.db.transaction() as session:
        row = profiles.set_credential_public(
            session, actor(session), str(credential_id), choice == "1", now=svc.clock()
        )
        name = row.version.name if row.version is not None else f"Your {row.kind} credential"
    flash(f"{name} is now public." if choice == "1" else f"{name} is now private: only you can see its page.")
    return redirect(url_for("sharing_settings.settings"), 303)
