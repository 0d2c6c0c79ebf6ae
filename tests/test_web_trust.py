"""What people can trust on the web: known issuers, negotiation, error forms, and hardened headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from badgeserver import bakery
from badgeserver.cli import main
from badgeserver.store import models as m
from badgeserver.web.services import services

pytestmark = pytest.mark.store

ACHIEVEMENT = Path(__file__).parent.parent / "examples" / "achievement.json"


@pytest.fixture()
def database_url(tmp_path, database_factory) -> Iterator[str]:
    """SQLite is enough for the web face."""
    yield from database_factory("sqlite", tmp_path, required=False)


@pytest.fixture()
def stored(app, earned_credential) -> tuple[str, str]:
    with services(app).db.read() as session:
        return earned_credential, session.get(m.Credential, earned_credential).signed_json


@pytest.fixture()
def impostor(tmp_path, monkeypatch) -> str:
    """A validly signed credential from a throwaway did:key that calls itself the board."""
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "impostor-keys"))
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "generate", "k"]).exit_code == 0
    out = tmp_path / "impostor.json"
    result = runner.invoke(
        main,
        ["issue", str(ACHIEVEMENT), "--recipient", "a@example.org", "--key", "k",
         "--issuer-name", "Utah State Board of Education", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    return out.read_text("utf-8")


def _check(report: dict, check_id: str) -> tuple[str, str]:
    found = next(c for c in report["checks"] if c["id"] == check_id)
    return found["status"], found["code"]


def test_ver10_our_issuer_is_known(client, stored):
    _, signed = stored
    report = client.post("/api/verify", data=signed, content_type="application/json").json
    assert report["verified"] is True
    assert _check(report, "issuer.known") == ("passed", "issuer_known")
    assert report["headline"] == "This credential is authentic and valid."


def test_ver10_a_stranger_using_our_name_is_flagged(client, impostor):
    report = client.post("/api/verify", data=impostor, content_type="application/json").json
    assert _check(report, "proof.signature") == ("passed", "valid_signature")
    assert _check(report, "issuer.known") == ("warning", "issuer_unknown")
    issuer = json.loads(impostor)["issuer"]["id"]
    assert report["headline"] == (
        f"The signature is valid, but: The issuer {issuer} calls itself 'Utah State Board of Education' "
        "but is not one of this site's issuers; trust it only if you know that identifier."
    )
    page = client.post("/verify", data={"credential": impostor}, headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert "is not one of this site&#39;s issuers" in html
    assert issuer in html


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html;q=0.1, application/ld+json", "application/ld+json"),
        ("application/ld+json, text/html;q=0.5", "application/ld+json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("*/*", "application/ld+json"),
    ],
)
def test_quality_values_decide_page_or_document(client, stored, accept, expected):
    credential_id, _ = stored
    answer = client.get(f"/credentials/{credential_id}", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.mimetype == expected
    assert "Accept" in answer.headers["Vary"]


@pytest.mark.parametrize("accept", ["*/*", "application/vc", "text/html;q=0"])
def test_errors_are_problem_json_unless_html_was_asked_for(client, accept):
    answer = client.get("/credentials/00000000-0000-4000-8000-000000000000", headers={"Accept": accept})
    assert (answer.status_code, answer.mimetype) == (404, "application/problem+json")
    assert answer.json["detail"] == "There is no public credential with this id."


def test_unknown_address_has_one_sentence(client):
    answer = client.get("/api/nope")
    assert answer.json["detail"] == "There is nothing at this address."


def test_405_names_the_allowed_methods(client):
    answer = client.get("/api/verify")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "OPTIONS, POST"
    assert answer.json["detail"] == "This address does not accept that method."


def test_svg_images_are_sandboxed_and_documents_are_readable_anywhere(client, stored):
    credential_id, _ = stored
    svg = client.get(f"/credentials/{credential_id}.svg")
    assert svg.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert bakery.extract(svg.data).text == stored[1]
    for path in (f"/credentials/{credential_id}.json", "/issuers/usbe", "/achievements/crosscutting-concepts/v1"):
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*", path


def test_own_host_urls_never_go_to_the_network(client, stored):
    credential_id, _ = stored
    upper = client.post("/api/verify", json={"url": f"http://localhost:5000/credentials/{credential_id.upper()}"})
    assert upper.status_code == 200 and upper.json["verified"] is True
    missing = client.post("/api/verify", json={"url": "http://localhost:5000/credentials/00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 400
    assert missing.json["detail"] == (
        "There is no public document at http://localhost:5000/credentials/00000000-0000-4000-8000-000000000000 "
        "on this server."
    )


@pytest.mark.parametrize("recipient", ["zoe", "x" * 100_000, "a\x00@b.org"])
def test_web_recipient_must_be_an_email(client, stored, recipient):
    _, signed = stored
    answer = client.post("/api/verify", json={"credential": signed, "recipient": recipient})
    assert answer.status_code == 400
    assert answer.json["detail"] == "The recipient is not an email address."
    page = client.post("/verify", data={"credential": signed, "recipient": recipient}, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert len(page.data) < 20_000


def test_too_large_and_too_deep_bodies(client):
    big = client.post("/api/verify", data=json.dumps({"a": "x" * (2 * 1024 * 1024)}), content_type="application/json")
    assert big.status_code == 400  # a JSON body that is not a credential object or wrapper
    huge = client.post("/api/verify", json={"credential": {"a": "x" * (2 * 1024 * 1024)}})
    assert (huge.status_code, huge.json["code"]) == (413, "input_too_large")
    deep = client.post("/api/verify", data='{"credential":' + "[" * 5000 + "]" * 5000 + "}", content_type="application/json")
    assert (deep.status_code, deep.json["detail"]) == (413, "The JSON is nested deeper than 64 levels.")
