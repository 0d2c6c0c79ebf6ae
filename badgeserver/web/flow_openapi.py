"""The OpenAPI description of the program's pages (browser forms) and of the JSON API under /api/v1."""

from __future__ import annotations

from typing import Any

HTML = {"text/html": {"schema": {"type": "string"}}}
OBJECT = {"application/json": {"schema": {"type": "object"}}}
CSV = {"text/csv": {"schema": {"type": "string"}}}
FILE = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
TEXT, NUMBER, FLAG = {"type": "string"}, {"type": "integer"}, {"type": "string", "enum": ["1"]}
SECURITY: list[dict[str, list[str]]] = [{"apiToken": []}]


def _answer(description: str, media: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if media:
        answer["content"] = media
    return answer


def _problem(description: str) -> dict[str, Any]:
    return _answer(
        description, {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    )


def _int(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _slug() -> dict[str, Any]:
    return {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    }


def _query(name: str, description: str, *, required: bool = False, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"} | ({"format": fmt} if fmt else {})
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


PERIOD = [
    _query("start", "First day (YYYY-MM-DD)", fmt="date"),
    _query("end", "Last day (YYYY-MM-DD), included", fmt="date"),
    _query("reviewer", "One reviewer's email", fmt="email"),
]
SIGNED_IN = {
    "302": _answer("Not signed in: to the sign-in page"),
    "403": _answer("Signed in without the role this page needs", HTML),
}


def _page(
    summary: str, params: list[dict[str, Any]] | None = None, media: dict[str, Any] = HTML
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": _answer("The page", media), **SIGNED_IN},
    }
    if params:
        operation["parameters"] = params
    if params and any(p["in"] == "path" for p in params):
        operation["responses"]["404"] = _answer("Nothing there that you may see", HTML)
    return operation


def _form(
    summary: str, fields: dict[str, Any], params: list[dict[str, Any]] | None = None, multipart: bool = False
) -> dict[str, Any]:
    media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
    operation: dict[str, Any] = {
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "object", "properties": {"csrf_token": TEXT} | fields}}},
        },
        "responses": {
            "303": _answer("Done: to the page that shows the change"),
            "400": _answer("The form has errors (shown on the page) or expired; nothing changed", HTML),
            "403": _answer("Not allowed for you (the page says why); nothing changed", HTML),
            "409": _answer("Not possible in the record's state; nothing changed", HTML),
            "302": _answer("Not signed in: to the sign-in page"),
        },
    }
    if params:
        operation["parameters"] = params
    return operation


