"""The web face: every public endpoint, the verify page and API, the OpenAPI document, and a hostile sweep.

SQLite is enough here; the tests marked BOTH_DATABASES also run on PostgreSQL, marked `postgresql_optional`:
skipped (never failed, even in CI) when PostgreSQL is unreachable; deselect with `-m "not postgresql_optional"`.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from werkzeug.exceptions import MethodNotAllowed, NotFound

from badgeserver import bakery, bitstring, did
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.verify.proofs import check_proofs
from badgeserver.web.services import services

pytestmark = pytest.mark.store

BASE = "http://localhost:5000"
DID = "did:web:localhost%3A5000:issuers:usbe"
ACHIEVEMENT = f"{BASE}/achievements/crosscutting-concepts/v1"
STATUS_LIST = f"{BASE}/status/usbe/revocation/1"
JSON_TYPES = ["application/ld+json", "application/vc", "application/json"]


@pytest.fixture()
def database_url(request, tmp_path, database_factory) -> Iterator[str]:
    """SQLite, unless a test asks for both with BOTH_DATABASES; PostgreSQL is then optional here."""
    yield from database_factory(getattr(request, "param", "sqlite"), tmp_path, required=False)


BOTH_DATABASES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql_optional)],
    indirect=True,
)


@pytest.fixture()
def stored(app, earned_credential) -> tuple[str, bytes]:
    """The earned credential's id and its stored signed JSON, as bytes."""
    with services(app).db.read() as session:
        return earned_credential, session.get(m.Credential, earned_credential).signed_json.encode("utf-8")


def _png(colour: tuple[int, int, int] = (10, 20, 30), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format=fmt)
    return buffer.getvalue()


# --- credentials ---------------------------------------------------------------------------------


def test_credential_page_for_browsers(client, stored):
    credential_id, _ = stored
    for accept in ("text/html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"):
        answer = client.get(f"/credentials/{credential_id}", headers={"Accept": accept})
        assert answer.status_code == 200
        assert answer.mimetype == "text/html"
        page = answer.get_data(as_text=True)
        assert "Verified" in page and "Not verified" not in page
        assert "Crosscutting Concepts" in page
        assert "Ana Núñez" in page
        assert "Content-Security-Policy" in answer.headers


@BOTH_DATABASES
def test_credential_json_for_programs_is_the_exact_signed_bytes(client, stored):
    credential_id, signed = stored
    for accept in [*JSON_TYPES, "*/*", None]:
        headers = {"Accept": accept} if accept else {}
        answer = client.get(f"/credentials/{credential_id}", headers=headers)
        assert (answer.status_code, answer.data) == (200, signed), accept
        if accept in JSON_TYPES:
            assert answer.mimetype == accept  # the type asked for, echoed
        elif accept == "*/*":
            assert answer.mimetype == "application/ld+json"  # the first preference
        else:
            assert answer.mimetype in JSON_TYPES
        assert answer.headers["Cache-Control"] == "public, max-age=86400", accept
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.headers["Vary"] == "Accept"


