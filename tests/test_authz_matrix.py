"""Who may do what: every page and API endpoint of the program blueprints, for six kinds of caller.

Callers: anonymous, educator A (the owner), educator B (another), a reviewer eligible for A's
submission (a founding reviewer), a reviewer who is not, and staff (not a reviewer). The world is
built once per module; every request either is refused or is refused by validation or the workflow
(400/409) after passing the access checks, so nothing changes (checked through the audit log).
"""

from __future__ import annotations

from typing import Any

import pytest

from badgeserver.program import catalog_admin
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.program.catalog import load_catalog
from badgeserver.program.catalog_import import import_catalog
from badgeserver.store import models as m
from badgeserver.web.services import services
from tests.support.flow_people import CSRF, Browser, Clock, Pdf, add_people, count, make_app, token_for
from tests.support.mini_catalog import write_mini_catalog

pytestmark = pytest.mark.store

ROLES = ("anonymous", "owner", "other", "eligible", "ineligible", "staff")
BLUEPRINTS = ("educator", "reviewer", "program_staff", "staff_credentials", "api_v1", "api_v1_staff")
CC = "crosscutting-concepts"
PERIOD = "start=2026-01-01&end=2026-01-31"


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_factory) -> dict[str, Any]:
    """A's submitted S1 (with a submitted file F1), A's draft S2 (pending file F2), and the eligible
    reviewer's own submitted S4; instructional-models is retired afterwards."""
    folder = tmp_path_factory.mktemp("matrix")
    urls = database_factory("sqlite", folder, required=False)
    app = make_app(folder, next(urls), Clock())
    svc = services(app)
    with svc.db.transaction() as session:
        import_catalog(session, load_catalog(write_mini_catalog(folder / "catalog")), now=svc.clock())
    ids = add_people(app)
    now = svc.clock()
    with svc.db.transaction() as session:

        def person(role: str) -> m.Person:
            return session.get(m.Person, ids[role])

        def submitted(role: str, slug: str) -> tuple[m.Submission, m.EvidenceItem]:
            owner = person(role)
            row = sub.start_submission(session, owner, slug, now=now)
            item = ev.add_file(
                session, row, owner, data=Pdf().bytes(), filename="plan.pdf", title="Plan", now=now
            )
            sub.record_fee(session, row, owner, now=now)
            prompts = row.version.reflection_prompts
            sub.submit_attempt(session, row, reflections=["An answer."] * len(prompts), now=now)
            return row, item

        s1, f1 = submitted("owner", CC)
        s2 = sub.start_submission(session, person("owner"), "student-sensemaking", now=now)
        f2 = ev.add_file(
            session, s2, person("owner"), data=Pdf().bytes(), filename="draft.pdf", title="D", now=now
        )
        s4, _ = submitted("eligible", "instructional-models")
        catalog_admin.retire(session, person("staff"), "instructional-models", now=now)
        numbers = {"S1": s1.id, "S2": s2.id, "S4": s4.id, "F1": f1.id, "F2": f2.id}
    browsers: dict[str, Browser] = {}
    for role in ROLES:
        browser = Browser(app)
        if role == "anonymous":
            # A visitor who has seen a form holds a session with a CSRF token; so passes the CSRF check.
            browser.csrf = CSRF.search(browser.text("/login")).group(1)
        else:
            browser.sign_in(role)
        browsers[role] = browser
    tokens = {role: token_for(app, role) for role in ROLES if role != "anonymous"}
    yield {"app": app, "ids": numbers, "browsers": browsers, "tokens": tokens}
    svc.db.dispose()


def expect(*statuses: int) -> dict[str, int]:
    """The statuses for ROLES, in order."""
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses, strict=True))