def page_paths() -> dict[str, Any]:
    """The educator, reviewer and staff pages and their forms."""
    submission = [_int("submission_id")]
    slug = [_slug()]
    return {
        "/dashboard": {"get": _page("My submissions with their state, my credentials, and my credit total")},
        "/submissions/new": {
            "post": _form("Start a submission (also ?microcredential=slug)", {"microcredential": TEXT})
        },
        "/submissions/{submission_id}": {
            "get": _page(
                "A submission: evidence, fee, reflections, status, every attempt's review", submission
            )
        },
        "/submissions/{submission_id}/evidence/file": {
            "post": _form(
                "Upload an evidence file",
                {"file": {"type": "string", "format": "binary"}, "title": TEXT, "description": TEXT},
                submission,
                multipart=True,
            )
        },
        "/submissions/{submission_id}/evidence/link": {
            "post": _form(
                "Add an evidence link", {"url": TEXT, "title": TEXT, "description": TEXT}, submission
            )
        },
        "/submissions/{submission_id}/evidence/remove": {
            "post": _form("Remove a pending evidence item", {"item_id": NUMBER}, submission)
        },
        "/submissions/{submission_id}/publish-evidence": {
            "post": _form(
                "Publish the evidence with the credential, or not", {"publish_evidence": FLAG}, submission
            )
        },
        "/submissions/{submission_id}/fee": {"post": _form("Record the review fee as paid", {}, submission)},
        "/submissions/{submission_id}/submit": {
            "post": _form("Submit: one answer per reflection prompt", {"reflection-0": TEXT}, submission)
        },
        "/evidence/{item_id}": {
            "get": _page(
                "An evidence file (owner, staff, eligible reviewer), as an attachment",
                [_int("item_id")],
                FILE,
            )
        },
        "/transcript": {"get": _page("My transcript")},
        "/transcript.json": {"get": _page("My transcript as JSON", media=OBJECT)},
        "/transcript.csv": {"get": _page("My transcript as CSV", media=CSV)},
        "/review": {"get": _page("The review queue (reviewers)")},
        "/review/payouts": {"get": _page("My payouts for a period (reviewers)", PERIOD[:2])},
        "/review/{submission_id}": {
            "get": _page("Score a submission against its rubric (eligible reviewers)", submission),
            "post": _form(
                "Record the review; the program decides earned or returned",
                {"score-{criterion}": TEXT, "feedback-{criterion}": TEXT},
                submission,
            ),
        },
        "/staff/catalog": {
            "get": _page("Microcredentials with state and versions; founding reviewers (staff)")
        },
        "/staff/catalog/{slug}": {
            "get": _page("A microcredential's versions and the new-version form (staff)", slug)
        },
        "/staff/catalog/{slug}/versions": {
            "post": _form(
                "Publish a new version (staff)",
                {
                    "version": TEXT,
                    "name": TEXT,
                    "description": TEXT,
                    "criteria": TEXT,
                    "reflection_prompts": TEXT,
                    "rubric": TEXT,
                },
                slug,
            )
        },
        "/staff/catalog/{slug}/retire": {
            "get": _page("Confirm retiring a microcredential (staff)", slug),
            "post": _form("Retire a microcredential (staff)", {"confirm": FLAG}, slug),
        },
        "/staff/stacks/{slug}/reviewers": {
            "post": _form("Assign a founding reviewer to a stack (staff)", {"email": TEXT}, slug)
        },
        "/staff/stacks/{slug}/reviewers/remove": {
            "post": _form("Remove a founding reviewer from a stack (staff)", {"person_id": NUMBER}, slug)
        },
        "/staff/credentials": {
            "get": _page(
                "Find issued credentials and their state (staff)",
                [_query("earner", "Earner's email"), _query("microcredential", "Slug"), _query("ids", "Ids")],
            ),
            "post": _form(
                "Revoke, suspend or reinstate the ticked credentials (staff)",
                {"credential": TEXT, "action": TEXT, "reason": TEXT},
            ),
        },
        "/staff/payouts": {"get": _page("Reviewer payouts for a period, with totals (staff)", PERIOD)},
        "/staff/payouts.csv": {"get": _page("Reviewer payouts for a period as CSV (staff)", PERIOD, CSV)},
        "/staff/submissions": {
            "get": _page(
                "Every submission with its state (staff)",
                [_query("state", "Only this state"), _query("page", "Page number")],
            )
        },
    }


