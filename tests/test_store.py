"""The store on SQLite and PostgreSQL: migrations, constraints, and the one-transaction issue-on-earn."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from badgeserver.program import evidence, issuing
from badgeserver.program import submissions as sub
from badgeserver.store import models as m
from badgeserver.store.db import Database
from badgeserver.store.migrate import downgrade, upgrade
from badgeserver.store.models import Base
from badgeserver.web.services import services

pytestmark = pytest.mark.store

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture()
def bare_db(database_url):
    """A Database over the empty database, not yet migrated."""
    db = Database(database_url)
    yield db
    db.dispose()


def tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def drift(db: Database, metadata: sa.MetaData = Base.metadata) -> list:
    """What `alembic check` would report: the differences between the models and the database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


# --- migrations ------------------------------------------------------------------------------


def test_upgrade_creates_every_table_downgrade_removes_them_and_upgrade_again(bare_db):
    expected = set(Base.metadata.tables)
    assert len(expected) == 24
    assert tables(bare_db) == set()

    upgrade(bare_db.engine)
    assert tables(bare_db) == expected | {"alembic_version"}

    downgrade(bare_db.engine, "base")
    assert tables(bare_db) - {"alembic_version"} == set()

    upgrade(bare_db.engine)
    assert tables(bare_db) == expected | {"alembic_version"}
    with bare_db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [
            "0005"
        ]


def test_models_and_migrations_do_not_drift(bare_db):
    upgrade(bare_db.engine)
    assert drift(bare_db) == []


def test_drift_check_sees_a_model_change(bare_db):
    """The negative twin: a column the migration lacks shows up as drift."""
    upgrade(bare_db.engine)
    changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["people"].append_column(sa.Column("nickname", sa.String(50), nullable=True))
    diffs = drift(bare_db, changed)
    assert [(d[0], d[3].name) for d in diffs] == [("add_column", "nickname")]


# --- constraints -----------------------------------------------------------------------------


def _copy_credential(row: m.Credential, new_id: str, index: int) -> m.Credential:
    return m.Credential(
        id=new_id,
        kind=row.kind,
        earner_id=row.earner_id,
        issuer_id=row.issuer_id,
        key_id=row.key_id,
        version_id=row.version_id,
        submission_id=None,
        status_list_id=row.status_list_id,
        status_index=index,
        signed_json=row.signed_json,
        credit=row.credit,
        issued_at=row.issued_at,
        public=True,
    )


def test_two_credentials_cannot_share_a_status_index(app, earned_credential):
    db = services(app).db
    with db.read() as session:
        row = session.get(m.Credential, earned_credential)
        assert row is not None
        taken = row.status_index
    with pytest.raises(IntegrityError), db.transaction() as session:
        row = session.get(m.Credential, earned_credential)
        session.add(_copy_credential(row, "00000000-0000-4000-8000-000000000001", taken))
        session.flush()
    # The control: the same row with a free index is accepted, so the failure above was the constraint.
    with db.transaction() as session:
        row = session.get(m.Credential, earned_credential)
        free = taken - 1 if taken > 0 else taken + 1
        session.add(_copy_credential(row, "00000000-0000-4000-8000-000000000002", free))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(m.Credential)) == 2


def test_one_credential_per_submission_and_one_review_per_attempt(app, earned_credential):
    db = services(app).db
    with pytest.raises(IntegrityError), db.transaction() as session:
        row = session.get(m.Credential, earned_credential)
        twin = _copy_credential(row, "00000000-0000-4000-8000-000000000003", row.status_index + 1)
        twin.submission_id = row.submission_id
        session.add(twin)
        session.flush()
    with pytest.raises(IntegrityError), db.transaction() as session:
        review = session.scalars(select(m.Review)).one()
        session.add(
            m.Review(
                attempt_id=review.attempt_id,
                reviewer_id=review.reviewer_id,
                decision="earned",
                scores={},
                feedback={},
                created_at=NOW,
            )
        )
        session.flush()


def test_people_emails_and_microcredential_versions_are_unique(app, imported):
    db = services(app).db
    with db.transaction() as session:
        session.add(
            m.Person(email="a@example.org", name="A", is_reviewer=False, is_staff=False, created_at=NOW)
        )
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(
            m.Person(email="a@example.org", name="B", is_reviewer=False, is_staff=False, created_at=NOW)
        )
        session.flush()
    with pytest.raises(IntegrityError), db.transaction() as session:
        version = session.scalars(select(m.MicrocredentialVersion)).first()
        assert version is not None
        fields = {c.key: getattr(version, c.key) for c in sa.inspect(m.MicrocredentialVersion).column_attrs}
        fields.pop("id")
        session.add(m.MicrocredentialVersion(**fields))
        session.flush()