EVERYONE = expect(302, 200, 200, 200, 200, 200)
REVIEWERS = expect(302, 403, 403, 200, 200, 200)
STAFF = expect(302, 403, 403, 403, 403, 200)
# (method, path with {S1}-style placeholders, form or JSON body, expected statuses)
PAGES: list[tuple[str, str, dict[str, Any], dict[str, int]]] = [
    ("GET", "/dashboard", {}, EVERYONE),
    ("POST", "/submissions/new", {}, expect(302, 400, 400, 400, 400, 400)),
    ("GET", "/submissions/{S1}", {}, expect(302, 200, 404, 200, 404, 200)),
    ("GET", "/submissions/{S2}", {}, expect(302, 200, 404, 404, 404, 200)),  # a draft: not for reviewers
    ("GET", "/submissions/2147483647", {}, expect(302, 404, 404, 404, 404, 404)),
    ("POST", "/submissions/{S1}/evidence/file", {}, expect(302, 400, 404, 403, 404, 403)),
    ("POST", "/submissions/{S1}/evidence/link", {}, expect(302, 400, 404, 403, 404, 403)),
    ("POST", "/submissions/{S1}/evidence/remove", {}, expect(302, 400, 404, 403, 404, 403)),
    ("POST", "/submissions/{S1}/publish-evidence", {}, expect(302, 409, 404, 403, 404, 403)),
    ("POST", "/submissions/{S1}/fee", {}, expect(302, 409, 404, 403, 404, 409)),  # staff may record fees
    ("POST", "/submissions/{S1}/submit", {}, expect(302, 409, 404, 403, 404, 403)),
    ("GET", "/evidence/{F1}", {}, expect(302, 200, 404, 200, 404, 200)),
    ("GET", "/evidence/{F2}", {}, expect(302, 200, 404, 404, 404, 200)),  # pending: owner and staff only
    ("GET", "/transcript", {}, EVERYONE),
    ("GET", "/transcript.json", {}, expect(401, 200, 200, 200, 200, 200)),  # .json: a problem, not a redirect
    ("GET", "/transcript.csv", {}, EVERYONE),
    ("GET", "/review", {}, REVIEWERS),
    ("GET", f"/review/payouts?{PERIOD}", {}, REVIEWERS),
    ("GET", "/review/{S1}", {}, expect(302, 403, 403, 200, 404, 403)),  # staff see it but are no reviewer
    ("POST", "/review/{S1}", {}, expect(302, 403, 403, 400, 404, 403)),
    ("GET", "/review/{S4}", {}, expect(302, 403, 403, 403, 404, 403)),  # the reviewer's own submission
    ("POST", "/review/{S4}", {}, expect(302, 403, 403, 403, 404, 403)),
    ("GET", "/staff/catalog", {}, STAFF),
    ("GET", f"/staff/catalog/{CC}", {}, STAFF),
    ("POST", f"/staff/catalog/{CC}/versions", {}, expect(302, 403, 403, 403, 403, 400)),
    ("GET", f"/staff/catalog/{CC}/retire", {}, STAFF),
    ("POST", f"/staff/catalog/{CC}/retire", {}, expect(302, 403, 403, 403, 403, 400)),
    ("GET", "/staff/credentials", {}, STAFF),
    ("POST", "/staff/credentials", {}, expect(302, 403, 403, 403, 403, 400)),
    ("POST", "/staff/stacks/methods/reviewers", {}, expect(302, 403, 403, 403, 403, 400)),
    ("POST", "/staff/stacks/methods/reviewers/remove", {}, expect(302, 403, 403, 403, 403, 400)),
    ("GET", f"/staff/payouts?{PERIOD}", {}, STAFF),
    ("GET", f"/staff/payouts.csv?{PERIOD}", {}, STAFF),
    ("GET", "/staff/submissions", {}, STAFF),
]
READERS = expect(401, 200, 200, 200, 200, 200)
API: list[tuple[str, str, dict[str, Any], dict[str, int]]] = [
    ("GET", "/api/v1/catalog", {}, expect(200, 200, 200, 200, 200, 200)),  # public data
    ("POST", "/api/v1/submissions", {}, expect(401, 400, 400, 400, 400, 400)),
    ("GET", "/api/v1/submissions", {}, READERS),
    ("GET", "/api/v1/submissions/{S1}", {}, expect(401, 200, 404, 200, 404, 200)),
    ("GET", "/api/v1/submissions/{S2}", {}, expect(401, 200, 404, 404, 404, 200)),
    ("POST", "/api/v1/submissions/{S1}/evidence", {}, expect(401, 400, 404, 403, 404, 403)),
    ("DELETE", "/api/v1/submissions/{S1}/evidence/{F1}", {}, expect(401, 409, 404, 403, 404, 403)),
    ("POST", "/api/v1/submissions/{S1}/fee", {}, expect(401, 409, 404, 403, 404, 409)),
    ("PUT", "/api/v1/submissions/{S1}/publish-evidence", {}, expect(401, 400, 404, 403, 404, 403)),
    ("POST", "/api/v1/submissions/{S1}/submit", {}, expect(401, 400, 404, 403, 404, 403)),
    ("GET", "/api/v1/review-queue", {}, expect(401, 403, 403, 200, 200, 200)),  # educators lack the scope
    ("POST", "/api/v1/submissions/{S1}/review", {}, expect(401, 403, 403, 400, 404, 403)),
    ("POST", "/api/v1/submissions/{S4}/review", {}, expect(401, 403, 403, 403, 404, 403)),
    ("GET", "/api/v1/transcript", {}, READERS),
    ("GET", "/api/v1/evidence/{F1}", {}, expect(401, 200, 404, 200, 404, 200)),
    ("GET", "/api/v1/evidence/{F2}", {}, expect(401, 200, 404, 404, 404, 200)),
    ("GET", f"/api/v1/payouts?{PERIOD}", {}, expect(401, 403, 403, 403, 403, 200)),
    ("POST", f"/api/v1/catalog/{CC}/versions", {}, expect(401, 403, 403, 403, 403, 400)),
    ("POST", "/api/v1/catalog/instructional-models/retire", {}, expect(401, 403, 403, 403, 403, 409)),
    ("POST", "/api/v1/credentials/revoke", {}, expect(401, 403, 403, 403, 403, 400)),
    ("POST", "/api/v1/credentials/reinstate", {}, expect(401, 403, 403, 403, 403, 400)),
]