def _api(
    summary: str,
    *,
    ok: str = "200",
    media: dict[str, Any] = OBJECT,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[str, ...] = ("400", "403", "404", "409"),
) -> dict[str, Any]:
    reasons = {
        "400": "The body or query is wrong (the detail says how); nothing changed",
        "403": "The token lacks the scope, or the person may not do this",
        "404": "No such record that the token's person may see",
        "409": "Not possible in the record's state",
        "413": "The file is larger than allowed",
    }
    operation: dict[str, Any] = {
        "summary": summary,
        "security": SECURITY,
        "responses": {
            ok: _answer("Done" if ok != "204" else "Removed", None if ok == "204" else media),
            "401": _problem("No token, or an unknown or revoked one"),
            **{code: _problem(reasons[code]) for code in errors},
        },
    }
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _json(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:  # OpenAPI 3.0: a `required` list is never empty
        schema["required"] = required
    return {"application/json": {"schema": schema}}


def api_paths() -> dict[str, Any]:
    """The JSON API under /api/v1."""
    sid = [_int("submission_id")]
    strings = {"type": "object", "additionalProperties": {"type": "string"}}
    catalog = _api("The catalog: active microcredentials, stacks and bundles (no token needed)", errors=())
    catalog.pop("security")
    catalog["responses"].pop("401")
    return {
        "/api/v1/catalog": {"get": catalog},
        "/api/v1/submissions": {
            "get": _api("My submissions (submissions:read)", errors=("403",)),
            "post": _api(
                "Start a submission (submissions:write)",
                ok="201",
                body=_json({"microcredential": TEXT}, ["microcredential"]),
            ),
        },
        "/api/v1/submissions/{submission_id}": {
            "get": _api("One submission (submissions:read)", params=sid, errors=("403", "404"))
        },
        "/api/v1/submissions/{submission_id}/evidence": {
            "post": _api(
                "Add evidence: a multipart file, or a JSON link (submissions:write)",
                ok="201",
                params=sid,
                body={
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "title": TEXT,
                                "description": TEXT,
                            },
                            "required": ["file"],
                        }
                    },
                    **_json({"url": TEXT, "title": TEXT, "description": TEXT}, ["url", "title"]),
                },
                errors=("400", "403", "404", "409", "413"),
            )
        },
        "/api/v1/submissions/{submission_id}/evidence/{item_id}": {
            "delete": _api(
                "Remove a pending evidence item (submissions:write)", ok="204", params=[*sid, _int("item_id")]
            )
        },
        "/api/v1/submissions/{submission_id}/fee": {
            "post": _api(
                "Record the review fee as paid; answers the receipt (submissions:write)", ok="201", params=sid
            )
        },
        "/api/v1/submissions/{submission_id}/publish-evidence": {
            "put": _api(
                "Publish the evidence with the credential, or not (submissions:write)",
                params=sid,
                body=_json({"publish": {"type": "boolean"}}, ["publish"]),
            )
        },
        "/api/v1/submissions/{submission_id}/submit": {
            "post": _api(
                "Submit for review with one answer per reflection prompt (submissions:write)",
                params=sid,
                body=_json({"reflections": {"type": "array", "items": TEXT}}, ["reflections"]),
            )
        },
        "/api/v1/submissions/{submission_id}/review": {
            "post": _api(
                "Score the latest attempt; the decision and any credentials issued (reviews:write)",
                params=sid,
                body=_json({"scores": strings, "feedback": strings}, ["scores"]),
            )
        },
        "/api/v1/review-queue": {
            "get": _api("Submissions waiting for my review (reviews:write)", errors=("403",))
        },
        "/api/v1/transcript": {
            "get": _api(
                "My transcript (submissions:read); ?format=csv for CSV",
                media={**OBJECT, **CSV},
                params=[_query("format", "json (default) or csv")],
                errors=("400", "403"),
            )
        },
        "/api/v1/evidence/{item_id}": {
            "get": _api(
                "An evidence file (owner, staff, eligible reviewer) (submissions:read)",
                media=FILE,
                params=[_int("item_id")],
                errors=("403", "404"),
            )
        },
        "/api/v1/payouts": {
            "get": _api(
                "Reviewer payouts for a period (payouts:read, staff); ?format=csv for CSV",
                media={**OBJECT, **CSV},
                params=[*PERIOD, _query("format", "json (default) or csv")],
                errors=("400", "403", "404"),
            )
        },
        "/api/v1/catalog/{slug}/versions": {
            "post": _api(
                "Publish a new version with the fields that change (catalog:write, staff)",
                ok="201",
                params=[_slug()],
                body=_json(
                    {"version": TEXT, "name": TEXT, "rubric": {"type": "array", "items": {"type": "object"}}},
                    [],
                ),
            )
        },
        "/api/v1/credentials/{action}": {
            "post": _api(
                "Revoke, suspend or reinstate credentials (credentials:revoke, staff); action is "
                "revoke, suspend or reinstate; name them by ids, earner email and/or microcredential slug; "
                "a revocation needs a reason, kept privately",
                params=[
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["revoke", "suspend", "reinstate"]},
                    }
                ],
                body=_json(
                    {
                        "ids": {"type": "array", "items": TEXT},
                        "earner": TEXT,
                        "microcredential": TEXT,
                        "reason": TEXT,
                    },
                    [],
                ),
            )
        },
        "/api/v1/catalog/{slug}/retire": {
            "post": _api("Retire a microcredential (catalog:write, staff)", params=[_slug()])
        },
    }