def test_credential_json_file(client, stored):
    credential_id, signed = stored
    answer = client.get(f"/credentials/{credential_id}.json")
    assert answer.status_code == 200
    assert answer.data == signed
    etag = answer.headers["ETag"]
    assert etag and answer.headers["Cache-Control"] == "public, max-age=86400"
    again = client.get(f"/credentials/{credential_id}.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    changed = client.get(f"/credentials/{credential_id}.json", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.data == signed


@BOTH_DATABASES
def test_baked_images(app, client, stored):
    for extension, media in (("png", "image/png"), ("svg", "image/svg+xml")):
        _check_baked_image(app, client, stored, extension, media)


def _check_baked_image(app, client, stored, extension, media):
    credential_id, signed = stored
    answer = client.get(f"/credentials/{credential_id}.{extension}")
    assert answer.status_code == 200
    assert answer.mimetype == media
    assert "max-age=31536000" in answer.headers["Cache-Control"]
    extracted = bakery.extract(answer.data)
    assert extracted.text.encode("utf-8") == signed
    assert extracted.kind == "json"
    etag = answer.headers["ETag"]
    assert (
        client.get(f"/credentials/{credential_id}.{extension}", headers={"If-None-Match": etag}).status_code
        == 304
    )
    # Baking is deterministic: the same bytes every time.
    assert client.get(f"/credentials/{credential_id}.{extension}").data == answer.data
    # The badge itself is the catalog image: for PNG, the same pixels.
    with services(app).db.read() as session:
        version = session.get(m.Credential, credential_id).version
        original = session.get(
            m.Image, version.image_png_id if extension == "png" else version.image_svg_id
        ).data
    if extension == "png":
        assert Image.open(io.BytesIO(answer.data)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    else:
        assert answer.data.endswith(original[original.index(b">") + 1 :])  # the drawing, untouched


def test_unknown_and_private_credentials_are_404(app, client, stored):
    credential_id, _ = stored
    suffixes = ["", ".json", ".png", ".svg"]
    for suffix in suffixes:
        missing = client.get(f"/credentials/{uuid.uuid4()}{suffix}", headers={"Accept": "application/json"})
        assert (missing.status_code, missing.mimetype) == (404, "application/problem+json"), suffix
        assert client.get(f"/credentials/{credential_id}{suffix}").status_code == 200, suffix
    with services(app).db.transaction() as session:
        session.get(m.Credential, credential_id).public = False
    for suffix in suffixes:
        hidden = client.get(f"/credentials/{credential_id}{suffix}", headers={"Accept": "application/json"})
        assert hidden.status_code == 404, suffix


# --- issuers, DID documents, achievements, status lists ------------------------------------------


def test_issuer_page_and_profile(client, stored):
    page = client.get("/issuers/usbe", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Utah State Board of Education" in page.get_data(as_text=True)
    answer = client.get("/issuers/usbe", headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200 and answer.mimetype == "application/ld+json"
    profile = answer.get_json(force=True)
    assert profile["id"] == DID
    assert "Profile" in profile["type"]
    assert profile["name"] == "Utah State Board of Education"
    assert profile["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert client.get("/issuers/nobody", headers={"Accept": "application/json"}).status_code == 404


@BOTH_DATABASES
def test_did_document(client, stored):
    _, signed = stored
    method = json.loads(signed)["proof"][0]["verificationMethod"]
    answer = client.get("/issuers/usbe/did.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/did+json"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    document = answer.get_json(force=True)
    assert document["id"] == DID
    assert method.startswith(f"{DID}#z6Mk")
    assert method in document["assertionMethod"]
    (entry,) = [vm for vm in document["verificationMethod"] if vm["id"] == method]
    assert entry["controller"] == DID and entry["type"] == "Multikey"
    assert entry["publicKeyMultibase"] == method.split("#", 1)[1]


def test_achievement_page_and_json(client, stored):
    _, signed = stored
    page = client.get("/achievements/crosscutting-concepts/v1", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Crosscutting Concepts" in page.get_data(as_text=True)
    answer = client.get("/achievements/crosscutting-concepts/v1", headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200 and answer.mimetype == "application/ld+json"
    document = answer.get_json(force=True)
    assert document["id"] == ACHIEVEMENT
    assert document["version"] == "1"
    assert "Achievement" in document["type"]
    assert [d["id"] for d in document["resultDescription"]] == [
        f"{ACHIEVEMENT}#plan",
        f"{ACHIEVEMENT}#student-use",
    ]
    embedded = json.loads(signed)["credentialSubject"]["achievement"]
    assert {k: v for k, v in document.items() if k != "@context"} == embedded
    for missing in ("/achievements/crosscutting-concepts/v2", "/achievements/nope/v1"):
        assert client.get(missing, headers={"Accept": "application/json"}).status_code == 404


@BOTH_DATABASES
def test_status_list(app, client, stored):
    answer = client.get("/status/usbe/revocation/1")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vc+ld+json"
    cache = answer.headers["Cache-Control"]
    max_age = int(re.search(r"max-age=(\d+)", cache).group(1))
    assert max_age <= 600 and "immutable" not in cache
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    document = answer.get_json(force=True)
    assert document["id"] == STATUS_LIST
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["issuer"] == DID
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    assert bitstring.decode(document["credentialSubject"]["encodedList"]) == bytes(16384)

    svc = services(app)

    def resolve_key(url: str) -> did.VerificationMethod:  # our own did:web document, answered from the store
        return did.resolve_verification_method(url, fetch_json=svc.fetcher.get_json)

    outcome = check_proofs(document, resolve_key=resolve_key, canonicalizer=svc.issuing.canonicalizer)
    assert (outcome.key.status, outcome.controller.status, outcome.signature.status) == (r.PASSED,) * 3
    forged = copy.deepcopy(document)
    forged["credentialSubject"]["statusPurpose"] = "suspension"
    outcome = check_proofs(forged, resolve_key=resolve_key, canonicalizer=svc.issuing.canonicalizer)
    assert outcome.signature.status == r.FAILED

    # Signed once, served the same until its bits change (STAT-5).
    assert client.get("/status/usbe/revocation/1").data == answer.data
    for missing in ("/status/usbe/revocation/2", "/status/usbe/suspension/1", "/status/nobody/revocation/1"):
        assert client.get(missing).status_code == 404


def test_catalog_pages(client, stored):
    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    for name in ("Crosscutting Concepts", "Student Sensemaking", "Instructional Models"):
        assert name in home.get_data(as_text=True)
    assert "Science Teaching Methods" in client.get("/stacks/methods").get_data(as_text=True)
    assert "Secondary Science" in client.get("/bundles/secondary-science").get_data(as_text=True)
    assert client.get("/stacks/secondary-science").status_code == 404
    image = client.get("/images/1.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert client.get("/images/1.svg").status_code == 404  # image 1 is a PNG


# --- OpenAPI ---------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _options(args: str) -> list[str]:
    return [part.strip().strip("'\"") for part in args.split(",")]


def _openapi_forms(rule: str) -> tuple[str, list[str]]:
    """A Flask rule as an OpenAPI path template, and as the list of paths with any(...) spelled out."""
    templated = _PLACEHOLDER.sub(lambda found: "{" + found["name"] + "}", rule)
    expanded = [""]
    position = 0
    for found in _PLACEHOLDER.finditer(rule):
        literal = rule[position : found.start()]
        any_of = found["converter"] == "any"
        choices = _options(found["args"]) if any_of else ["{" + found["name"] + "}"]
        expanded = [done + literal + choice for done in expanded for choice in choices]
        position = found.end()
    return templated, [done + rule[position:] for done in expanded]


def _check_openapi_structure(document: dict[str, Any]) -> None:
    if importlib.util.find_spec("openapi_spec_validator") is not None:  # pragma: no cover - not in .venv
        from openapi_spec_validator import validate

        validate(document)
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": BASE}]
    components = document.get("components", {})

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        kind, name = re.fullmatch(r"#/components/(\w+)/(\w+)", ref).groups()
        assert name in components[kind], ref
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= OPERATIONS | {"parameters", "summary", "description"}, path
        template_params = re.findall(r"\{(\w+)\}", path)
        for verb in set(item) & OPERATIONS:
            operation = item[verb]
            assert operation["responses"], (path, verb)
            for code, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]|default", code) and response["description"], (
                    path,
                    code,
                )
            declared = [
                p for p in operation.get("parameters", []) + item.get("parameters", []) if p["in"] == "path"
            ]
            assert sorted(p["name"] for p in declared) == sorted(template_params), (path, verb)
            assert all(p["required"] is True for p in declared)


def test_openapi_is_a_valid_document_listing_every_route(app, client):
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    document = answer.get_json()
    _check_openapi_structure(document)
    paths = document["paths"]

    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":  # Flask's own stylesheet route, not part of the interface
            continue
        templated, expanded = _openapi_forms(rule.rule)
        methods = {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}}
        listed = [templated] if templated in paths else expanded
        for path in listed:
            if path not in paths or not methods <= set(paths[path]):
                missing.append(f"{sorted(methods)} {path} (rule {rule.rule})")
    assert missing == []

    # And the other way: every documented operation is served by a route.
    samples = {"credential_id": str(uuid.uuid4()), "slug": "usbe", "number": "1", "image_id": "1"}
    samples |= {"purpose": "revocation", "version": "1", "submission_id": "1", "item_id": "1"}
    samples |= {"handle": "a-handle", "action": "revoke"}
    adapter = app.url_map.bind("localhost")
    for path, item in paths.items():
        concrete = re.sub(r"\{(\w+)\}", lambda found: samples[found.group(1)], path)
        for verb in set(item) & OPERATIONS:
            try:
                adapter.match(concrete, method=verb.upper())
            except (NotFound, MethodNotAllowed) as exc:  # pragma: no cover - the failure message
                pytest.fail(f"{verb.upper()} {path} is documented but not served ({exc.name})")


def test_openapi_forms_of_rules():
    """The rule-to-path translation the test above relies on."""
    assert _openapi_forms("/credentials/<uuid:credential_id>.<any(png, svg):extension>") == (
        "/credentials/{credential_id}.{extension}",
        ["/credentials/{credential_id}.png", "/credentials/{credential_id}.svg"],
    )
    assert _openapi_forms("/achievements/<slug:slug>/v<version>") == (
        "/achievements/{slug}/v{version}",
        ["/achievements/{slug}/v{version}"],
    )


# --- POST /api/verify -------------------------------------------------------------------------------


def _verified(answer) -> dict[str, Any]:
    assert answer.status_code == 200, answer.data[:300]
    assert answer.mimetype == "application/json"
    report = answer.get_json()
    assert report["verified"] is True, report["headline"]
    statuses = {check["id"]: check["status"] for check in report["checks"]}
    assert statuses[r.PROOF_SIGNATURE] == statuses[r.STATUS] == r.PASSED
    return report


@BOTH_DATABASES
def test_api_verify_accepts_every_input_form(client, stored):
    credential_id, signed = stored
    png = client.get(f"/credentials/{credential_id}.png").data
    svg = client.get(f"/credentials/{credential_id}.svg").data
    as_json = json.loads(signed)
    url = f"{BASE}/credentials/{credential_id}"

    report = _verified(client.post("/api/verify", data={"file": (io.BytesIO(png), "badge.png")}))
    assert report["input"]["kind"] == "png"
    assert report["credential"]["id"] == url
    assert _verified(client.post("/api/verify", data=png, content_type="image/png"))["input"]["kind"] == "png"
    assert (
        _verified(client.post("/api/verify", data=svg, content_type="image/svg+xml"))["input"]["kind"]
        == "svg"
    )
    _verified(client.post("/api/verify", data=signed, content_type="application/ld+json"))
    _verified(client.post("/api/verify", json=as_json))
    _verified(client.post("/api/verify", json={"credential": as_json}))
    _verified(client.post("/api/verify", json={"credential": signed.decode("utf-8")}))
    _verified(client.post("/api/verify", json={"url": url}))
    _verified(client.post("/api/verify", json={"url": f"{url}.png"}))
    _verified(client.post("/api/verify", data={"url": url}))
    _verified(client.post("/api/verify", data={"credential": signed.decode("utf-8")}))
    with_recipient = _verified(
        client.post("/api/verify", json={"url": url, "recipient": "educator1@example.org"})
    )
    assert {c["id"]: c["status"] for c in with_recipient["checks"]}[r.RECIPIENT] == r.PASSED


def test_api_verify_reports_a_tampered_credential(client, stored):
    _, signed = stored
    tampered = json.loads(signed)
    tampered["credentialSubject"]["achievement"]["name"] = "Crosscutting Concept5"
    answer = client.post("/api/verify", json=tampered)
    assert answer.status_code == 200
    report = answer.get_json()
    assert report["verified"] is False
    (signature,) = [c for c in report["checks"] if c["id"] == r.PROOF_SIGNATURE]
    assert (signature["status"], signature["code"]) == (r.FAILED, "invalid_signature")
    assert report["headline"] == signature["message"]

    wrong_earner = client.post(
        "/api/verify", json={"credential": json.loads(signed), "recipient": "x@example.org"}
    )
    assert wrong_earner.status_code == 200 and wrong_earner.get_json()["verified"] is False


def test_verify_page_and_form(client, stored):
    credential_id, signed = stored
    page = client.get("/verify")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    png = client.get(f"/credentials/{credential_id}.png").data
    forms = {
        "upload": {"file": (io.BytesIO(png), "badge.png")},
        "paste": {"credential": signed.decode("utf-8")},
        "url": {"url": f"{BASE}/credentials/{credential_id}"},
    }
    for name, form in forms.items():
        answer = client.post("/verify", data=form, content_type="multipart/form-data")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, name
        assert "Verified" in html and "Not verified" not in html, name
        assert "Crosscutting Concepts" in html, name
    tampered = signed.decode("utf-8").replace("Crosscutting Concepts", "Crosscutting Concept5", 1)
    answer = client.post("/verify", data={"credential": tampered})
    assert answer.status_code == 200
    assert "Not verified" in answer.get_data(as_text=True)


# --- THE SWEEP ---------------------------------------------------------------------------------------

SEGMENTS = [
    "00000000-0000-4000-8000-000000000000",
    str(uuid.uuid4()),
    "not-a-uuid",
    "..%2f..%2fetc%2fpasswd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "A" * 4096,
    quote("ünïcødé-☃-𝔘"),
    "%00",
    "a%00b",
    "-1",
    "0",
    "99999999999999999999999",
    quote("<script>alert(1)</script>"),
    quote("' OR 1=1 --"),
]
WRONG_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

_BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol4;</text></svg>'
)
_DEEP = "[" * 10_000 + "]" * 10_000
_DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
_HUGE = b"x" * (20 * 1024 * 1024)

# name -> a factory of test-client keyword arguments (fresh each time: uploads are read once)
RAW_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "empty body": lambda: {"data": b""},
    "garbage bytes": lambda: {"data": bytes(range(256)) * 8, "content_type": "application/octet-stream"},
    "invalid JSON": lambda: {"data": b'{"@context": [', "content_type": "application/json"},
    "invalid UTF-8 JSON": lambda: {"data": b'{"a": "\xff\xfe"}', "content_type": "application/json"},
    "JSON array": lambda: {"data": b"[1, 2, 3]", "content_type": "application/json"},
    "JSON string": lambda: {"data": b'"a credential"', "content_type": "application/json"},
    "deep JSON array": lambda: {"data": _DEEP, "content_type": "application/json"},
    "deep JSON object": lambda: {"data": _DEEP_OBJECT, "content_type": "application/json"},
    "deep JSON as bytes": lambda: {"data": _DEEP, "content_type": "application/octet-stream"},
    "deep credential field": lambda: {"json": {"credential": json.loads("[" * 900 + "]" * 900)}},
    "20 MB body": lambda: {"data": _HUGE, "content_type": "application/octet-stream"},
    "20 MB JSON": lambda: {"data": _HUGE, "content_type": "application/json"},
    "PNG without a credential": lambda: {"data": _png(), "content_type": "image/png"},
    "billion laughs SVG": lambda: {"data": _BILLION_LAUGHS, "content_type": "image/svg+xml"},
    "JPEG": lambda: {"data": _png(fmt="JPEG"), "content_type": "image/jpeg"},
    "metadata URL": lambda: {"json": {"url": "http://169.254.169.254/"}},
    "metadata URL over https": lambda: {"json": {"url": "https://169.254.169.254/latest/meta-data/"}},
    "file URL": lambda: {"json": {"url": "file:///etc/passwd"}},
    "not a URL": lambda: {"json": {"url": "not a url"}},
    "URL not a string": lambda: {"json": {"url": ["http://localhost:5000/"]}},
    "our host, unknown id": lambda: {"json": {"url": f"{BASE}/credentials/{uuid.uuid4()}"}},
    "credential null": lambda: {"json": {"credential": None}},
    "an empty object": lambda: {"json": {}},
    "JWT garbage": lambda: {"data": "a.b.c", "content_type": "text/plain"},
    "multipart with no file": lambda: {
        "data": {"recipient": "a@example.org"},
        "content_type": "multipart/form-data",
    },
    "multipart with an empty file": lambda: {"data": {"file": (io.BytesIO(b""), "empty.png")}},
    "multipart with a JPEG": lambda: {"data": {"file": (io.BytesIO(_png(fmt="JPEG")), "a.png")}},
    "multipart with billion laughs": lambda: {"data": {"file": (io.BytesIO(_BILLION_LAUGHS), "a.svg")}},
    "multipart with 20 MB": lambda: {"data": {"file": (io.BytesIO(_HUGE), "big.png")}},
    "multipart file URL": lambda: {
        "data": {"url": "file:///etc/passwd"},
        "content_type": "multipart/form-data",
    },
    "multipart bad credential": lambda: {
        "data": {"credential": _DEEP},
        "content_type": "multipart/form-data",
    },
    "form-encoded metadata URL": lambda: {"data": {"url": "http://169.254.169.254/"}},
}


class Sweep:
    """Sends requests and collects every answer that breaks the rules, so one run shows them all."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.problems: list[str] = []
        self.sent = 0

    def send(self, method: str, path: str, *, expect_4xx: bool = False, **kwargs: Any) -> Any:
        self.sent += 1
        answer = self.client.open(path, method=method, **kwargs)
        where = (
            f"{method} {path[:90]} ({kwargs.get('headers', {}).get('Accept', '-')}) -> {answer.status_code}"
        )
        body = answer.get_data()
        if answer.status_code >= 500:
            self.problems.append(f"{where}: server error {body[:200]!r}")
        if expect_4xx and not 400 <= answer.status_code < 500:
            self.problems.append(f"{where}: bad input was not answered 4xx")
        if b"Traceback" in body:
            self.problems.append(f"{where}: a traceback in the body")
        is_json = "json" in (answer.mimetype or "")
        if answer.status_code >= 400 and method != "HEAD" and (is_json or path.startswith("/api/")):
            if answer.mimetype != "application/problem+json":
                self.problems.append(f"{where}: error as {answer.mimetype}, not application/problem+json")
            else:
                problem = json.loads(body)
                detail = problem.get("detail")
                if not (isinstance(detail, str) and detail[:1].isupper() and detail.rstrip().endswith(".")):
                    self.problems.append(f"{where}: no detail sentence: {problem!r:.200}")
                if problem.get("status") != answer.status_code:
                    self.problems.append(f"{where}: problem status {problem.get('status')}")
        return answer


def _hostile_paths(rule: str) -> Iterator[str]:
    """The rule with every placeholder hostile, and with any(...) kept valid so handlers are reached."""
    for segment in SEGMENTS:
        yield _PLACEHOLDER.sub(lambda found, s=segment: s, rule)
        yield _PLACEHOLDER.sub(
            lambda found, s=segment: _options(found["args"])[0] if found["converter"] == "any" else s, rule
        )


@BOTH_DATABASES
def test_the_sweep_hostile_requests_to_every_route(app, client, stored):
    sweep = Sweep(client)
    adapter = app.url_map.bind("localhost")
    rules = list(app.url_map.iter_rules())
    assert len(rules) >= 15
    for rule in rules:
        for path in dict.fromkeys(_hostile_paths(rule.rule)):
            try:
                allowed = adapter.allowed_methods(path)
            except Exception:  # pragma: no cover - werkzeug answers a list
                allowed = []
            for accept in ("application/json", "text/html"):
                for method in ("GET", "HEAD") if "GET" in rule.methods else ("POST",):
                    sweep.send(method, path, headers={"Accept": accept})
            for method in WRONG_METHODS:
                if method not in allowed:
                    answer = sweep.send(method, path, headers={"Accept": "application/json"})
                    if allowed and answer.status_code != 405:
                        sweep.problems.append(f"{method} {path[:90]}: {answer.status_code}, not 405")

    for name, make in RAW_BODIES.items():
        for accept in ("application/json", "text/html"):
            answer = sweep.send("POST", "/api/verify", expect_4xx=True, headers={"Accept": accept}, **make())
            if answer.mimetype != "application/problem+json":
                sweep.problems.append(f"POST /api/verify {name}: {answer.mimetype}")
        answer = sweep.send("POST", "/verify", expect_4xx=True, headers={"Accept": "text/html"}, **make())
        if answer.mimetype != "text/html":
            sweep.problems.append(f"POST /verify {name}: {answer.mimetype}")

    hostile_forms = {
        "file": [_BILLION_LAUGHS, _png(), _png(fmt="JPEG"), bytes(range(256)), _DEEP.encode(), b""],
        "credential": [_DEEP, _DEEP_OBJECT, "[]", "{", "a.b.c", "null"],
        "url": [
            "http://169.254.169.254/",
            "file:///etc/passwd",
            "not a url",
            f"{BASE}/credentials/{uuid.uuid4()}",
        ],
    }
    for field, values in hostile_forms.items():
        for value in values:
            form = {field: (io.BytesIO(value), "upload.bin")} if field == "file" else {field: value}
            answer = sweep.send(
                "POST", "/verify", expect_4xx=True, data=form, content_type="multipart/form-data"
            )
            page = answer.get_data(as_text=True)
            shown = "Not verified" in page or 'role="alert"' in page
            if not shown:
                sweep.problems.append(f"POST /verify {field}={value[:20]!r}: no report and no error shown")

    assert sweep.sent > 1000
    assert sweep.problems == []


def test_the_sweep_catches_a_server_error(app):
    """The sweep's own negative twin: an endpoint that crashes is reported, not passed."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():  # pragma: no cover - called through the client
        raise RuntimeError("boom")

    sweep = Sweep(app.test_client())
    sweep.send("GET", "/boom", headers={"Accept": "application/json"})
    sweep.send("GET", "/verify", expect_4xx=True)
    assert len(sweep.problems) == 2
    assert "server error" in sweep.problems[0] and "not answered 4xx" in sweep.problems[1]
