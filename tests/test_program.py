"""The microcredential rules on SQLite and PostgreSQL: people, submissions, rubric reviews, issue on earn."""

from __future__ import annotations

import copy
import itertools
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from badgeserver import schema
from badgeserver.errors import InputError, NotFound
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.program.submissions import Forbidden, WorkflowError
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services

pytestmark = pytest.mark.store

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BASE = "http://localhost:5000"
DID = "did:web:localhost%3A5000:issuers:usbe"
ACHIEVEMENT = f"{BASE}/achievements/crosscutting-concepts/v1"
EARNING = {"plan": "exemplary", "student-use": "proficient"}
RETURNING = {"plan": "not-yet", "student-use": "proficient"}


class Program:
    """Each step in its own transaction, as the web and CLI faces run them; objects found by id."""

    def __init__(self, app: Any) -> None:
        self.svc = services(app)
        codes = (f"{n:06d}" for n in itertools.count(100))
        self.ctx = sub.ProgramContext(receipt_code=lambda: next(codes))

    def person(self, email: str, *, reviewer: bool = False, public_name: str | None = "Ana Núñez") -> int:
        with self.svc.db.transaction() as session:
            person = sub.create_person(
                session, email=email, name="Some One", public_name=public_name, reviewer=reviewer, now=NOW
            )
            if reviewer:  # a founding reviewer of the mini catalog's stack (eligibility.py)
                for stack_id in session.scalars(select(m.Stack.id)):
                    session.add(m.ReviewerAssignment(person_id=person.id, stack_id=stack_id, created_at=NOW))
            return person.id

    def start(self, educator: int, slug: str = "crosscutting-concepts") -> int:
        with self.svc.db.transaction() as session:
            return sub.start_submission(session, session.get(m.Person, educator), slug, now=NOW).id

    def submit(
        self,
        submission: int,
        *,
        evidence: list[tuple[str, str]] | None = None,
        reflections: list[str] | None = None,
        pay: bool = True,
    ) -> int:
        """Add evidence links, record the fee (unless pay=False) and submit; returns the attempt number."""
        items = [("Lesson plan", "A plan."), ("Student work", "")] if evidence is None else evidence
        with self.svc.db.transaction() as session:
            row = session.get(m.Submission, submission)
            for n, (title, description) in enumerate(items):
                ev.add_link(
                    session,
                    row,
                    row.educator,
                    url=f"https://example.org/evidence/{n}",
                    title=title,
                    description=description,
                    now=NOW,
                )
            if pay:
                sub.record_fee(session, row, row.educator, now=NOW, program=self.ctx)
            answers = ["They reasoned with patterns.", "More student talk."] if reflections is None else reflections
            return sub.submit_attempt(session, row, reflections=answers, now=NOW).number

    def review(
        self, submission: int, reviewer: int, scores: dict[str, str], feedback: dict[str, str] | None = None
    ) -> str | None:
        """Review; returns the credential id when earned."""
        with self.svc.db.transaction() as session:
            outcome = sub.review_submission(
                session,
                session.get(m.Submission, submission),
                session.get(m.Person, reviewer),
                scores=scores,
                feedback=feedback or {},
                now=NOW,
                issuing=self.svc.issuing,
                program=self.ctx,
            )
            return outcome.credential.id if outcome.credential else None

    def submission(self, submission: int) -> dict[str, Any]:
        with self.svc.db.read() as session:
            row = session.get(m.Submission, submission)
            return {
                "state": row.state,
                "attempts": [
                    (
                        a.number,
                        a.fee_receipt,
                        a.review.decision if a.review else None,
                        dict(a.review.feedback) if a.review else None,
                    )
                    for a in row.attempts
                ],
            }

    def count(self, model: Any) -> int:
        with self.svc.db.read() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def credential(self, credential_id: str) -> dict[str, Any]:
        with self.svc.db.read() as session:
            return json.loads(session.get(m.Credential, credential_id).signed_json)


@pytest.fixture()
def program(app, imported) -> Program:
    return Program(app)


@pytest.fixture()
def people(program):
    return {
        "educator": program.person("ana@example.org"),
        "reviewer": program.person("rev@example.org", reviewer=True, public_name=None),
        "plain": program.person("plain@example.org", public_name=None),
    }


