"""Revocation and the key lifecycle through the CLI, the JSON API and the staff page."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from badgeserver.cli import main
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services
from tests.support.flow_people import Browser, add_people, token_for

pytestmark = pytest.mark.store


@pytest.fixture()
def people(app: Any, imported: Any) -> dict[str, int]:
    return add_people(app)


@pytest.fixture()
def cli(tmp_path, database_url, monkeypatch) -> Any:
    monkeypatch.setenv("BADGESERVER_DATABASE_URL", database_url)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))

    def invoke(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(main, [*args, "--instance", str(tmp_path / "instance")], input=stdin)

    return invoke


def status_of(app: Any, credential_id: str) -> list[tuple[str, str]]:
    svc = services(app)
    with svc.db.read() as session:
        text = session.get(m.Credential, credential_id).signed_json
    return [(c.status, c.code) for c in svc.verifier().verify_text(text).checks if c.id == r.STATUS]


STAFF = "stella@example.org"


def test_credentials_commands(app, people, earn, cli, tmp_path):
    ana = earn("crosscutting-concepts", email="one@example.org")
    ben = earn("student-sensemaking", email="two@example.org")
    done = cli("credentials", "revoke", ana, "--reason", "Plagiarised evidence.", "--actor", STAFF)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [f"Revoked {ana}", "Revoked 1 credential; 1 status list signed again."]
    assert status_of(app, ana) == [(r.FAILED, "revoked")]

    again = cli("credentials", "revoke", ana, "--reason", "Again.", "--actor", STAFF)
    assert again.exit_code == 2
    assert again.stderr == f"badgeserver: Nothing changed: {ana} is already revoked.\n"
    suspend = cli("credentials", "suspend", "--earner", "two@example.org", "--actor", STAFF)
    assert suspend.exit_code == 2
    assert suspend.stderr == (
        f"badgeserver: Nothing changed: {ben} carries no suspension entry "
        "(issued with CREDENTIAL_STATUS = revocation); revoke it instead.\n"
    )
    for args, message in (
        (("revoke", ben, "--actor", STAFF), "Give the reason for revoking; it is kept privately."),
        (
            ("revoke", ben, "--reason", "x", "--actor", "ana@example.org"),
            "ana@example.org is not active program staff.",
        ),
        (
            ("revoke", "--reason", "x", "--actor", STAFF),
            "Name the credentials: by id, by earner, or by microcredential.",
        ),
        (
            ("revoke", "--microcredential", "nope", "--reason", "x", "--actor", STAFF),
            "There is no microcredential nope.",
        ),
        (("revoke", "--ids-file", str(tmp_path / "missing.txt"), "--reason", "x", "--actor", STAFF), None),
    ):
        refused = cli("credentials", *args)
        assert refused.exit_code == 2, refused.output
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("badgeserver: ")
        if message:
            assert refused.stderr == f"badgeserver: {message}\n"
    assert status_of(app, ben) == [(r.PASSED, "not_revoked")]

    ids = tmp_path / "ids.txt"
    ids.write_text(f"# to revoke\n{ben}\n\n", "utf-8")
    from_file = cli(
        "credentials", "revoke", "--ids-file", str(ids), "--reason", "Rubric error.", "--actor", STAFF
    )
    assert from_file.exit_code == 0, from_file.output
    assert status_of(app, ben) == [(r.FAILED, "revoked")]


def test_key_commands(app, people, earn, cli):
    old = earn(email="k@example.org")
    rotated = cli("keys", "rotate", "--issuer", "usbe", "--actor", STAFF)
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.startswith(
        "New key issuer-usbe-2 signs for usbe from now on: did:web:localhost%3A5000"
    )
    retired = cli("keys", "retire", "issuer-usbe-2", "--actor", STAFF)
    assert retired.exit_code == 0, retired.output
    assert retired.stdout.splitlines() == [
        "Retired issuer-usbe-2; it signs nothing new and stays published.",
        "New key issuer-usbe-3 signs from now on.",
    ]
    revoked = cli("keys", "revoke", "issuer-usbe-1", "--reason", "Laptop stolen.", "--actor", STAFF)
    assert revoked.exit_code == 0, revoked.output
    lines = revoked.stdout.splitlines()
    assert lines[0] == "Revoked issuer-usbe-1: it is no longer in the DID document."
    assert lines[1] == "Key issuer-usbe-3 signs from now on."
    assert lines[2].startswith(f"http://localhost:5000/credentials/{old}  microcredential")
    assert lines[-1] == (
        "1 credential signed by it no longer verify; `badgeserver reissue` issues them again with the current key."
    )
    dry = cli("reissue", "--dry-run", "--actor", STAFF)
    assert dry.stdout.splitlines() == [f"Would reissue {old}", "1 credential to reissue."]
    reissued = cli("reissue", "--actor", STAFF)
    assert reissued.exit_code == 0, reissued.output
    assert reissued.stdout.splitlines()[-1] == "Reissued 1 credential; the old ones are revoked."
    with services(app).db.read() as session:
        new = session.scalar(select(m.Credential.id).where(m.Credential.replaces_id == old))
    assert status_of(app, new) == [(r.PASSED, "not_revoked")]
    nothing = cli("reissue", "--actor", STAFF)
    assert (nothing.exit_code, nothing.stderr) == (
        2,
        "badgeserver: Nothing to reissue: no unrevoked credential was signed by a revoked key.\n",
    )
    listing = cli("keys", "issuers").stdout.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["usbe", "issuer-usbe-1", "revoked"],
        ["usbe", "issuer-usbe-2", "retired"],
        ["usbe", "issuer-usbe-3", "active"],
    ]
    for args, message in (
        (("keys", "retire", "nope", "--actor", STAFF), "There is no issuer key named nope."),
        (
            ("keys", "revoke", "issuer-usbe-1", "--reason", "x", "--actor", STAFF),
            "The key issuer-usbe-1 is already revoked.",
        ),
        (
            ("keys", "rotate", "--issuer", "usbe", "--actor", "ana@example.org"),
            "ana@example.org is not active program staff.",
        ),
    ):
        refused = cli(*args)
        assert (refused.exit_code, refused.stderr) == (2, f"badgeserver: {message}\n")


def test_commands_refuse_a_missing_instance_and_escape_what_they_echo(app, people, earn, tmp_path):
    missing = tmp_path / "no-such-instance"
    result = CliRunner().invoke(
        main, ["credentials", "revoke", "x", "--reason", "x", "--actor", STAFF, "--instance", str(missing)]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"badgeserver: There is no badgeserver instance at {missing}; give --instance (see badgeserver init).\n"
    )
    assert not missing.exists()  # nothing was created


def test_ids_are_echoed_safely(app, people, earn, cli):
    bell = cli("credentials", "revoke", "ab\x07\x1b[31mcd", "--reason", "x", "--actor", STAFF)
    assert bell.exit_code == 2
    assert bell.stderr == "badgeserver: 'ab\\x07\\x1b[31mcd' is not a credential id.\n"
    long = cli("credentials", "revoke", "y" * 100_000, "--reason", "x", "--actor", STAFF)
    assert long.exit_code == 2 and len(long.stderr) < 200


def test_status_api(app, people, earn):
    credential_id = earn()
    client = app.test_client()
    staff = {"Authorization": f"Bearer {token_for(app, 'staff', ('credentials:revoke',))}"}
    other = {"Authorization": f"Bearer {token_for(app, 'owner')}"}
    url = "/api/v1/credentials/revoke"
    refused = client.post(url, json={"ids": [credential_id], "reason": "x"}, headers=other)
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    for body, detail in (
        ({"ids": [credential_id]}, "Give the reason for revoking; it is kept privately."),
        ({"ids": credential_id, "reason": "x"}, "ids must be a list of credential ids."),
        ({"earner": 7, "reason": "x"}, "earner must be text."),
        ({"reason": "x"}, "Name the credentials: by id, by earner, or by microcredential."),
    ):
        bad = client.post(url, json=body, headers=staff)
        assert (bad.status_code, bad.get_json()["detail"]) == (400, detail)
    assert client.post("/api/v1/credentials/delete", json={}, headers=staff).status_code == 404
    for raw, detail in (
        (
            b'{"ids": ["\\ud800"], "reason": "r"}',
            "The request body holds text that is not valid Unicode (a surrogate).",
        ),
        (
            b'{"ids": ["a\\u0000b"], "reason": "r"}',
            "The request body holds a NUL character (\\u0000), which no text accepts.",
        ),
    ):
        bad = client.post(url, data=raw, headers=staff | {"Content-Type": "application/json"})
        assert (bad.status_code, bad.get_json()["detail"]) == (400, detail)
    done = client.post(url, json={"ids": [credential_id], "reason": "Issued in error."}, headers=staff)
    assert done.status_code == 200
    assert done.get_json() == {
        "action": "revoke",
        "changed": [credential_id],
        "unchanged": [],
        "lists_signed": ["http://localhost:5000/status/usbe/revocation/1"],
    }
    again = client.post("/api/v1/credentials/reinstate", json={"ids": [credential_id]}, headers=staff)
    assert again.get_json()["unchanged"] == [{"id": credential_id, "why": "is revoked, which is permanent"}]
    assert status_of(app, credential_id) == [(r.FAILED, "revoked")]


def test_staff_credentials_page(app, people, earn):
    credential_id = earn(email="page@example.org")
    stella = Browser(app).sign_in("staff")
    page = stella.text("/staff/credentials?earner=page@example.org")
    assert credential_id in page and "<td>valid" in page
    assert "1 credential; tick those to change</caption>" in page
    assert f'id="c-{credential_id}">' in page  # nothing is ticked for the staff member
    missing = stella.post(
        "/staff/credentials", {"credential": credential_id, "action": "revoke", "earner": "page@example.org"}
    )
    assert missing.status_code == 400
    assert "Give the reason for revoking; it is kept privately." in missing.get_data(as_text=True)
    nothing = stella.post("/staff/credentials", {"action": "revoke", "reason": "x"})
    assert nothing.status_code == 400 and "Tick at least one credential." in nothing.get_data(as_text=True)
    done = stella.post(
        "/staff/credentials",
        {
            "credential": credential_id,
            "action": "revoke",
            "reason": "Issued in error.",
            "earner": "page@example.org",
        },
    )
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/staff/credentials?earner=page@example.org")
    after = stella.text("/staff/credentials?earner=page@example.org")
    assert (
        "Revoked 1 credential." in after and "<td>revoked" in after and "(reason: Issued in error.)" in after
    )
    assert status_of(app, credential_id) == [(r.FAILED, "revoked")]
    ana = Browser(app).sign_in("owner")
    assert ana.get("/staff/credentials").status_code == 403
    assert (
        ana.post("/staff/credentials", {"credential": credential_id, "action": "reinstate"}).status_code
        == 403
    )
    unknown = stella.get("/staff/credentials?ids=nope")
    assert unknown.status_code == 400 and "&#39;nope&#39; is not a credential id." in unknown.get_data(as_text=True)
    for query in ("earner=%00", "ids=a%00b", "microcredential=a%00"):  # NUL never reaches PostgreSQL
        assert stella.get(f"/staff/credentials?{query}").status_code == 400
