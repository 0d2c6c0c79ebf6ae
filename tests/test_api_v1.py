"""The program's JSON API with Bearer tokens: the main flow, a stack, staff changes, validation, OpenAPI."""

from __future__ import annotations

import io
import re

import pytest

from badgeserver.store import models as m
from badgeserver.web.services import services
from tests.support.flow_people import Clock, Pdf, add_people, count, make_app, token_for

pytestmark = pytest.mark.store

CC = "crosscutting-concepts"
TABLES = (
    m.Submission,
    m.EvidenceItem,
    m.Payment,
    m.Attempt,
    m.Review,
    m.MicrocredentialVersion,
    m.AuditEntry,
)


@pytest.fixture()
def database_url(tmp_path, database_factory):
    """SQLite is enough for the API."""
    yield from database_factory("sqlite", tmp_path, required=False)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def app(tmp_path, database_url, clock):
    application = make_app(tmp_path, database_url, clock)
    try:
        yield application
    finally:
        services(application).db.dispose()


class Api:
    """A client that sends one person's Bearer token and JSON."""

    def __init__(self, app, role: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token_for(app, role)}", "Accept": "application/json"}

    def call(self, method: str, path: str, status: int, **kwargs):
        answer = self.client.open(path, method=method, headers=self.headers, **kwargs)
        assert answer.status_code == status, (
            method,
            path,
            answer.status_code,
            answer.get_data(as_text=True)[:500],
        )
        return answer

    def get(self, path: str, status: int = 200):
        return self.call("GET", path, status)

    def post(self, path: str, body=None, status: int = 200, **kwargs):
        if body is not None:
            kwargs["json"] = body
        return self.call("POST", path, status, **kwargs)


@pytest.fixture()
def apis(app, imported):
    add_people(app)
    return {role: Api(app, role) for role in ("owner", "other", "eligible", "staff")}


def submit_one(api: Api, slug: str, answers: int) -> int:
    number = api.post("/api/v1/submissions", {"microcredential": slug}, 201).get_json()["id"]
    link = {"url": "https://example.org/plan", "title": "Plan", "description": "The plan."}
    api.post(f"/api/v1/submissions/{number}/evidence", link, 201)
    api.post(f"/api/v1/submissions/{number}/fee", status=201)
    api.post(f"/api/v1/submissions/{number}/submit", {"reflections": ["My answer."] * answers})
    return number