# --- issue-on-earn is one transaction ---------------------------------------------------------


def _submitted(app, email: str) -> int:
    """A submission of crosscutting-concepts, submitted and waiting for review; returns its id."""
    db = services(app).db
    with db.transaction() as session:
        educator = sub.create_person(session, email=email, name="Ben", public_name="Ben", now=NOW)
        submission = sub.start_submission(session, educator, "crosscutting-concepts", now=NOW)
        evidence.add_link(
            session, submission, educator, url="https://example.org/plan", title="Lesson plan", now=NOW
        )
        sub.record_fee(session, submission, educator, now=NOW)
        sub.submit_attempt(session, submission, reflections=["one", "two"], now=NOW)
        return submission.id


def _add_reviewer(app) -> None:
    """The trained reviewer `_review` uses, a founding reviewer of every stack (so eligible for all)."""
    with services(app).db.transaction() as session:
        reviewer = sub.create_person(session, email="reviewer@example.org", name="R", reviewer=True, now=NOW)
        for stack_id in session.scalars(select(m.Stack.id)):
            session.add(m.ReviewerAssignment(person_id=reviewer.id, stack_id=stack_id, created_at=NOW))


def _review(app, submission_id: int) -> sub.ReviewOutcome:
    svc = services(app)
    with svc.db.transaction() as session:
        submission = session.get(m.Submission, submission_id)
        reviewer = session.scalar(select(m.Person).where(m.Person.email == "reviewer@example.org"))
        return sub.review_submission(
            session,
            submission,
            reviewer,
            scores={"plan": "exemplary", "student-use": "proficient"},
            feedback={},
            now=NOW,
            issuing=svc.issuing,
        )


def _snapshot(app) -> dict:
    with services(app).db.read() as session:
        return {
            "credentials": sorted(session.scalars(select(m.Credential.id)).all()),
            "reviews": session.scalar(select(func.count()).select_from(m.Review)),
            "keys": sorted(session.scalars(select(m.IssuerKey.public_key_multibase)).all()),
            "lists": [
                (row.id, row.number, row.size, bytes(row.bits), row.signed_json, row.updated_at)
                for row in session.scalars(select(m.StatusList).order_by(m.StatusList.id))
            ],
        }


def _assert_nothing_stored(app, submission_id: int, before: dict) -> None:
    with services(app).db.read() as session:  # a fresh session, after the rollback
        submission = session.get(m.Submission, submission_id)
        assert submission.state == "submitted"
        assert [a.number for a in submission.attempts] == [1]
        assert submission.attempts[0].review is None
        assert session.scalar(select(m.Credential).where(m.Credential.submission_id == submission_id)) is None
    assert _snapshot(app) == before


def test_a_signer_failure_mid_review_stores_nothing(app, earn, monkeypatch):
    earn()  # the status list and the key exist before the failing review
    client = app.test_client()
    assert client.get("/status/usbe/revocation/1").status_code == 200  # the list is signed and stored
    submission_id = _submitted(app, "ben@example.org")
    before = _snapshot(app)
    assert len(before["credentials"]) == 1 and before["reviews"] == 1 and before["lists"][0][4] is not None

    def broken_signer(*args, **kwargs):
        raise RuntimeError("the signer is down")

    monkeypatch.setattr(issuing, "sign_credential", broken_signer)
    with pytest.raises(RuntimeError, match="the signer is down"):
        _review(app, submission_id)
    _assert_nothing_stored(app, submission_id, before)

    # The same review succeeds once the signer is back: nothing half-done was left in the way.
    monkeypatch.undo()
    outcome = _review(app, submission_id)
    assert outcome.credential is not None
    assert len(_snapshot(app)["credentials"]) == 2


