"""Staff page for issued credentials: find them, then revoke, suspend or reinstate them together."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from badgeserver.errors import BadgeServerError
from badgeserver.program import public, revocation
from badgeserver.store import models as m
from badgeserver.web.auth import login_required
from badgeserver.web.flow_support import Errors, actor, errors_of, html, iso
from badgeserver.web.problems import status_for
from badgeserver.web.services import services

bp = Blueprint("staff_credentials", __name__)

MAX_SHOWN = 500


def _selection(source: Any) -> revocation.Selection:
    ids = tuple(value for value in (source.get("ids") or "").replace(",", " ").split() if value)
    return revocation.Selection(
        ids=ids,
        earner_email=(source.get("earner") or "").strip()[:320] or None,
        microcredential=(source.get("microcredential") or "").strip()[:100] or None,
    )


def _row(row: m.Credential, now: Any) -> dict[str, Any]:
    document = json.loads(row.signed_json)
    return {
        "id": row.id,
        "kind": row.kind,
        "name": document.get("name") or row.kind,
        "earner": row.earner.email,
        "issued_at": iso(row.issued_at),
        "state": public.credential_state(row, now).code,
        "suspendable": row.suspension_list_id is not None,
        "reason": row.revocation_reason,
    }


def _page(status: int = 200, errors: Errors | None = None) -> Response:
    svc = services()
    source = request.form if request.method == "POST" else request.args
    selection = _selection(source)
    rows: list[dict[str, Any]] = []
    more = False
    errors = list(errors or [])
    if not selection.empty():
        try:
            with svc.db.read() as session:
                found = revocation.select_credentials(session, selection, svc.urls)
                rows = [_row(row, svc.clock()) for row in found[:MAX_SHOWN]]
                more = len(found) > MAX_SHOWN
        except BadgeServerError as exc:
            errors.append(("earner", exc.message))
            status = max(status, status_for(exc))
    return html(
        "flow_staff_credentials.html",
        status,
        rows=rows,
        more=more,
        ids=source.get("ids") or "",
        earner=source.get("earner") or "",
        microcredential=source.get("microcredential") or "",
        errors=errors,
        actions=revocation.ACTIONS,
    )


@bp.get("/staff/credentials")
@login_required("staff")
def credentials() -> Response:
    """Find issued credentials by ids, earner and/or microcredential, and show their state."""
    return _page()


@bp.post("/staff/credentials")
@login_required("staff")
def change() -> Response:
    """Revoke, suspend or reinstate the ticked credentials; a revocation needs a private reason."""
    action = request.form.get("action") or ""
    chosen = tuple(request.form.getlist("credential"))
    if not chosen:
        return _page(400, [("action", "Tick at least one credential.")])
    svc = services()
    try:
        with svc.db.transaction() as session:
            result = revocation.change_status(
                session,
                svc.issuing,
                svc.clock(),
                action=action,
                selection=revocation.Selection(ids=chosen),
                actor=actor(session),
                reason=request.form.get("reason"),
            )
    except BadgeServerError as exc:
        return _page(status_for(exc), errors_of(exc, "action"))
    past = {"revoke": "Revoked", "suspend": "Suspended", "reinstate": "Reinstated"}[result.action]
    message = f"{past} {len(result.changed)} credential{'' if len(result.changed) == 1 else 's'}."
    if result.cascaded:
        message += f" With them {len(result.cascaded)} stack or bundle credential(s) built on them."
    if result.unchanged:  # a few named, the rest counted: the message travels in the session cookie
        named = "; ".join(f"{cid} {why}" for cid, why in result.unchanged[:3])
        rest = len(result.unchanged) - 3
        message += f" Unchanged: {named}" + (f"; and {rest} more" if rest > 0 else "") + "."
    flash(message)
    query: dict[str, Any] = {
        key: request.form[key] for key in ("ids", "earner", "microcredential") if request.form.get(key)
    }
    return redirect(url_for("staff_credentials.credentials", **query), 303)