def test_the_main_flow_through_the_api(app, apis, clock):
    ana, rita, ben, stella = apis["owner"], apis["eligible"], apis["other"], apis["staff"]
    catalog = app.test_client().get("/api/v1/catalog").get_json()  # no token needed
    entry = next(item for item in catalog["microcredentials"] if item["slug"] == CC)
    assert len(entry["reflection_prompts"]) == 2 and entry["fee_cents"] == 2000
    assert catalog["stacks"][0]["microcredentials"] == ["student-sensemaking", "instructional-models"]

    started = ana.post("/api/v1/submissions", {"microcredential": CC}, 201)
    number = started.get_json()["id"]
    assert started.headers["Location"] == f"/api/v1/submissions/{number}"
    assert started.get_json()["state"] == "draft" and started.get_json()["microcredential"]["version"] == "1"
    pdf = Pdf().bytes()
    item = ana.post(
        f"/api/v1/submissions/{number}/evidence",
        data={"file": (io.BytesIO(pdf), "plan.pdf"), "title": "Lesson plan"},
        content_type="multipart/form-data",
        status=201,
    ).get_json()
    assert item["media_type"] == "application/pdf" and item["size"] == len(pdf) and item["kind"] == "file"
    extra = ana.post(
        f"/api/v1/submissions/{number}/evidence", {"url": "https://example.org/x", "title": "Extra"}, 201
    ).get_json()
    ana.call("DELETE", f"/api/v1/submissions/{number}/evidence/{extra['id']}", 204)
    ana.post(
        f"/api/v1/submissions/{number}/evidence", {"url": "https://example.org/work", "title": "Work"}, 201
    )
    receipt = ana.post(f"/api/v1/submissions/{number}/fee", status=201).get_json()
    assert re.fullmatch(r"FEE-2026-[A-Z2-9]{6}", receipt["receipt"]) and receipt["amount_cents"] == 2000
    published = ana.call(
        "PUT", f"/api/v1/submissions/{number}/publish-evidence", 200, json={"publish_evidence": True}
    )
    assert published.get_json()["publish_evidence"] is True
    submitted = ana.post(f"/api/v1/submissions/{number}/submit", {"reflections": ["Scale.", "More talk."]})
    assert submitted.get_json()["state"] == "submitted"
    assert [row["id"] for row in ana.get("/api/v1/submissions").get_json()["submissions"]] == [number]

    assert [row["id"] for row in rita.get("/api/v1/review-queue").get_json()["submissions"]] == [number]
    seen = rita.get(f"/api/v1/submissions/{number}").get_json()
    assert seen["payments"] == [] and seen["attempts"][0]["reflections"][0]["answer"] == "Scale."
    download = seen["evidence"][0]["download"]
    assert (
        rita.get(download).data == pdf and rita.get(download).headers["Cache-Control"] == "private, no-store"
    )

    clock.tick(30)
    returned = rita.post(
        f"/api/v1/submissions/{number}/review",
        {
            "scores": {"plan": "not-yet", "student-use": "proficient"},
            "feedback": {"plan": "Name the concept."},
        },
    ).get_json()
    assert (
        returned["decision"] == "returned"
        and returned["credential_url"] is None
        and returned["credentials"] == []
    )
    assert returned["payout_cents"] == 1000
    mine = ana.get(f"/api/v1/submissions/{number}").get_json()
    assert mine["state"] == "returned"
    criteria = {c["id"]: c for c in mine["attempts"][0]["review"]["criteria"]}
    assert criteria["plan"]["feedback"] == "Name the concept." and criteria["plan"]["met"] is False

    ana.post(f"/api/v1/submissions/{number}/fee", status=201)
    ana.post(f"/api/v1/submissions/{number}/submit", {"reflections": ["Scale, named.", "Student talk."]})
    clock.tick(30)
    earned = rita.post(
        f"/api/v1/submissions/{number}/review", {"scores": {"plan": "exemplary", "student-use": "proficient"}}
    ).get_json()
    assert earned["decision"] == "earned" and [c["kind"] for c in earned["credentials"]] == [
        "microcredential"
    ]
    path = earned["credential_url"].removeprefix("http://localhost:5000")
    assert app.test_client().get(path, headers={"Accept": "text/html"}).status_code == 200
    transcript = ana.get("/api/v1/transcript").get_json()
    assert (
        transcript["total_credit"] == 0.5 and transcript["credentials"][0]["url"] == earned["credential_url"]
    )
    csv_answer = ana.get("/api/v1/transcript?format=csv")
    assert csv_answer.mimetype == "text/csv" and csv_answer.data.decode().endswith("Total,,,,0.5,\r\n")

    # Another educator completes the two-member stack: the last review issues the stack and the bundle.
    first = submit_one(ben, "student-sensemaking", 1)
    rita.post(f"/api/v1/submissions/{first}/review", {"scores": {"talk": "proficient"}})
    second = submit_one(ben, "instructional-models", 1)
    last = rita.post(f"/api/v1/submissions/{second}/review", {"scores": {"model": "proficient"}}).get_json()
    assert [c["kind"] for c in last["credentials"]] == ["microcredential", "stack", "bundle"]
    assert ben.get("/api/v1/transcript").get_json()["total_credit"] == 1.0

    # Staff: a new version, retirement, and the payouts.
    version = stella.post(f"/api/v1/catalog/{CC}/versions", {"name": "Crosscutting Concepts in Science"}, 201)
    assert version.get_json()["version"] == "2" and version.headers["Location"].endswith(
        f"/achievements/{CC}/v2"
    )
    assert stella.post(f"/api/v1/catalog/{CC}/retire").get_json() == {"slug": CC, "state": "retired"}
    refused = ben.post("/api/v1/submissions", {"microcredential": CC}, 409).get_json()
    assert "retired" in refused["detail"] and refused["code"] == "conflict"
    ledger = stella.get("/api/v1/payouts?start=2026-01-01&end=2026-01-31").get_json()
    assert ledger["total_cents"] == 4000 and ledger["totals_cents"] == {"rita@example.org": 4000}
    assert [line["decision"] for line in ledger["payouts"]] == ["returned", "earned", "earned", "earned"]
    assert stella.get("/api/v1/payouts?start=2026-02-01&end=2026-02-28").get_json()["total_cents"] == 0
    rows = stella.get("/api/v1/payouts?start=2026-01-01&end=2026-01-31&format=csv").data.decode().splitlines()
    assert len(rows) == 5 and rows[1].endswith(f",{number},Crosscutting Concepts (v1),10.00")
    only = stella.get("/api/v1/payouts?start=2026-01-01&end=2026-01-31&reviewer=rita@example.org").get_json()
    assert only["total_cents"] == 4000


