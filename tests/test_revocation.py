"""Revoke, suspend, reinstate and expire issued credentials (STAT-1..STAT-6), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from badgeserver import bitstring
from badgeserver.errors import InputError
from badgeserver.program import catalog_admin, revocation, transcripts
from badgeserver.program import submissions as sub
from badgeserver.program.public import credential_state
from badgeserver.program.revocation import Selection, StatusChangeError
from badgeserver.program.submissions import Forbidden
from badgeserver.program.urls import Urls
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services

pytestmark = pytest.mark.store

BASE = "http://localhost:5000"
URLS = Urls(BASE)
REVOCATION_LIST = f"{BASE}/status/usbe/revocation/1"
SUSPENSION_LIST = f"{BASE}/status/usbe/suspension/1"
VECTOR_INDEX = 94567  # ../shared/reference bitstring-status-list expected.json: byte 11820, mask 0x01


@pytest.fixture()
def staff(app: Any) -> int:
    with services(app).db.transaction() as session:
        person = sub.create_person(
            session, email="staff@example.org", name="Stella Staff", staff=True, now=datetime.now(UTC)
        )
        return person.id


@pytest.fixture()
def suspendable(app: Any) -> Any:
    """Credentials issued from here on carry a suspension entry too (CREDENTIAL_STATUS=revocation+suspension)."""
    services(app).issuing.suspension_entries = True
    return app


def change(app: Any, staff_id: int, action: str, selection: Selection, reason: str | None = None) -> Any:
    svc = services(app)
    with svc.db.transaction() as session:
        return revocation.change_status(
            session,
            svc.issuing,
            svc.clock(),
            action=action,
            selection=selection,
            actor=session.get(m.Person, staff_id),
            reason=reason,
        )


def status_checks(app: Any, credential_id: str) -> list[tuple[str, str]]:
    svc = services(app)
    with svc.db.read() as session:
        text = session.get(m.Credential, credential_id).signed_json
    report = svc.verifier().verify_text(text)
    return [(c.status, c.code) for c in report.checks if c.id == r.STATUS]


def verify(app: Any, credential_id: str) -> r.Report:
    svc = services(app)
    with svc.db.read() as session:
        text = session.get(m.Credential, credential_id).signed_json
    return svc.verifier().verify_text(text)


def served_list(client: Any, url: str) -> tuple[dict[str, Any], Any]:
    answer = client.get(url.removeprefix(BASE))
    assert answer.status_code == 200
    return json.loads(answer.data), answer


def document(app: Any, credential_id: str) -> dict[str, Any]:
    with services(app).db.read() as session:
        return json.loads(session.get(m.Credential, credential_id).signed_json)


# --- STAT-1, STAT-2, STAT-4: entries and exact bits ---------------------------------------------------


def test_stat1_entry_and_stat4_exact_bit_of_a_revocation(app, client, earn, staff, vectors):
    expected = json.loads((vectors / "bitstring-status-list" / "expected.json").read_text())
    services(app).issuing.random_index = lambda size: VECTOR_INDEX
    credential_id = earn()
    entry = document(app, credential_id)["credentialStatus"]
    assert entry == {
        "id": f"{REVOCATION_LIST}#{VECTOR_INDEX}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(VECTOR_INDEX),
        "statusListCredential": REVOCATION_LIST,
    }
    before, _ = served_list(client, REVOCATION_LIST)
    assert before["credentialSubject"]["encodedList"] == expected["encodedList"]  # the empty 131,072 list

    result = change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Evidence was plagiarised.")
    assert result.changed == [credential_id] and result.lists_signed == [REVOCATION_LIST]

    after, _ = served_list(client, REVOCATION_LIST)
    bits = bitstring.decode(after["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == expected["decompressedLengthBits"] == 131_072
    byte, mask = expected["derivedCheck"]["byte"], int(expected["derivedCheck"]["mask"], 16)
    assert (byte, mask) == (11820, 0x01)
    assert bits[byte] == mask
    assert sum(bin(value).count("1") for value in bits) == 1  # nothing else set
    assert after["credentialSubject"]["ttl"] == 300_000
    assert after["proof"][0]["verificationMethod"] == before["proof"][0]["verificationMethod"]


def test_stat2_indexes_are_random_and_never_reused(app, earn):
    picks = iter([7, 7, 7, 9])
    services(app).issuing.random_index = lambda size: next(picks)
    first, second = earn(), earn()
    with services(app).db.read() as session:
        assert session.get(m.Credential, first).status_index == 7
        assert session.get(m.Credential, second).status_index == 9  # 7 was taken: drawn again


def test_stat6_revoked_is_reported_by_the_verifier_and_the_page(app, client, earn, staff):
    credential_id = earn()
    assert status_checks(app, credential_id) == [(r.PASSED, "not_revoked")]
    change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Issued in error.")
    report = verify(app, credential_id)
    assert [(c.status, c.code) for c in report.checks if c.id == r.STATUS] == [(r.FAILED, "revoked")]
    assert report.status_of(r.PROOF_SIGNATURE) == r.PASSED  # the signature is still good
    assert report.verified is False
    assert report.headline() == "The issuer has revoked this credential."
    page = client.get(f"/credentials/{credential_id}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "The issuer revoked this credential on" in page


def test_the_reason_for_a_revocation_is_never_published(app, client, earn, staff):
    credential_id = earn()
    reason = "Secret-reason-4711 found by the audit."
    change(app, staff, "revoke", Selection(ids=(credential_id,)), reason=reason)
    with services(app).db.read() as session:
        row = session.get(m.Credential, credential_id)
        assert row.revocation_reason == reason
    for path in (
        f"/credentials/{credential_id}",
        f"/credentials/{credential_id}.json",
        "/status/usbe/revocation/1",
        "/issuers/usbe/did.json",
    ):
        for accept in ("text/html", "application/ld+json"):
            body = client.get(path, headers={"Accept": accept}).get_data(as_text=True)
            assert "Secret-reason-4711" not in body, path


def test_status_list_is_cached_briefly_and_signed_again_only_when_a_bit_changes(app, client, earn, staff):
    credential_id = earn()
    first, answer = served_list(client, REVOCATION_LIST)
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    etag = answer.headers["ETag"]
    assert client.get("/status/usbe/revocation/1", headers={"If-None-Match": etag}).status_code == 304
    # Nothing changes: same bytes, same ETag.
    assert served_list(client, REVOCATION_LIST)[1].headers["ETag"] == etag

    change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Issued in error.")
    second, answer = served_list(client, REVOCATION_LIST)
    assert answer.headers["ETag"] != etag
    with services(app).db.read() as session:
        signed = session.scalar(select(m.StatusList.signed_json).where(m.StatusList.purpose == "revocation"))
    # Revoking again changes no bit: the list is not signed again.
    again = change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Again.")
    assert again.changed == [] and again.unchanged == [(credential_id, "is already revoked")]
    assert again.lists_signed == []
    with services(app).db.read() as session:
        assert (
            session.scalar(select(m.StatusList.signed_json).where(m.StatusList.purpose == "revocation"))
            == signed
        )
    assert second["proof"] != first["proof"]


# --- suspension -------------------------------------------------------------------------------------


def test_default_credentials_carry_one_status_object_and_cannot_be_suspended(app, earn, staff):
    credential_id = earn()
    assert isinstance(document(app, credential_id)["credentialStatus"], dict)  # OB 3.0: 0..1 (DM-23)
    result = change(app, staff, "suspend", Selection(ids=(credential_id,)))
    assert result.changed == []
    assert result.unchanged == [
        (
            credential_id,
            "carries no suspension entry (issued with CREDENTIAL_STATUS = revocation); revoke it instead",
        )
    ]


def test_suspend_then_reinstate(suspendable, client, earn, staff):
    app = suspendable
    services(app).issuing.random_index = lambda size: VECTOR_INDEX
    credential_id = earn()
    entries = document(app, credential_id)["credentialStatus"]
    assert [(e["statusPurpose"], e["statusListCredential"], e["statusListIndex"]) for e in entries] == [
        ("revocation", REVOCATION_LIST, str(VECTOR_INDEX)),
        ("suspension", SUSPENSION_LIST, str(VECTOR_INDEX)),
    ]
    report = verify(app, credential_id)
    assert report.verified is True
    assert [(c.status, c.code) for c in report.checks if c.id == r.STATUS] == [
        (r.PASSED, "not_revoked"),
        (r.PASSED, "not_suspended"),
    ]

    result = change(app, staff, "suspend", Selection(ids=(credential_id,)))
    assert result.changed == [credential_id] and result.lists_signed == [SUSPENSION_LIST]
    assert status_checks(app, credential_id) == [(r.PASSED, "not_revoked"), (r.FAILED, "suspended")]
    assert verify(app, credential_id).headline() == "The issuer has suspended this credential."
    suspended, _ = served_list(client, SUSPENSION_LIST)
    assert bitstring.decode(suspended["credentialSubject"]["encodedList"])[11820] == 0x01
    revoked, _ = served_list(client, REVOCATION_LIST)
    assert bitstring.decode(revoked["credentialSubject"]["encodedList"])[11820] == 0x00
    page = client.get(f"/credentials/{credential_id}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "The issuer suspended this credential on" in page

    assert change(app, staff, "suspend", Selection(ids=(credential_id,))).unchanged == [
        (credential_id, "is already suspended")
    ]
    result = change(app, staff, "reinstate", Selection(ids=(credential_id,)))
    assert result.changed == [credential_id]
    assert status_checks(app, credential_id) == [(r.PASSED, "not_revoked"), (r.PASSED, "not_suspended")]
    cleared, _ = served_list(client, SUSPENSION_LIST)
    assert bitstring.decode(cleared["credentialSubject"]["encodedList"]) == bytes(16384)
    assert change(app, staff, "reinstate", Selection(ids=(credential_id,))).unchanged == [
        (credential_id, "is not suspended")
    ]


def test_revocation_is_permanent(suspendable, earn, staff):
    app = suspendable
    credential_id = earn()
    change(app, staff, "suspend", Selection(ids=(credential_id,)))
    change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Fraud.")
    for action in ("reinstate", "suspend"):
        result = change(app, staff, action, Selection(ids=(credential_id,)))
        assert result.unchanged == [(credential_id, "is revoked, which is permanent")]
    assert status_checks(app, credential_id) == [(r.FAILED, "revoked"), (r.FAILED, "suspended")]


# --- many at once, refusals, audit ---------------------------------------------------------------------


def test_bulk_selection_by_earner_by_microcredential_and_by_ids(app, earn, staff):
    ana_cc = earn("crosscutting-concepts", email="ana@example.org")
    ana_ss = earn("student-sensemaking", email="ana2@example.org")
    bo_cc = earn("crosscutting-concepts", email="bo@example.org")
    with services(app).db.read() as session:
        found = revocation.select_credentials(session, Selection(microcredential="crosscutting-concepts"), URLS)
        assert sorted(row.id for row in found) == sorted([ana_cc, bo_cc])
        found = revocation.select_credentials(
            session, Selection(earner_email="ANA@example.org ", microcredential="crosscutting-concepts"), URLS
        )
        assert [row.id for row in found] == [ana_cc]
        found = revocation.select_credentials(session, Selection(ids=(ana_ss.upper(), bo_cc)), URLS)
        assert sorted(row.id for row in found) == sorted([ana_ss, bo_cc])
    result = change(
        app, staff, "revoke", Selection(microcredential="crosscutting-concepts"), reason="Rubric error."
    )
    assert sorted(result.changed) == sorted([ana_cc, bo_cc])
    assert result.lists_signed == [REVOCATION_LIST]  # one list, signed once for both
    assert status_checks(app, ana_ss) == [(r.PASSED, "not_revoked")]
    assert status_checks(app, bo_cc) == [(r.FAILED, "revoked")]


@pytest.mark.parametrize(
    ("action", "selection", "reason", "message"),
    [
        ("revoke", Selection(), "x", "Name the credentials: by id, by earner, or by microcredential."),
        ("revoke", Selection(ids=("nope",)), "x", "'nope' is not a credential id."),
        (
            "revoke",
            Selection(
                ids=("00000000-0000-4000-8000-000000000001", "urn:uuid:00000000-0000-4000-8000-000000000002")
            ),
            "x",
            "There is no credential 00000000-0000-4000-8000-000000000001, 00000000-0000-4000-8000-000000000002.",
        ),
        ("revoke", Selection(ids=("a\x00b",)), "x", "'a\\x00b' is not a credential id."),
        (
            "revoke",
            Selection(earner_email="a\x00@example.org"),
            "x",
            "'a\\x00@example.org' is not an email address.",
        ),
        ("revoke", Selection(microcredential="Bad Slug"), "x", "'Bad Slug' is not a microcredential slug."),
        (
            "revoke",
            Selection(microcredential="crosscutting-concepts"),
            "a\x00b",
            "The reason holds control characters; write it as plain text.",
        ),
        (
            "revoke",
            Selection(earner_email="who@example.org"),
            "x",
            "There is no person with the email who@example.org.",
        ),
        ("revoke", Selection(microcredential="nothing"), "x", "There is no microcredential nothing."),
        (
            "revoke",
            Selection(microcredential="instructional-models"),
            "x",
            "No credential matches the selection.",
        ),
        (
            "revoke",
            Selection(microcredential="crosscutting-concepts"),
            None,
            "Give the reason for revoking; it is kept privately.",
        ),
        (
            "revoke",
            Selection(microcredential="crosscutting-concepts"),
            "  ",
            "Give the reason for revoking; it is kept privately.",
        ),
        (
            "revoke",
            Selection(microcredential="crosscutting-concepts"),
            "x" * 1001,
            "The reason is longer than 1000 characters.",
        ),
        (
            "delete",
            Selection(microcredential="crosscutting-concepts"),
            "x",
            "The action must be one of revoke, suspend, reinstate, not 'delete'.",
        ),
    ],
)
def test_bad_status_changes_are_refused_and_change_nothing(
    app, earn, staff, action, selection, reason, message
):
    credential_id = earn()
    with pytest.raises(StatusChangeError) as caught:
        change(app, staff, action, selection, reason=reason)
    assert caught.value.message == message
    assert status_checks(app, credential_id) == [(r.PASSED, "not_revoked")]


def test_only_staff_change_status(app, earn):
    credential_id = earn(email="self@example.org")
    with services(app).db.read() as session:
        educator = session.scalar(select(m.Person.id).where(m.Person.email == "self@example.org"))
    with pytest.raises(Forbidden):
        change(app, educator, "revoke", Selection(ids=(credential_id,)), reason="Mine.")
    assert status_checks(app, credential_id) == [(r.PASSED, "not_revoked")]


def test_each_change_is_audited(suspendable, earn, staff):
    app = suspendable
    credential_id = earn()
    change(app, staff, "suspend", Selection(ids=(credential_id,)))
    change(app, staff, "reinstate", Selection(ids=(credential_id,)))
    change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="Issued in error.")
    with services(app).db.read() as session:
        entries = session.scalars(
            select(m.AuditEntry)
            .where(
                m.AuditEntry.subject_id == credential_id, m.AuditEntry.action.not_like("credential.issued%")
            )
            .order_by(m.AuditEntry.id)
        ).all()
        assert [(e.action, e.actor_id, e.subject_type) for e in entries] == [
            ("credential.suspended", staff, "credentials"),
            ("credential.reinstated", staff, "credentials"),
            ("credential.revoked", staff, "credentials"),
        ]
        assert entries[0].before["suspended_at"] is None and entries[0].after["suspended_at"] is not None
        assert entries[2].after["reason"] == "Issued in error."


def test_revoked_credentials_leave_the_transcript_and_suspended_ones_stop_counting(suspendable, earn, staff):
    app = suspendable
    first = earn("crosscutting-concepts", email="t@example.org")
    with services(app).db.transaction() as session:
        educator = session.scalar(select(m.Person).where(m.Person.email == "t@example.org"))
    second = earn("student-sensemaking", email="t2@example.org")
    with services(app).db.transaction() as session:  # give the second credential to the same educator
        session.get(m.Credential, second).earner_id = educator.id
    change(app, staff, "suspend", Selection(ids=(second,)))
    with services(app).db.read() as session:
        record = transcripts.transcript(session, session.get(m.Person, educator.id), services(app).urls)
        assert [(row.credential_id, row.suspended) for row in record.rows] == [(first, False), (second, True)]
        assert transcripts.credit_text(record.total_credit) == "0.5"
    change(app, staff, "revoke", Selection(ids=(first,)), reason="Issued in error.")
    with services(app).db.read() as session:
        record = transcripts.transcript(session, session.get(m.Person, educator.id), services(app).urls)
        assert [row.credential_id for row in record.rows] == [second]
        assert transcripts.credit_text(record.total_credit) == "0"


# --- expiry -------------------------------------------------------------------------------------------


def test_validity_period_sets_valid_until_and_expiry_is_reported(app, client, earn, staff):
    svc = services(app)
    with svc.db.transaction() as session:
        version = catalog_admin.publish_version(
            session,
            session.get(m.Person, staff),
            "crosscutting-concepts",
            {"version": "2", "validity_days": 365},
            now=datetime.now(UTC),
        )
        assert version.validity_days == 365
    credential_id = earn()
    issued = document(app, credential_id)
    valid_from = datetime.fromisoformat(issued["validFrom"])
    assert datetime.fromisoformat(issued["validUntil"]) - valid_from == timedelta(days=365)
    assert verify(app, credential_id).verified is True

    later = valid_from + timedelta(days=366)
    svc.clock = lambda: later
    report = verify(app, credential_id)
    assert report.status_of(r.EXPIRY) == r.FAILED
    assert report.status_of(r.PROOF_SIGNATURE) == r.PASSED
    assert report.verified is False
    with svc.db.read() as session:
        state = credential_state(session.get(m.Credential, credential_id), later)
    day = (valid_from + timedelta(days=365)).strftime("%-d %B %Y")
    assert state.code == "expired"
    assert (
        state.sentence
        == f"This credential expired on {day}. It was validly earned and stays on the transcript."
    )
    page = client.get(f"/credentials/{credential_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200  # the page stays up
    assert f"This credential expired on {day}." in page.get_data(as_text=True)


@pytest.mark.parametrize("value", [0, -1, 36_501, "365", 1.5, True])
def test_validity_days_must_be_a_sensible_whole_number(app, imported, staff, value):
    with services(app).db.transaction() as session, pytest.raises(InputError) as caught:
        catalog_admin.publish_version(
            session,
            session.get(m.Person, staff),
            "crosscutting-concepts",
            {"validity_days": value},
            now=datetime.now(UTC),
        )
    assert "validity_days" in caught.value.message and "from 1 to 36500" in caught.value.message


def test_credentials_are_named_by_id_urn_or_url(app, earn, staff):
    credential_id = earn()
    with services(app).db.read() as session:
        for value in (
            credential_id.upper(),
            f"urn:uuid:{credential_id}",
            f"{BASE}/credentials/{credential_id}",
            f"{BASE}/credentials/{credential_id}.json",
        ):
            found = revocation.select_credentials(session, Selection(ids=(value,)), URLS)
            assert [row.id for row in found] == [credential_id]


@pytest.mark.parametrize(
    "prefix",
    [
        "https://elsewhere.example/credentials/",
        "http://localhost:5001/credentials/",
        "https://localhost:5000/credentials/",
        "http://localhost:5000/other/credentials/",
    ],
)
def test_a_url_of_another_site_names_no_credential_here(app, earn, staff, prefix):
    credential_id = earn()
    value = prefix + credential_id
    with pytest.raises(StatusChangeError) as caught:
        change(app, staff, "revoke", Selection(ids=(value,)), reason="Pasted from another site.")
    shown = value if len(value) <= 60 else value[:60] + "…"
    assert caught.value.message == (
        f"'{shown}' is not a credential of this site (its URLs begin http://localhost:5000/credentials/)."
    )
    with services(app).db.read() as session:
        assert session.get(m.Credential, credential_id).revoked_at is None


def test_revoking_a_component_revokes_the_stack_and_bundle_built_on_it(app, earn, staff):
    from tests.test_key_lifecycle import earn_the_stack

    parts, stack, bundle = earn_the_stack(app, earn)
    result = change(app, staff, "revoke", Selection(ids=(parts[0],)), reason="Evidence was not her own.")
    assert result.changed == [parts[0], stack, bundle]
    assert result.cascaded == [stack, bundle]
    for credential_id in (parts[0], stack, bundle):
        assert status_checks(app, credential_id) == [(r.FAILED, "revoked")]
    assert status_checks(app, parts[1]) == [(r.PASSED, "not_revoked")]
    with services(app).db.read() as session:
        reasons = {cid: session.get(m.Credential, cid).revocation_reason for cid in (stack, bundle)}
        assert reasons == {
            stack: f"A credential it was composed from was revoked ({parts[0]}).",
            bundle: f"A credential it was composed from was revoked ({stack}).",
        }
        message = session.scalar(select(m.OutboxMessage).order_by(m.OutboxMessage.id.desc()))
        assert message.subject == "Your credentials were revoked"
        assert "Evidence was not her own." not in message.body
        assert f"{BASE}/credentials/{bundle}" in message.body


def test_a_revoked_microcredential_can_be_earned_again(app, earn, staff):
    first = earn(email="again@example.org")
    change(app, staff, "revoke", Selection(ids=(first,)), reason="Rubric error.")
    with services(app).db.transaction() as session:
        educator = session.scalar(select(m.Person).where(m.Person.email == "again@example.org"))
        submission = sub.start_submission(session, educator, "crosscutting-concepts", now=datetime.now(UTC))
        assert submission.state == "draft"


def test_concurrent_changes_of_one_credential_are_applied_once(app, earn, staff, database_url):
    """Rows are re-read under the lock: a second revocation sees the first and changes nothing."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite writers begin IMMEDIATE, so a writer never holds rows read before another commit")
    credential_id = earn()
    svc = services(app)
    with svc.db.read() as session:  # not a writer yet, so the other revocation can commit meanwhile
        stale = session.get(m.Credential, credential_id)
        assert stale.revoked_at is None  # loaded before the other revocation commits
        change(app, staff, "revoke", Selection(ids=(credential_id,)), reason="First.")
        result = revocation.change_status(
            session,
            svc.issuing,
            svc.clock(),
            action="revoke",
            selection=Selection(ids=(credential_id,)),
            actor=session.get(m.Person, staff),
            reason="Second.",
        )
        assert result.changed == [] and result.unchanged == [(credential_id, "is already revoked")]