def test_a_failure_after_the_credential_row_is_flushed_rolls_it_back(app, earn, monkeypatch):
    earn()
    submission_id = _submitted(app, "cam@example.org")
    before = _snapshot(app)
    real = sub.issue_for_submission
    flushed = []

    def issue_then_fail(session, submission, review, ctx, now):
        row = real(session, submission, review, ctx, now)
        flushed.append(session.get(m.Credential, row.id) is not None)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(sub, "issue_for_submission", issue_then_fail)
    with pytest.raises(RuntimeError, match="the disk is full"):
        _review(app, submission_id)
    assert flushed == [True]
    _assert_nothing_stored(app, submission_id, before)


def test_the_first_issue_failing_leaves_no_key_row_and_no_status_list(app, imported, monkeypatch):
    submission_id = _submitted(app, "dee@example.org")
    _add_reviewer(app)
    before = _snapshot(app)
    assert before["lists"] == [] and before["keys"] == []
    monkeypatch.setattr(issuing, "sign_credential", lambda *a, **k: (_ for _ in ()).throw(ValueError("no")))
    with pytest.raises(ValueError, match="no"):
        _review(app, submission_id)
    _assert_nothing_stored(app, submission_id, before)


# --- what is stored is what is served ----------------------------------------------------------


def test_the_exact_signed_json_is_stored_and_served_byte_for_byte(app, imported, monkeypatch):
    signed_documents = []
    real = issuing.sign_credential

    def capture(*args, **kwargs):
        signed = real(*args, **kwargs)
        signed_documents.append(signed)
        return signed

    monkeypatch.setattr(issuing, "sign_credential", capture)
    _add_reviewer(app)
    outcome = _review(app, _submitted(app, "eve@example.org"))
    assert outcome.credential is not None
    credential_id = outcome.credential.id
    # The first issue also creates (and signs) the issuer's revocation list.
    signed_documents = [d for d in signed_documents if "OpenBadgeCredential" in d["type"]]
    assert len(signed_documents) == 1
    with services(app).db.read() as session:
        stored = session.get(m.Credential, credential_id).signed_json
    assert json.loads(stored) == signed_documents[0]
    assert stored == json.dumps(signed_documents[0], ensure_ascii=False, indent=2)

    client = app.test_client()
    answer = client.get(f"/credentials/{credential_id}.json")
    assert answer.status_code == 200
    assert answer.data == stored.encode("utf-8")
    again = client.get(f"/credentials/{credential_id}", headers={"Accept": "application/ld+json"})
    assert again.data == stored.encode("utf-8")
    assert services(app).verifier().verify_text(answer.data.decode("utf-8")).verified is True


# --- status indexes ---------------------------------------------------------------------------


def test_fifty_credentials_get_distinct_status_indexes_as_base10_strings(app, earn):
    ids = [earn(email=f"educator{n:02d}@example.org") for n in range(50)]
    assert len(set(ids)) == 50
    with services(app).db.read() as session:
        rows = session.scalars(select(m.Credential)).all()
        size = session.scalars(select(m.StatusList.size)).one()
    assert len(rows) == 50
    indexes = {row.status_index for row in rows}
    assert len(indexes) == 50
    for row in rows:
        status = json.loads(row.signed_json)["credentialStatus"]
        value = status["statusListIndex"]
        assert isinstance(value, str)
        assert re.fullmatch(r"0|[1-9][0-9]*", value), value
        assert int(value) == row.status_index
        assert 0 <= row.status_index < size
        assert status["statusListCredential"] == "http://localhost:5000/status/usbe/revocation/1"
        assert status["id"] == f"http://localhost:5000/status/usbe/revocation/1#{value}"


def test_a_taken_index_is_never_handed_out_again(app, earn):
    """Random picks that collide are drawn again (STAT-2); when every pick collides, the next list starts."""
    picks = iter([7, 7, 7, 9, 7, 9, 11])
    services(app).issuing.random_index = lambda size: next(picks)
    first, second, third = earn(), earn(), earn()
    with services(app).db.read() as session:
        got = [session.get(m.Credential, cid).status_index for cid in (first, second, third)]
    assert got == [7, 9, 11]

    services(app).issuing.random_index = lambda size: 7
    rolled = earn()
    with services(app).db.read() as session:
        row = session.get(m.Credential, rolled)
        status = json.loads(row.signed_json)["credentialStatus"]
        assert (row.status_index, status["statusListCredential"]) == (
            7,
            "http://localhost:5000/status/usbe/revocation/2",
        )
    with services(app).db.read() as session:
        lists = session.scalars(select(m.StatusList.number).where(m.StatusList.purpose == "revocation")).all()
    assert sorted(lists) == [1, 2]
