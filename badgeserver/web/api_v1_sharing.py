"""The sharing settings in the JSON API: the public profile and each credential's visibility (Bearer tokens).

The same rules as the sharing settings page (sharing_settings.py); unsafe endpoints are `csrf_exempt`
because they accept Bearer tokens only (see api_v1.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from badgeserver.errors import InputError
from badgeserver.program import profiles
from badgeserver.web.api_v1 import json_body
from badgeserver.web.auth import api_auth, csrf_exempt
from badgeserver.web.flow_support import actor
from badgeserver.web.services import services
from badgeserver.web.sharing_settings import sharing_view

bp = Blueprint("api_v1_sharing", __name__, url_prefix="/api/v1")


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise InputError(f"Give {key!r} as true or false.")
    return value


@bp.get("/sharing")
@api_auth("submissions:read")
def sharing() -> Response:
    """My profile settings and every credential's visibility."""
    svc = services()
    with svc.db.read() as session:
        return jsonify(sharing_view(session, actor(session), svc.urls, svc.clock()))


@bp.put("/sharing/profile")
@csrf_exempt
@api_auth("submissions:write")
def profile() -> Response:
    """Turn the public profile on or off: {"public": true, "handle": "maya-torres"} (handle optional)."""
    body = json_body()
    public = _flag(body, "public")
    handle = body.get("handle")
    if handle is not None and not isinstance(handle, str):
        raise InputError("Give 'handle' as a string, or leave it out to keep (or get) a random one.")
    svc = services()
    with svc.db.transaction() as session:
        person = profiles.set_profile(
            session, actor(session), public=public, handle=handle or None, now=svc.clock()
        )
        return jsonify(sharing_view(session, person, svc.urls, svc.clock()))


@bp.put("/sharing/name")
@csrf_exempt
@api_auth("submissions:write")
def public_name() -> Response:
    """Set the name my new credentials carry: {"name": "Maya Torres"}; null or "" keeps it private."""
    body = json_body()
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError("Give 'name' as a string, or null to keep your name private.")
    svc = services()
    with svc.db.transaction() as session:
        person = profiles.set_public_name(session, actor(session), name, now=svc.clock())
        return jsonify(sharing_view(session, person, svc.urls, svc.clock()))


@bp.put("/credentials/<uuid:credential_id>/visibility")
@csrf_exempt
@api_auth("submissions:write")
def visibility(credential_id: Any) -> Response:
    """Make one of my credentials public or private: {"public": false}."""
    public = _flag(json_body(), "public")
    svc = services()
    with svc.db.transaction() as session:
        row = profiles.set_credential_public(
            session, actor(session), str(credential_id), public, now=svc.clock()
        )
        return jsonify({"id": row.id, "public": row.public, "url": svc.urls.credential(row.id)})