def _cases() -> list[Any]:
    return [
        pytest.param(kind, method, path, body, role, statuses[role], id=f"{method} {path} as {role}")
        for kind, table in (("page", PAGES), ("api", API))
        for method, path, body, statuses in table
        for role in ROLES
    ]


def _send(world: dict[str, Any], kind: str, method: str, path: str, body: dict[str, Any], role: str) -> Any:
    concrete = path.format(**world["ids"])
    if kind == "page":
        browser = world["browsers"][role]
        if method == "GET":
            return browser.get(concrete)
        return browser.post(concrete, body)
    client = world["app"].test_client()
    headers = {"Accept": "application/json"}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
    kwargs: dict[str, Any] = {"json": body} if method in ("POST", "PUT") else {}
    return client.open(concrete, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize(("kind", "method", "path", "body", "role", "status"), _cases())
def test_access(world, kind, method, path, body, role, status):
    before = count(world["app"], m.AuditEntry)
    answer = _send(world, kind, method, path, body, role)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert count(world["app"], m.AuditEntry) == before  # refused or invalid: nothing changed
    if status == 302:
        assert answer.headers["Location"].startswith("/login?next=")
    if status in (401, 403, 404) and kind == "api":
        assert answer.mimetype == "application/problem+json"
    if status == 401 and kind == "api":
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 200 and "/evidence/" in path and kind == "page":
        assert answer.headers["Content-Disposition"].startswith("attachment")
        assert answer.headers["Cache-Control"] == "private, no-store"


def test_the_matrix_covers_every_route_of_the_program_blueprints(world):
    app = world["app"]
    adapter = app.url_map.bind("localhost")
    covered = set()
    for _, table in (("page", PAGES), ("api", API)):
        for method, path, _, _ in table:
            concrete = path.format(**world["ids"]).split("?")[0]
            endpoint, _ = adapter.match(concrete, method=method)
            covered.add((endpoint, method))
    served = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served - covered == set()


SCOPED = [
    # (role, the one scope the token holds, method, path, body, status)
    ("owner", "submissions:read", "POST", "/api/v1/submissions", {"microcredential": CC}, 403),
    ("owner", "submissions:write", "GET", "/api/v1/submissions", {}, 403),
    ("owner", "submissions:write", "GET", "/api/v1/transcript", {}, 403),
    ("eligible", "submissions:read", "GET", "/api/v1/review-queue", {}, 403),
    ("eligible", "submissions:read", "POST", "/api/v1/submissions/{S1}/review", {}, 403),
    ("staff", "submissions:read", "GET", f"/api/v1/payouts?{PERIOD}", {}, 403),
    ("staff", "payouts:read", "POST", f"/api/v1/catalog/{CC}/retire", {}, 403),
    ("staff", "catalog:write", "GET", "/api/v1/submissions/{S1}", {}, 403),
    ("staff", "submissions:read", "GET", "/api/v1/submissions/{S1}", {}, 200),
]


@pytest.mark.parametrize(("role", "scope", "method", "path", "body", "status"), SCOPED)
def test_tokens_without_the_scope_are_refused(world, role, scope, method, path, body, status):
    token = token_for(world["app"], role, (scope,))
    before = count(world["app"], m.AuditEntry)
    answer = (
        world["app"]
        .test_client()
        .open(
            path.format(**world["ids"]),
            method=method,
            headers={"Authorization": f"Bearer {token}"},
            **({"json": body} if method == "POST" else {}),
        )
    )
    assert answer.status_code == status
    assert count(world["app"], m.AuditEntry) == before
    if status == 403:
        assert answer.get_json()["code"] == "insufficient_scope"


def test_a_browser_session_is_no_api_token(world):
    """The API takes Bearer tokens only: a signed-in browser gets 401 there."""
    answer = world["browsers"]["owner"].get("/api/v1/submissions", headers={"Accept": "application/json"})
    assert answer.status_code == 401


def test_evidence_is_never_publicly_addressable(world):
    """No public route serves evidence: an anonymous request for any evidence file never gets its bytes."""
    client = world["app"].test_client()
    for path in ("/evidence/{F1}", "/evidence/{F2}", "/api/v1/evidence/{F1}"):
        for accept in ("text/html", "application/json", "*/*"):
            answer = client.get(path.format(**world["ids"]), headers={"Accept": accept})
            assert answer.status_code in (302, 401) and b"%PDF" not in answer.data