@pytest.fixture()
def submitted(program, people) -> int:
    submission = program.start(people["educator"])
    assert program.submit(submission) == 1
    return submission


# --- people -----------------------------------------------------------------------------------


def test_people_are_stored_with_normalized_emails(program):
    person = program.person("  Zoe.OBrien@Example.ORG ", reviewer=True)
    with program.svc.db.read() as session:
        row = session.get(m.Person, person)
        assert (row.email, row.name, row.public_name, row.is_reviewer, row.is_staff) == (
            "zoe.obrien@example.org",
            "Some One",
            "Ana Núñez",
            True,
            False,
        )


BAD_PEOPLE = {
    "not an address": ("not-an-email", "Zoe", InputError, "is not an email address"),
    "a space": ("zoe @example.org", "Zoe", InputError, "is not an email address"),
    "a blank name": ("zoe@example.org", "   ", InputError, "A person needs a name"),
    "a taken email": ("ANA@example.org", "Ana again", WorkflowError, "already exists"),
}


def test_bad_people_are_refused(program, people):
    before = program.count(m.Person)
    for case, (email, name, error, words) in BAD_PEOPLE.items():
        with pytest.raises(error, match=words), program.svc.db.transaction() as session:
            sub.create_person(session, email=email, name=name, now=NOW)
        assert program.count(m.Person) == before, case


# --- submissions ------------------------------------------------------------------------------


def test_start_submission_opens_a_draft_of_the_current_version(program, people):
    submission = program.start(people["educator"])
    assert program.submission(submission) == {"state": "draft", "attempts": []}
    with program.svc.db.read() as session:
        version = session.get(m.Submission, submission).version
        assert (version.microcredential.slug, version.version) == ("crosscutting-concepts", "1")


def test_start_submission_refusals(program, people):
    with pytest.raises(NotFound, match="no microcredential 'nope'"):
        program.start(people["educator"], "nope")
    program.start(people["educator"])
    with pytest.raises(WorkflowError, match="already has an open submission"):
        program.start(people["educator"])
    with program.svc.db.transaction() as session:
        micro = session.scalar(
            select(m.Microcredential).where(m.Microcredential.slug == "student-sensemaking")
        )
        micro.state = "retired"
    with pytest.raises(WorkflowError, match="retired"):
        program.start(people["educator"], "student-sensemaking")
    assert program.count(m.Submission) == 1


INCOMPLETE = {
    "one reflection": ({"reflections": ["only one"]}, "Answer each of the 2 reflection prompts"),
    "three reflections": (
        {"reflections": ["one", "two", "three"]},
        "Answer each of the 2 reflection prompts",
    ),
    "a blank reflection": ({"reflections": ["one", "   "]}, "Every reflection must be filled in"),
    "no evidence": ({"evidence": []}, "Add at least one piece of evidence"),
    "untitled evidence": ({"evidence": [("  ", "untitled")]}, "The evidence needs a title"),
    "no fee paid": ({"pay": False}, "Record the review fee as paid"),
}


def test_submit_attempt_refuses_incomplete_work(program, people):
    submission = program.start(people["educator"])
    for case, (changes, words) in INCOMPLETE.items():
        with pytest.raises(InputError, match=words):
            program.submit(submission, **changes)
        assert program.submission(submission) == {"state": "draft", "attempts": []}, case
    assert program.count(m.Attempt) == 0
    assert program.submit(submission) == 1  # the control: complete work is accepted


def test_submitted_work_cannot_be_submitted_again_before_review(program, submitted):
    with pytest.raises(WorkflowError, match="is submitted and cannot be submitted now"):
        program.submit(submitted, evidence=[], pay=False)
    assert program.count(m.Attempt) == 1


# --- review refusals ---------------------------------------------------------------------------


def test_only_reviewers_review(program, people, submitted):
    with pytest.raises(Forbidden, match="plain@example.org is not a reviewer"):
        program.review(submitted, people["plain"], EARNING)
    assert program.submission(submitted)["state"] == "submitted"