BAD_BODIES = [
    ("POST", "/api/v1/submissions", {"data": "microcredential=x"}, "Content-Type: application/json"),
    ("POST", "/api/v1/submissions", {"data": "{", "content_type": "application/json"}, "not valid JSON"),
    ("POST", "/api/v1/submissions", {"data": b"\xff", "content_type": "application/json"}, "not UTF-8"),
    ("POST", "/api/v1/submissions", {"json": [CC]}, "must be a JSON object"),
    ("POST", "/api/v1/submissions", {"json": {"microcredential": 5}}, "non-empty string"),
    ("POST", "/api/v1/submissions", {"json": {}}, "non-empty string"),
    (
        "POST",
        "/api/v1/submissions",
        {"data": "[" * 5000 + "]" * 5000, "content_type": "application/json"},
        "nested deeper",
    ),
    ("POST", "/api/v1/submissions/{n}/evidence", {"json": {"url": 5, "title": "x"}}, "non-empty string"),
    ("POST", "/api/v1/submissions/{n}/evidence", {"json": {"url": "ftp://x.org/a", "title": "x"}}, "http"),
    (
        "POST",
        "/api/v1/submissions/{n}/evidence",
        {"data": {"title": "x"}, "content_type": "multipart/form-data"},
        "'file'",
    ),
    ("POST", "/api/v1/submissions/{n}/evidence", {"data": {"file": (io.BytesIO(b""), "a.pdf")}}, "empty"),
    (
        "POST",
        "/api/v1/submissions/{n}/evidence",
        {"data": {"file": (io.BytesIO(b"text"), "a.pdf")}},
        "not a PDF",
    ),
    (
        "POST",
        "/api/v1/submissions/{n}/evidence",
        {"data": {"file": (io.BytesIO(b"%PDF-" + b"x" * 70_000), "a.pdf")}},
        "larger",
    ),
    ("PUT", "/api/v1/submissions/{n}/publish-evidence", {"json": {"publish": "yes"}}, "true or false"),
    ("POST", "/api/v1/submissions/{n}/submit", {"json": {"reflections": "text"}}, "list of strings"),
    ("POST", "/api/v1/submissions/{n}/submit", {"json": {"reflections": [1, 2]}}, "list of strings"),
    ("POST", "/api/v1/submissions/{n}/submit", {"json": {"reflections": ["one"]}}, "Answer each of the 2"),
    ("POST", "/api/v1/submissions/{n}/submit", {"json": {"reflections": ["one", " "]}}, "must be filled in"),
    ("GET", "/api/v1/transcript?format=xml", {}, "json or csv"),
]


