"""The staff part of the JSON API: reviewer payouts and catalog changes (Bearer tokens with staff scopes)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from badgeserver.errors import InputError
from badgeserver.program import accounts, catalog_admin, payouts, revocation
from badgeserver.web.api_v1 import created, json_body
from badgeserver.web.auth import api_auth, csrf_exempt
from badgeserver.web.educator import csv_download
from badgeserver.web.flow_support import actor, parse_period
from badgeserver.web.services import services

bp = Blueprint("api_v1_staff", __name__, url_prefix="/api/v1")


@bp.get("/payouts")
@api_auth("payouts:read")
def payouts_ledger() -> Response:
    """Reviewer payouts from ?start to ?end (YYYY-MM-DD, both included), optionally &reviewer=email."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InputError("The format is json or csv.")
    first, last = parse_period(request.args.get("start"), request.args.get("end"))
    email = (request.args.get("reviewer") or "").strip()[:320]
    with services().db.read() as session:
        reviewer = accounts.find_person(session, email) if email else None
        ledger = payouts.ledger(session, start=first, end=last, reviewer=reviewer)
    if fmt == "csv":
        return csv_download(payouts.ledger_csv(ledger), f"payouts-{first.isoformat()}-{last.isoformat()}.csv")
    return jsonify(
        {
            "start": ledger.start.isoformat(),
            "end": ledger.end.isoformat(),
            "payouts": [
                {
                    "date": line.paid_on.isoformat(),
                    "reviewer_name": line.reviewer_name,
                    "reviewer_email": line.reviewer_email,
                    "submission": line.submission_id,
                    "microcredential": line.microcredential,
                    "decision": line.decision,
                    "amount_cents": line.amount_cents,
                }
                for line in ledger.lines
            ],
            "totals_cents": ledger.totals,
            "total_cents": ledger.total_cents,
        }
    )


@bp.post("/catalog/<slug:slug>/versions")
@csrf_exempt
@api_auth("catalog:write")
def publish_version(slug: str) -> Response:
    """Publish a new version: a JSON object of the fields that change (name, rubric, version, ...)."""
    changes = json_body()
    svc = services()
    with svc.db.transaction() as session:
        version = catalog_admin.publish_version(session, actor(session), slug, changes, now=svc.clock())
        url = svc.urls.achievement(slug, version.version)
        document = {"slug": slug, "version": version.version, "name": version.name, "url": url}
    return created(document, url)


@bp.post("/catalog/<slug:slug>/retire")
@csrf_exempt
@api_auth("catalog:write")
def retire(slug: str) -> Response:
    """Retire a microcredential: no new submissions; issued credentials stay valid."""
    svc = services()
    with svc.db.transaction() as session:
        micro = catalog_admin.retire(session, actor(session), slug, now=svc.clock())
        document = {"slug": micro.slug, "state": micro.state}
    return jsonify(document)


@bp.post("/credentials/<any(revoke, suspend, reinstate):action>")
@csrf_exempt
@api_auth("credentials:revoke")
def change_status(action: str) -> Response:
    """Revoke, suspend or reinstate credentials named by ids, earner and/or microcredential (staff)."""
    body = json_body()
    ids = body.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(value, str) for value in ids):
        raise InputError("ids must be a list of credential ids.")
    texts = {key: body.get(key) for key in ("earner", "microcredential", "reason")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise InputError(f"{key} must be text.")
    selection = revocation.Selection(
        ids=tuple(ids), earner_email=texts["earner"], microcredential=texts["microcredential"]
    )
    svc = services()
    with svc.db.transaction() as session:
        result = revocation.change_status(
            session,
            svc.issuing,
            svc.clock(),
            action=action,
            selection=selection,
            actor=actor(session),
            reason=texts["reason"],
        )
    return jsonify(
        {
            "action": result.action,
            "changed": result.changed,
            "unchanged": [{"id": value, "why": why} for value, why in result.unchanged],
            "lists_signed": result.lists_signed,
        }
    )
