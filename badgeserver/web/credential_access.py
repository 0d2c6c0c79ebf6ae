"""Who may fetch a credential's page, JSON and images: anyone while it is public, only its earner
(signed in) while it is private. What the earner fetches of a private credential is never cached."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g

from badgeserver.program import profiles
from badgeserver.store import models as m
from badgeserver.web.auth import current_person

PRIVATE_CACHE = "private, no-store"
NOT_FOUND = "There is no public credential with this id."


def visible_credential(session: Any, credential_id: str) -> m.Credential:
    """The credential if the caller may see it; 404 (the same as for no credential at all) otherwise."""
    row = session.get(m.Credential, credential_id)
    if row is None:
        abort(404, description=NOT_FOUND)
    if row.public:
        return row
    if not profiles.may_see(row, current_person()):
        abort(404, description=NOT_FOUND)
    g.private_credential = True
    return row


def is_owner(row: m.Credential) -> bool:
    """True when the signed-in person earned this credential."""
    person = current_person()
    return person is not None and person.id == row.earner_id


def keep_private(response: Response) -> Response:
    """After a private credential was shown to its earner: no shared cache, no other site, may keep it."""
    if g.get("private_credential"):
        response.headers["Cache-Control"] = PRIVATE_CACHE
        response.headers.pop("Access-Control-Allow-Origin", None)
        response.vary.add("Cookie")
    return response


def badge_image(session: Any, row: m.Credential, extension: str) -> m.Image:
    """The catalog image a credential is baked into: its microcredential version's, stack's or bundle's."""
    owner: Any = row.version
    if owner is None and row.stack_id is not None:
        owner = session.get(m.Stack, row.stack_id)
    if owner is None and row.bundle_id is not None:
        owner = session.get(m.Bundle, row.bundle_id)
    image_id = owner.image_png_id if extension == "png" else owner.image_svg_id
    image: m.Image = session.get(m.Image, image_id)
    return image