def test_bad_bodies_are_400_with_a_sentence_and_change_nothing(app, apis):
    ana = apis["owner"]
    number = ana.post("/api/v1/submissions", {"microcredential": CC}, 201).get_json()["id"]
    ana.post(f"/api/v1/submissions/{number}/evidence", {"url": "https://example.org/p", "title": "Plan"}, 201)
    ana.post(f"/api/v1/submissions/{number}/fee", status=201)
    for method, path, kwargs, words in BAD_BODIES:
        before = {model: count(app, model) for model in TABLES}
        status = 413 if words in ("larger", "nested deeper") else 400
        answer = ana.call(method, path.format(n=number), status, **kwargs)
        problem = answer.get_json()
        assert answer.mimetype == "application/problem+json" and problem["status"] == status
        assert words in problem["detail"] and problem["detail"].rstrip().endswith("."), problem
        assert {model: count(app, model) for model in TABLES} == before, (method, path, words)


def test_bad_reviews_payouts_and_catalog_changes_are_400(app, apis):
    ana, rita, stella = apis["owner"], apis["eligible"], apis["staff"]
    number = submit_one(ana, CC, 2)
    review = f"/api/v1/submissions/{number}/review"
    cases = [
        (rita, review, {"scores": []}, "object whose values are strings"),
        (rita, review, {"scores": {"plan": 3}}, "object whose values are strings"),
        (rita, review, {"scores": {}}, "a level for every rubric criterion"),
        (rita, review, {"scores": {"plan": "proficient"}}, "'student-use' has no score"),
        (rita, review, {"scores": {"plan": "gold", "student-use": "proficient"}}, "not a level"),
        (
            rita,
            review,
            {"scores": {"plan": "not-yet", "student-use": "proficient"}},
            "Give feedback on 'plan'",
        ),
        (
            rita,
            review,
            {"scores": {"plan": "proficient", "student-use": "proficient", "x": "y"}},
            "not a criterion",
        ),
        (
            rita,
            review,
            {"scores": {"plan": "proficient"}, "feedback": "good"},
            "object whose values are strings",
        ),
        (stella, f"/api/v1/catalog/{CC}/versions", {"rubric": "text"}, "non-empty list"),
        (stella, f"/api/v1/catalog/{CC}/versions", {"creditt": 1}, "cannot be changed"),
        (stella, f"/api/v1/catalog/{CC}/versions", {}, "nothing to publish"),
        (stella, f"/api/v1/catalog/{CC}/versions", {"version": "1", "name": "New"}, "already has a version"),
    ]
    for api, path, body, words in cases:
        before = {model: count(app, model) for model in TABLES}
        problem = api.post(path, body, 400).get_json()
        assert words in problem["detail"], (body, problem)
        assert {model: count(app, model) for model in TABLES} == before, body
    for query, words in (
        ("start=2026-02-01&end=2026-01-01", "ends before it starts"),
        ("start=2026-01-01", "Give the end date"),
        ("start=tomorrow&end=2026-01-01", "is not a date like"),
        ("start=2026-01-01&end=2026-01-31&reviewer=nobody@example.org", "There is nobody"),
    ):
        status = 404 if "nobody" in query else 400
        assert words in stella.get(f"/api/v1/payouts?{query}", status).get_json()["detail"]
    assert stella.post("/api/v1/catalog/no-such-thing/retire", status=404).get_json()["code"] == "not_found"


def test_no_token_or_a_bad_token_is_401(app, apis):
    client = app.test_client()
    for method, path in (
        ("GET", "/api/v1/submissions"),
        ("POST", "/api/v1/submissions"),
        ("GET", "/api/v1/payouts"),
    ):
        for headers in ({}, {"Authorization": "Bearer bsk_nothing"}, {"Authorization": "Basic abc"}):
            answer = client.open(path, method=method, headers=headers, json={})
            assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")