def test_nobody_reviews_their_own_submission(program, people):
    own = program.person("both@example.org", reviewer=True)
    submission = program.start(own)
    program.submit(submission)
    with pytest.raises(Forbidden, match="Nobody reviews their own submission"):
        program.review(submission, own, EARNING)
    assert program.count(m.Review) == 0


BAD_REVIEWS = {
    "unknown criterion": (
        {**EARNING, "extra": "proficient"},
        {},
        "'extra' is not a criterion of this rubric",
    ),
    "missing score": ({"plan": "exemplary"}, {}, "Score every rubric criterion; 'student-use' has no score"),
    "level not in the criterion": (
        {"plan": "exemplary", "student-use": "exemplary"},
        {},
        "'exemplary' is not a level of criterion 'student-use'",
    ),
    "no feedback on an unmet criterion": (RETURNING, {}, "Give feedback on 'plan', which is not yet met"),
    "blank feedback": (RETURNING, {"plan": "   "}, "Give feedback on 'plan', which is not yet met"),
    "feedback on another criterion": (
        RETURNING,
        {"student-use": "Good."},
        "Give feedback on 'plan', which is not yet met",
    ),
}


def test_bad_reviews_are_refused(program, people, submitted):
    for case, (scores, feedback, words) in BAD_REVIEWS.items():
        with pytest.raises(InputError, match=re.escape(words)):
            program.review(submitted, people["reviewer"], scores, feedback)
        assert program.submission(submitted)["state"] == "submitted", case
        assert (program.count(m.Review), program.count(m.Credential)) == (0, 0), case
    assert program.review(submitted, people["reviewer"], EARNING) is not None  # the control


def test_reviewing_a_draft_or_an_earned_submission_is_a_workflow_error(program, people):
    submission = program.start(people["educator"])
    with pytest.raises(WorkflowError, match="is draft, not waiting for review"):
        program.review(submission, people["reviewer"], EARNING)
    program.submit(submission)
    assert program.review(submission, people["reviewer"], EARNING) is not None
    with pytest.raises(WorkflowError, match="is earned, not waiting for review"):
        program.review(submission, people["reviewer"], EARNING)
    with pytest.raises(WorkflowError, match="is earned and cannot be submitted now"):
        program.submit(submission, evidence=[], pay=False)
    assert (program.count(m.Review), program.count(m.Credential)) == (1, 1)


# --- returned, resubmitted, earned --------------------------------------------------------------


def test_returned_then_resubmitted_then_earned_keeps_both_attempts_and_feedback(program, people, submitted):
    feedback = {"plan": "Name the crosscutting concept in the plan."}
    assert program.review(submitted, people["reviewer"], RETURNING, feedback) is None
    assert program.submission(submitted) == {
        "state": "returned",
        "attempts": [(1, "FEE-2026-000100", "returned", feedback)],
    }
    assert program.count(m.Credential) == 0

    assert program.submit(submitted) == 2
    assert program.submission(submitted)["state"] == "submitted"
    credential_id = program.review(submitted, people["reviewer"], EARNING, {"plan": "Much better."})
    assert credential_id is not None
    assert program.submission(submitted) == {
        "state": "earned",
        "attempts": [
            (1, "FEE-2026-000100", "returned", feedback),
            (2, "FEE-2026-000101", "earned", {"plan": "Much better."}),
        ],
    }
    credential = program.credential(credential_id)
    assert "(attempt 2)" in credential["evidence"][0]["narrative"]
    # The earned submission no longer counts as open: the educator may start another one.
    assert program.start(people["educator"], "student-sensemaking")


def test_resubmission_is_unlimited(program, people, submitted):
    for attempt in range(1, 4):
        note = {"plan": f"Not yet, round {attempt}."}
        assert program.review(submitted, people["reviewer"], RETURNING, note) is None
        assert program.submit(submitted) == attempt + 1
    credential_id = program.review(submitted, people["reviewer"], EARNING)
    assert credential_id is not None
    state = program.submission(submitted)
    assert state["state"] == "earned"
    assert [(n, decision) for n, _, decision, _ in state["attempts"]] == [
        (1, "returned"),
        (2, "returned"),
        (3, "returned"),
        (4, "earned"),
    ]
    assert [fb for *_, fb in state["attempts"][:3]] == [{"plan": f"Not yet, round {n}."} for n in (1, 2, 3)]
    assert (program.count(m.Review), program.count(m.Credential)) == (4, 1)


