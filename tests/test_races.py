"""Two requests racing for the same change: exactly one wins, the other is refused, nothing doubles."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from badgeserver.errors import BadgeServerError
from badgeserver.program import submissions as sub
from badgeserver.store import models as m
from tests.test_program_rules import NOW, make_rules

pytestmark = pytest.mark.store


def _race(work, times: int = 4) -> list[object]:
    """Run `work` in `times` threads at once; return what each returned or raised."""
    results: list[object] = []
    start = threading.Barrier(times)
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        try:
            outcome: object = work()
        except BadgeServerError as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_one_fee_per_attempt_even_when_racing(app, tmp_path: Path):
    rules = make_rules(app, tmp_path / "catalog")
    educator = rules.person("racer@example.org")
    number = rules.start(educator, "m1")
    db = rules.svc.db

    def pay() -> object:
        with db.transaction() as session:
            row = session.get(m.Submission, number)
            who = session.get(m.Person, educator)
            return sub.record_fee(session, row, who, now=NOW).receipt

    results = _race(pay)
    receipts = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, sub.WorkflowError)]
    assert (len(receipts), len(refused)) == (1, 3)
    with db.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(m.Payment).where(m.Payment.submission_id == number)
            )
            == 1
        )


def test_one_open_draft_per_microcredential_even_when_racing(app, tmp_path: Path):
    rules = make_rules(app, tmp_path / "catalog")
    educator = rules.person("racer@example.org")
    db = rules.svc.db

    def start() -> object:
        with db.transaction() as session:
            return sub.start_submission(session, session.get(m.Person, educator), "m2", now=NOW).id

    results = _race(start)
    assert sum(isinstance(r, int) for r in results) == 1
    assert sum(isinstance(r, sub.WorkflowError) for r in results) == 3
    with db.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(m.Submission).where(m.Submission.educator_id == educator)
            )
            == 1
        )


def test_concurrent_revocations_of_one_list_keep_every_bit(app, earn):
    """STAT-5: four staff revoke four credentials of one list at once; no revocation undoes another."""
    from datetime import UTC, datetime

    from badgeserver import bitstring
    from badgeserver.program import revocation
    from badgeserver.web.services import services

    svc = services(app)
    ids = [earn(email=f"race{n}@example.org") for n in range(4)]
    with svc.db.transaction() as session:
        staff = sub.create_person(
            session, email="s@example.org", name="S", staff=True, now=datetime.now(UTC)
        ).id
    queue = list(ids)
    lock = threading.Lock()

    def revoke() -> object:
        with lock:
            mine = queue.pop()
        with svc.db.transaction() as session:
            return revocation.change_status(
                session,
                svc.issuing,
                datetime.now(UTC),
                action="revoke",
                selection=revocation.Selection(ids=(mine,)),
                actor=session.get(m.Person, staff),
                reason="Race.",
            ).changed

    results = _race(revoke)
    assert sorted(c for changed in results if isinstance(changed, list) for c in changed) == sorted(ids), (
        results
    )
    with svc.db.read() as session:
        row = session.scalar(select(m.StatusList).where(m.StatusList.purpose == "revocation"))
        indexes = [session.get(m.Credential, cid).status_index for cid in ids]
        assert all(bitstring.get_bit(row.bits, index) for index in indexes)
        published = bitstring.decode(
            __import__("json").loads(row.signed_json)["credentialSubject"]["encodedList"]
        )
        assert published == row.bits


def test_concurrent_reissues_issue_each_credential_once(app, earn):
    from datetime import UTC, datetime

    from badgeserver.program import key_lifecycle
    from badgeserver.web.services import services

    svc = services(app)
    ids = [earn(email=f"re{n}@example.org") for n in range(2)]
    with svc.db.transaction() as session:
        staff = sub.create_person(
            session, email="k@example.org", name="K", staff=True, now=datetime.now(UTC)
        ).id
    with svc.db.transaction() as session:
        key_lifecycle.revoke(
            session,
            svc.issuing,
            datetime.now(UTC),
            key_name="issuer-usbe-1",
            reason="Race.",
            actor=session.get(m.Person, staff),
        )

    def reissue() -> object:
        with svc.db.transaction() as session:
            done = key_lifecycle.reissue(
                session, svc.issuing, datetime.now(UTC), actor=session.get(m.Person, staff)
            )
            return sorted(item.old_id for item in done)

    results = _race(reissue, times=3)
    assert sorted(map(str, results)) == sorted(map(str, [sorted(ids), [], []])), results
    with svc.db.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(m.Credential).where(m.Credential.replaces_id.in_(ids))
            )
            == 2
        )
