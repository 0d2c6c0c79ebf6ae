"""Issuer keys over the years (KEY-*, DID-*): rotate, retire, revoke, reissue; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from badgeserver.program import key_lifecycle, transcripts
from badgeserver.program import submissions as sub
from badgeserver.program.key_lifecycle import KeyLifecycleError
from badgeserver.program.public import did_document
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services
from tests.conftest import earn_submission

pytestmark = pytest.mark.store

DID = "did:web:localhost%3A5000:issuers:usbe"


@pytest.fixture()
def staff(app: Any) -> int:
    with services(app).db.transaction() as session:
        return sub.create_person(
            session, email="staff@example.org", name="Stella Staff", staff=True, now=datetime.now(UTC)
        ).id


def run(app: Any, operation: Any, staff_id: int, **kwargs: Any) -> Any:
    svc = services(app)
    with svc.db.transaction() as session:
        found = operation(session, svc.issuing, svc.clock(), actor=session.get(m.Person, staff_id), **kwargs)
        if isinstance(found, list):
            return [getattr(item, "id", item) for item in found]
        return getattr(found, "key_name", found)


def keys(app: Any) -> list[tuple[str, str]]:
    with services(app).db.read() as session:
        return [(k.key_name, k.state) for k in session.scalars(select(m.IssuerKey).order_by(m.IssuerKey.id))]


def did_doc(client: Any) -> dict[str, Any]:
    answer = client.get("/issuers/usbe/did.json")
    assert answer.status_code == 200
    return json.loads(answer.data)


def method_of(app: Any, credential_id: str) -> str:
    with services(app).db.read() as session:
        return json.loads(session.get(m.Credential, credential_id).signed_json)["proof"][0][
            "verificationMethod"
        ]


def verify(app: Any, credential_id: str) -> r.Report:
    svc = services(app)
    with svc.db.read() as session:
        text = session.get(m.Credential, credential_id).signed_json
    return svc.verifier().verify_text(text)


def list_methods(client: Any) -> set[str]:
    methods = set()
    for path in ("/status/usbe/revocation/1",):
        methods.add(json.loads(client.get(path).data)["proof"][0]["verificationMethod"])
    return methods


def public_key(app: Any, name: str) -> str:
    with services(app).db.read() as session:
        return session.scalar(select(m.IssuerKey.public_key_multibase).where(m.IssuerKey.key_name == name))


def test_rotate_signs_new_credentials_and_lists_with_the_new_key(app, client, earn, staff):
    old = earn()
    assert keys(app) == [("issuer-usbe-1", "active")]
    assert run(app, key_lifecycle.rotate, staff, issuer_slug="usbe") == "issuer-usbe-2"
    assert keys(app) == [("issuer-usbe-1", "retired"), ("issuer-usbe-2", "active")]
    one, two = f"{DID}#{public_key(app, 'issuer-usbe-1')}", f"{DID}#{public_key(app, 'issuer-usbe-2')}"
    document = did_doc(client)
    assert [method["id"] for method in document["verificationMethod"]] == [two, one]
    assert document["assertionMethod"] == [two, one]  # the retired key still vouches for what it signed
    assert document["authentication"] == [two]
    assert list_methods(client) == {two}  # the status list was signed again with the new key

    new = earn()
    assert method_of(app, new) == two
    assert method_of(app, old) == one
    assert verify(app, old).verified is True
    assert verify(app, new).verified is True


def test_retire_keeps_the_key_published_and_makes_a_replacement(app, client, earn, staff):
    old = earn()
    assert run(app, key_lifecycle.retire, staff, key_name="issuer-usbe-1") == "issuer-usbe-2"
    assert keys(app) == [("issuer-usbe-1", "retired"), ("issuer-usbe-2", "active")]
    assert f"{DID}#{public_key(app, 'issuer-usbe-1')}" in did_doc(client)["assertionMethod"]
    assert verify(app, old).verified is True
    assert method_of(app, earn()) == f"{DID}#{public_key(app, 'issuer-usbe-2')}"
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.retire, staff, key_name="issuer-usbe-1")
    assert caught.value.message == "The key issuer-usbe-1 is retired; only an active key can be retired."


def test_revoke_withdraws_the_key_and_lists_what_it_signed(app, client, earn, staff):
    first, second = earn(), earn()
    signed = run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Laptop stolen.")
    assert sorted(signed) == sorted([first, second])
    assert keys(app) == [("issuer-usbe-1", "revoked"), ("issuer-usbe-2", "active")]
    gone = public_key(app, "issuer-usbe-1")
    document = did_doc(client)
    assert gone not in json.dumps(document)
    assert list_methods(client) == {f"{DID}#{public_key(app, 'issuer-usbe-2')}"}
    report = verify(app, first)
    assert report.verified is False
    assert report.status_of(r.PROOF_KEY) in (r.FAILED, r.ERROR)
    with services(app).db.read() as session:
        entry = session.scalar(
            select(m.AuditEntry).where(m.AuditEntry.action == "key.revoked").order_by(m.AuditEntry.id.desc())
        )
        assert entry.before["reason"] == "Laptop stolen." and entry.after["state"] == "revoked"
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Again.")
    assert caught.value.message == "The key issuer-usbe-1 is already revoked."


def test_reissue_re_signs_with_the_current_key_and_revokes_the_old(app, client, earn, staff):
    old = earn(email="ana@example.org")
    with services(app).db.read() as session:
        before = json.loads(session.get(m.Credential, old).signed_json)
        submission_id = session.get(m.Credential, old).submission_id
    run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Compromised.")
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.reissue, staff, key_name="issuer-usbe-2")
    assert caught.value.message == "The key issuer-usbe-2 is active; its credentials still verify."

    done = run(app, key_lifecycle.reissue, staff)
    assert len(done) == 1 and done[0].old_id == old
    new = done[0].new_id
    with services(app).db.read() as session:
        old_row, new_row = session.get(m.Credential, old), session.get(m.Credential, new)
        after = json.loads(new_row.signed_json)
        assert old_row.revoked_at is not None and old_row.submission_id is None
        assert old_row.revocation_reason == f"Reissued as {new}: the key that signed it was revoked."
        assert new_row.submission_id == submission_id and new_row.replaces_id == old
        assert new_row.issued_at == old_row.issued_at
        person = session.scalar(select(m.Person).where(m.Person.email == "ana@example.org"))
        record = transcripts.transcript(session, person, services(app).urls)
        assert [row.credential_id for row in record.rows] == [new]
    # Same achievement, earner and award date; a new id, status index and proof.
    for key in ("credentialSubject", "issuer", "validFrom", "awardedDate", "name", "evidence"):
        assert after[key] == before[key], key
    assert after["id"] == f"http://localhost:5000/credentials/{new}" != before["id"]
    assert after["proof"][0]["verificationMethod"] == f"{DID}#{public_key(app, 'issuer-usbe-2')}"
    assert verify(app, new).verified is True
    assert run(app, key_lifecycle.reissue, staff) == []  # nothing left to reissue


def earn_the_stack(app: Any, earn: Any) -> tuple[list[str], str, str]:
    """One educator earns both members of the "methods" stack: (components, stack, bundle)."""
    parts = [earn("student-sensemaking", email="s@example.org")]
    svc = services(app)
    now = datetime.now(UTC)
    with svc.db.transaction() as session:
        person = session.scalar(select(m.Person).where(m.Person.email == "s@example.org"))
        reviewer = session.scalar(select(m.Person).where(m.Person.email == "reviewer@example.org"))
        outcome = earn_submission(svc, session, person, reviewer, "instructional-models", now)
        parts.append(outcome.credential.id)
        composites = {row.kind: row.id for row in outcome.composites}
    return parts, composites["stack"], composites["bundle"]


def test_reissued_stacks_name_their_reissued_components(app, earn, staff):
    parts, stack_id, bundle_id = earn_the_stack(app, earn)
    svc = services(app)
    run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Compromised.")
    done = run(app, key_lifecycle.reissue, staff)
    renamed = {item.old_id: item.new_id for item in done}
    assert set(renamed) == {*parts, stack_id, bundle_id}
    with svc.db.read() as session:
        stack = session.get(m.Credential, renamed[stack_id])
        document = json.loads(stack.signed_json)
        related = {item["id"] for item in document["relatedResource"]}
        assert related == {f"http://localhost:5000/credentials/{renamed[old]}" for old in parts}
        bundle = json.loads(session.get(m.Credential, renamed[bundle_id]).signed_json)
        assert [item["id"] for item in bundle["relatedResource"]] == [
            f"http://localhost:5000/credentials/{renamed[stack_id]}"
        ]
    assert verify(app, stack.id).verified is True


def test_a_suspendable_credential_stays_suspendable_and_suspended_when_reissued(app, earn, staff):
    from badgeserver.program import revocation

    svc = services(app)
    svc.issuing.suspension_entries = True
    old = earn()
    with svc.db.transaction() as session:
        revocation.change_status(
            session,
            svc.issuing,
            svc.clock(),
            action="suspend",
            selection=revocation.Selection(ids=(old,)),
            actor=session.get(m.Person, staff),
        )
    svc.issuing.suspension_entries = False  # the setting changed since
    run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Compromised.")
    [item] = run(app, key_lifecycle.reissue, staff)
    with svc.db.read() as session:
        new = session.get(m.Credential, item.new_id)
        assert new.suspension_list_id is not None and new.suspended_at is not None
        purposes = [entry["statusPurpose"] for entry in json.loads(new.signed_json)["credentialStatus"]]
        assert purposes == ["revocation", "suspension"]
    report = verify(app, item.new_id)
    assert [(c.status, c.code) for c in report.checks if c.id == r.STATUS] == [
        (r.PASSED, "not_revoked"),
        (r.FAILED, "suspended"),
    ]


def test_the_page_of_a_credential_whose_key_was_revoked_says_so_and_links_its_replacement(
    app, client, earn, staff
):
    old = earn()
    run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="Compromised.")
    page = client.get(f"/credentials/{old}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "The key that signed this credential has been withdrawn by the issuer" in page
    assert "This credential is valid." not in page
    [item] = run(app, key_lifecycle.reissue, staff)
    page = client.get(f"/credentials/{old}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'A new credential replaces this one: <a href="/credentials/{item.new_id}">' in page
    with services(app).db.read() as session:
        message = session.scalar(select(m.OutboxMessage).order_by(m.OutboxMessage.id.desc()))
        assert message.subject == "Your credential was issued again with a new key"
        assert f"http://localhost:5000/credentials/{item.new_id}" in message.body


def test_an_interrupted_rotation_leaves_a_key_file_that_the_next_one_takes_up(app, imported, staff):
    svc = services(app)
    orphan = svc.issuing.keystore.generate("issuer-usbe-1", now=datetime.now(UTC))  # written, never recorded
    run(app, key_lifecycle.rotate, staff, issuer_slug="usbe")
    assert keys(app) == [("issuer-usbe-1", "active")]
    assert public_key(app, "issuer-usbe-1") == orphan.public_key_multibase


def test_key_operations_refuse_unknown_names_and_non_staff(app, earn, staff):
    earn(email="e@example.org")
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.retire, staff, key_name="nope")
    assert caught.value.message == "There is no issuer key named nope."
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.rotate, staff, issuer_slug="nobody")
    assert caught.value.message == "There is no issuer nobody."
    with pytest.raises(KeyLifecycleError) as caught:
        run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-1", reason="  ")
    assert caught.value.message == "Give the reason for revoking the key; it is kept in the audit log."
    with services(app).db.read() as session:
        educator = session.scalar(select(m.Person.id).where(m.Person.email == "e@example.org"))
    for operation, kwargs in (
        (key_lifecycle.rotate, {"issuer_slug": "usbe"}),
        (key_lifecycle.retire, {"key_name": "issuer-usbe-1"}),
        (key_lifecycle.revoke, {"key_name": "issuer-usbe-1", "reason": "x"}),
        (key_lifecycle.reissue, {}),
    ):
        with pytest.raises(sub.Forbidden):
            run(app, operation, educator, **kwargs)
    assert keys(app) == [("issuer-usbe-1", "active")]


def test_did_document_publishes_active_and_retired_keys_only(app, earn, staff):
    earn()
    run(app, key_lifecycle.rotate, staff, issuer_slug="usbe")
    run(app, key_lifecycle.rotate, staff, issuer_slug="usbe")
    run(app, key_lifecycle.revoke, staff, key_name="issuer-usbe-2", reason="Leaked.")
    svc = services(app)
    with svc.db.read() as session:
        issuer = session.scalar(select(m.Issuer).where(m.Issuer.slug == "usbe"))
        document = did_document(issuer, svc.issuing)
    names = {public_key(app, f"issuer-usbe-{n}"): n for n in (1, 2, 3)}
    listed = [names[method["publicKeyMultibase"]] for method in document["verificationMethod"]]
    assert listed == [3, 1]