# --- the issued credential -------------------------------------------------------------------------


@pytest.fixture()
def issued(program, people, submitted) -> tuple[str, dict[str, Any]]:
    credential_id = program.review(submitted, people["reviewer"], EARNING)
    assert credential_id is not None
    return credential_id, program.credential(credential_id)


def test_credential_identifiers(program, issued):
    credential_id, credential = issued
    assert credential["id"] == f"{BASE}/credentials/{credential_id}"
    assert str(uuid.UUID(credential_id)) == credential_id
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == DID
    assert credential["issuer"]["name"] == "Utah State Board of Education"
    with program.svc.db.read() as session:
        key = session.scalars(select(m.IssuerKey)).one()
    assert re.fullmatch(r"z6Mk[1-9A-HJ-NP-Za-km-z]{44}", key.public_key_multibase)
    (proof,) = credential["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == f"{DID}#{key.public_key_multibase}"


def test_credential_results_point_into_the_embedded_achievement(issued):
    _, credential = issued
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["id"] == ACHIEVEMENT
    assert achievement["version"] == "1"
    descriptions = {d["id"]: d for d in achievement["resultDescription"]}
    assert list(descriptions) == [f"{ACHIEVEMENT}#plan", f"{ACHIEVEMENT}#student-use"]
    results = {res["resultDescription"]: res["achievedLevel"] for res in subject["result"]}
    assert results == {
        f"{ACHIEVEMENT}#plan": f"{ACHIEVEMENT}#plan-exemplary",
        f"{ACHIEVEMENT}#student-use": f"{ACHIEVEMENT}#student-use-proficient",
    }
    for description_id, level in results.items():
        assert level in [lv["id"] for lv in descriptions[description_id]["rubricCriterionLevel"]]
    assert descriptions[f"{ACHIEVEMENT}#plan"]["requiredLevel"] == f"{ACHIEVEMENT}#plan-proficient"
    assert subject["creditsEarned"] == 0.5
    assert achievement["creditsAvailable"] == 0.5
    names = [i["identityHash"] for i in subject["identifier"] if i["identityType"] == "name"]
    assert names == ["Ana Núñez"]


def test_credential_status_entry(issued):
    _, credential = issued
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == f"{BASE}/status/usbe/revocation/1"
    assert status["id"] == f"{BASE}/status/usbe/revocation/1#{status['statusListIndex']}"


def test_credential_passes_the_official_schema(issued):
    _, credential = issued
    assert schema.validate(credential) == []
    broken = copy.deepcopy(credential)
    del broken["credentialSubject"]["achievement"]["criteria"]
    assert schema.validate(broken) != []


def test_credential_verifies_with_status_checked(program, issued):
    _, credential = issued
    verifier = program.svc.verifier()
    report = verifier.verify_text(json.dumps(credential), recipient="ANA@example.org")
    assert report.verified is True, report.to_json()
    for check in (r.PROOF_KEY, r.PROOF_CONTROLLER, r.PROOF_SIGNATURE, r.SCHEMA, r.STATUS, r.RECIPIENT):
        assert report.status_of(check) == r.PASSED, check
    assert report.summary()["failed"] == report.summary()["error"] == 0

    wrong_earner = verifier.verify_text(json.dumps(credential), recipient="someone@example.org")
    assert wrong_earner.verified is False
    assert wrong_earner.status_of(r.RECIPIENT) == r.FAILED

    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["creditsEarned"] = 5.0
    forged = verifier.verify_text(json.dumps(tampered))
    assert forged.verified is False
    assert forged.status_of(r.PROOF_SIGNATURE) == r.FAILED


def test_no_name_published_when_the_educator_keeps_it_private(program, people):
    private = program.person("private@example.org", public_name=None)
    submission = program.start(private)
    program.submit(submission)
    credential = program.credential(program.review(submission, people["reviewer"], EARNING) or "")
    identifiers = credential["credentialSubject"]["identifier"]
    assert [i["identityType"] for i in identifiers] == ["emailAddress"]
    assert "private@example.org" not in json.dumps(credential)