_PLACEHOLDER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def test_the_openapi_document_lists_every_api_v1_route(app):
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    routes = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    assert len(routes) >= 17  # with /api/v1/me
    for rule in routes:
        path = _PLACEHOLDER.sub(lambda found: "{" + found.group(1) + "}", rule.rule)
        methods = {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}}
        assert path in paths and methods <= set(paths[path]), (path, methods)
        for method in methods:
            operation = paths[path][method]
            assert operation["summary"] and operation["responses"]
            if path != "/api/v1/catalog":
                assert operation["security"] == [{"apiToken": []}] and "401" in operation["responses"]


def test_the_configured_reviewer_share_is_paid(tmp_path, database_url):
    """ProgramContext comes from the settings: REVIEWER_SHARE_PERCENT 30 pays $6.00 of a $20.00 fee."""
    from badgeserver.program.catalog import load_catalog
    from badgeserver.program.catalog_import import import_catalog
    from tests.support.mini_catalog import write_mini_catalog

    other = make_app(
        tmp_path / "share", database_url.replace("store.db", "share.db"), Clock(), reviewer_share_percent=30
    )
    svc = services(other)
    assert svc.program.reviewer_share_percent == 30 and svc.program.max_evidence_bytes == 64 * 1024
    with svc.db.transaction() as session:
        import_catalog(session, load_catalog(write_mini_catalog(tmp_path / "share-catalog")), now=svc.clock())
    add_people(other)
    number = submit_one(Api(other, "owner"), CC, 2)
    outcome = Api(other, "eligible").post(
        f"/api/v1/submissions/{number}/review",
        {"scores": {"plan": "proficient", "student-use": "proficient"}},
    )
    assert outcome.get_json()["payout_cents"] == 600
    svc.db.dispose()


HOSTILE = [
    {"data": b""},
    {"data": bytes(range(256)), "content_type": "application/octet-stream"},
    {"data": b'{"a": ', "content_type": "application/json"},
    {"json": None},
    {"json": 5},
    {"json": "text"},
    {"json": [1, 2]},
    {"json": {"microcredential": {"a": 1}, "url": [1], "title": None, "publish": None}},
    {"json": {"reflections": [None], "scores": {"plan": None}, "feedback": [], "rubric": {"x": [1]}}},
    {"json": {"version": {"a": 1}, "name": 5, "credit": "lots", "evidence": "none", "audience": ["cat"]}},
    {"json": {"rubric": [{"id": "UPPER", "levels": "x"}], "reflection_prompts": [1]}},
    {"data": {"file": (io.BytesIO(b"\x00" * 10), "../../etc/passwd")}},
    {"data": {"file": (io.BytesIO(b"%PDF-1.4"), "a\u202epdf.exe")}},
    {"data": {"note": "no file"}, "content_type": "multipart/form-data"},
]


def test_hostile_bodies_to_every_api_route_never_get_a_server_error(app, apis):
    ana = apis["owner"]
    number = ana.post("/api/v1/submissions", {"microcredential": CC}, 201).get_json()["id"]
    item = ana.post(f"/api/v1/submissions/{number}/evidence", {"url": "https://e.org/a", "title": "A"}, 201)
    ids = {
        "submission_id": str(number),
        "item_id": str(item.get_json()["id"]),
        "slug": CC,
        "action": "revoke",
        "credential_id": "00000000-0000-4000-8000-000000000000",
    }
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    problems = []
    for rule in rules:
        path = _PLACEHOLDER.sub(lambda found: ids[found.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ("owner", "eligible", "staff"):
                for body in HOSTILE if method != "GET" else [{}]:
                    fresh = (
                        {
                            k: (io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v
                            for k, v in body.get("data", {}).items()
                        }
                        if isinstance(body.get("data"), dict)
                        else None
                    )
                    kwargs = dict(body, data=fresh) if fresh is not None else body
                    answer = apis[role].client.open(path, method=method, headers=apis[role].headers, **kwargs)
                    if answer.status_code >= 500 or (
                        answer.status_code >= 400 and answer.mimetype != "application/problem+json"
                    ):
                        problems.append(f"{role} {method} {path} {body!r:.80}: {answer.status_code}")
    assert problems == []
