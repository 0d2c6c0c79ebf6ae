"""The program rules on SQLite and PostgreSQL: reviewer eligibility, fees, payouts, stacks and bundles,
transcripts, versions and retirement, the audit log and notifications.

The catalog here has a seven-microcredential stack (methods), a two-microcredential stack (three-d),
a bundle of both (credit 1) and one microcredential in no stack (lone).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from badgeserver import schema
from badgeserver.config import load_settings
from badgeserver.errors import InputError
from badgeserver.program import audit, catalog_admin, compose, eligibility, notify, payouts, transcripts
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.program.catalog import CatalogError, load_catalog
from badgeserver.program.catalog_import import import_catalog
from badgeserver.program.submissions import Forbidden, WorkflowError
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services
from tests.support.mini_catalog import write_mini_catalog

pytestmark = pytest.mark.store

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BASE = "http://localhost:5000"
METHODS = [f"m{n}" for n in range(1, 8)]
NAMES = {
    f"m{n}": f"Method {word}"
    for n, word in enumerate(("One", "Two", "Three", "Four", "Five", "Six", "Seven"), 1)
}
NAMES |= {"t1": "Three-D One", "t2": "Three-D Two", "lone": "Lone Practice"}
EARNING = {"plan": "exemplary", "practice": "proficient"}
RETURNING = {"plan": "not-yet", "practice": "proficient"}
NOT_YET = {"plan": "Name the practice in the plan."}


def _micro(slug: str) -> str:
    return f"""\
  - slug: {slug}
    issuer: usbe
    name: {NAMES[slug]}
    version: "1"
    credit: 0.5
    fee: "20.00"
    description: {NAMES[slug]} in practice.
    criteria: Submit a plan and student work.
    evidence:
      - name: Lesson plan
        description: A plan.
    reflection_prompts:
      - What did students figure out?
    rubric:
      - id: plan
        name: Planning
        description: The plan names the practice.
        required: proficient
        levels:
          - {{id: not-yet, name: Not Yet, description: Not named.}}
          - {{id: proficient, name: Proficient, description: Named and used.}}
          - {{id: exemplary, name: Exemplary, description: Students choose it.}}
      - id: practice
        name: Practice
        description: Student work shows it.
        required: proficient
        levels:
          - {{id: not-yet, name: Not Yet, description: Not visible.}}
          - {{id: proficient, name: Proficient, description: Visible.}}
    image: images/crosscutting-concepts.svg
"""


RULES_CATALOG = (
    """\
format: badgeserver-catalog/1
program:
  name: Rules Program
issuers:
  - slug: usbe
    name: Utah State Board of Education
    url: https://www.schools.utah.gov
    image: images/usbe.svg
microcredentials:
"""
    + "".join(_micro(slug) for slug in [*METHODS, "t1", "t2", "lone"])
    + f"""\
stacks:
  - slug: methods
    issuer: usbe
    name: Science Methods
    description: Seven methods.
    image: images/methods.svg
    microcredentials: [{", ".join(METHODS)}]
  - slug: three-d
    issuer: usbe
    name: Three-D Teaching
    description: Two dimensions.
    image: images/student-sensemaking.svg
    microcredentials: [t1, t2]
bundles:
  - slug: all
    issuer: usbe
    name: Everything
    description: Both stacks.
    credit: 1
    image: images/secondary-science.svg
    stacks: [methods, three-d]
"""
)


@dataclass(frozen=True)
class Outcome:
    """What one review produced, by id."""

    credential: str | None
    composites: list[str]
    payout_cents: int | None


class Rules:
    """Each program step in its own transaction, as the faces run them; ids in, ids out."""

    def __init__(self, app: Any) -> None:
        self.svc = services(app)
        self.now = NOW
        codes = (f"C{n:05d}" for n in itertools.count(1))
        self.ctx = sub.ProgramContext(receipt_code=lambda: next(codes))
        ids = itertools.count(1)
        self.svc.issuing.new_id = lambda: f"00000000-0000-4000-8000-{next(ids):012d}"
        self.staff = self.person("staff@example.org", staff=True, name="Stella Staff")
        self.founder = self.person("founder@example.org", reviewer=True, name="Fran Founder")
        self.assign(self.founder, "methods")
        self.assign(self.founder, "three-d")

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def person(
        self, email: str, *, reviewer: bool = False, staff: bool = False, name: str = "Some One"
    ) -> int:
        with self.svc.db.transaction() as session:
            return sub.create_person(
                session,
                email=email,
                name=name,
                public_name=name,
                reviewer=reviewer,
                staff=staff,
                now=self.now,
            ).id

    def assign(self, person: int, stack: str) -> None:
        with self.svc.db.transaction() as session:
            staff = session.get(m.Person, self.staff)
            catalog_admin.assign_founding_reviewer(
                session, staff, session.get(m.Person, person), stack, now=self.now
            )

    def set_trained(self, person: int, trained: bool) -> None:
        with self.svc.db.transaction() as session:
            session.get(m.Person, person).is_reviewer = trained

    def start(self, educator: int, slug: str) -> int:
        with self.svc.db.transaction() as session:
            return sub.start_submission(session, session.get(m.Person, educator), slug, now=self.now).id

    def link(self, submission: int, title: str = "Lesson plan", url: str = "https://example.org/plan") -> int:
        with self.svc.db.transaction() as session:
            row = session.get(m.Submission, submission)
            return ev.add_link(session, row, row.educator, url=url, title=title, now=self.now).id

    def pay(self, submission: int) -> str:
        with self.svc.db.transaction() as session:
            row = session.get(m.Submission, submission)
            return sub.record_fee(session, row, row.educator, now=self.now, program=self.ctx).receipt

    def submit(
        self, submission: int, *, link: bool = True, pay: bool = True, receipt: str | None = None
    ) -> int:
        if link:
            self.link(submission)
        if pay:
            self.pay(submission)
        with self.svc.db.transaction() as session:
            row = session.get(m.Submission, submission)
            return sub.submit_attempt(
                session, row, reflections=["They figured it out."], now=self.now, receipt=receipt
            ).number

    def review(
        self, submission: int, reviewer: int, *, earn: bool = True, ctx: sub.ProgramContext | None = None
    ) -> Outcome:
        with self.svc.db.transaction() as session:
            outcome = sub.review_submission(
                session,
                session.get(m.Submission, submission),
                session.get(m.Person, reviewer),
                scores=EARNING if earn else RETURNING,
                feedback={} if earn else NOT_YET,
                now=self.now,
                issuing=self.svc.issuing,
                program=ctx or self.ctx,
            )
            return Outcome(
                credential=outcome.credential.id if outcome.credential else None,
                composites=[c.id for c in outcome.composites],
                payout_cents=outcome.payout.amount_cents if outcome.payout else None,
            )

    def earn(self, educator: int, slug: str, reviewer: int | None = None) -> Outcome:
        self.tick()
        submission = self.start(educator, slug)
        self.submit(submission)
        return self.review(submission, reviewer or self.founder)

    def submitted(self, educator: int, slug: str) -> int:
        submission = self.start(educator, slug)
        self.submit(submission)
        return submission

    def can_review(self, person: int, submission: int) -> bool:
        with self.svc.db.read() as session:
            return eligibility.can_review(
                session, session.get(m.Person, person), session.get(m.Submission, submission)
            )

    def stored(self, credential_id: str) -> tuple[str, dict[str, Any]]:
        with self.svc.db.read() as session:
            text = session.get(m.Credential, credential_id).signed_json
        return text, json.loads(text)

    def count(self, model: Any, *where: Any) -> int:
        with self.svc.db.read() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def verify(self, credential_id: str) -> Any:
        text, _ = self.stored(credential_id)
        return self.svc.verifier().verify_text(text)


def make_rules(app: Any, folder: Path) -> Rules:
    """The rules catalog written to `folder` and imported into `app`, with staff and a founding reviewer."""
    catalog = load_catalog(write_mini_catalog(folder, RULES_CATALOG))
    with services(app).db.transaction() as session:
        import_catalog(session, catalog, now=NOW)
    return Rules(app)


@pytest.fixture()
def rules(app, tmp_path: Path) -> Rules:
    return make_rules(app, tmp_path / "rules-catalog")


def sri(text: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(text.encode("utf-8")).digest()).decode("ascii")


# --- reviewer eligibility ------------------------------------------------------------------------


def test_eligibility_matrix(rules):
    educator = rules.person("ed@example.org")
    holder = rules.person("holder@example.org", reviewer=True)
    for slug in METHODS:
        rules.earn(holder, slug)
    six = rules.person("six@example.org", reviewer=True)
    for slug in METHODS[:6]:
        rules.earn(six, slug)
    founding = rules.person("founding@example.org", reviewer=True)
    rules.assign(founding, "three-d")
    trained_only = rules.person("trained@example.org", reviewer=True)
    target = rules.submitted(educator, "m3")
    lone = rules.submitted(educator, "lone")

    assert rules.can_review(holder, target) is True  # trained and holds the whole stack
    assert rules.can_review(rules.founder, target) is True  # trained founding reviewer of the stack
    assert rules.can_review(six, target) is False  # holds only 6 of 7
    assert rules.can_review(founding, target) is False  # founding reviewer of another stack
    assert rules.can_review(trained_only, target) is False
    rules.set_trained(holder, False)
    assert rules.can_review(holder, target) is False  # holds the stack but is not trained
    rules.set_trained(holder, True)
    own = rules.submitted(holder, "lone")
    assert rules.can_review(holder, own) is False  # nobody reviews their own
    # A microcredential in no stack: no holding qualifies anyone; founding reviewers (of any stack) may.
    assert rules.can_review(holder, lone) is False
    assert rules.can_review(founding, lone) is True
    assert rules.can_review(rules.founder, lone) is True
    assert rules.can_review(trained_only, lone) is False

    with rules.svc.db.read() as session:
        slugs = {
            name: [s.slug for s in eligibility.eligible_stacks(session, session.get(m.Person, pid))]
            for name, pid in (
                ("holder", holder),
                ("six", six),
                ("founding", founding),
                ("founder", rules.founder),
            )
        }
    assert slugs == {
        "holder": ["methods"],
        "six": [],
        "founding": ["three-d"],
        "founder": ["methods", "three-d"],
    }

    with pytest.raises(
        Forbidden, match="six@example.org may not review Method Three: a reviewer must hold every"
    ):
        rules.review(target, six)
    rules.set_trained(six, False)
    with pytest.raises(Forbidden, match="six@example.org is not a reviewer"):
        rules.review(target, six)
    with pytest.raises(Forbidden, match="Nobody reviews their own submission"):
        rules.review(own, holder)
    assert (
        rules.count(
            m.Review, m.Review.attempt_id.in_(select(m.Attempt.id).where(m.Attempt.submission_id == target))
        )
        == 0
    )
    assert rules.review(target, holder).credential is not None  # the control: the holder may


def test_review_queue_holds_eligible_waiting_submissions_longest_waiting_first(rules):
    a, b, c = (rules.person(f"{x}@example.org") for x in "abc")
    reviewer = rules.person("queue@example.org", reviewer=True)
    rules.assign(reviewer, "methods")
    rules.now = NOW + timedelta(hours=3)
    third = rules.submitted(a, "m1")
    rules.now = NOW + timedelta(hours=1)
    first = rules.submitted(b, "m2")
    rules.now = NOW + timedelta(hours=2)
    second = rules.submitted(c, "m3")
    rules.submitted(a, "t1")  # another stack: not eligible
    rules.start(b, "m4")  # a draft: not waiting
    returned = rules.submitted(c, "m5")
    rules.review(returned, rules.founder, earn=False)
    own = rules.submitted(reviewer, "m6")  # the reviewer's own
    rules.now = NOW + timedelta(hours=4)
    rules.review(rules.submitted(a, "m7"), rules.founder)  # earned: no longer waiting

    def queue(person: int) -> list[int]:
        with rules.svc.db.read() as session:
            return [s.id for s in eligibility.review_queue(session, session.get(m.Person, person))]

    assert queue(reviewer) == [first, second, third]
    assert own in queue(rules.founder)
    assert queue(a) == []  # not a reviewer


# --- fees and payouts --------------------------------------------------------------------------


def test_fees_one_unused_payment_per_attempt(rules):
    educator = rules.person("ed@example.org")
    other = rules.person("other@example.org")
    submission = rules.start(educator, "m1")
    rules.link(submission)
    with pytest.raises(InputError, match="Record the review fee as paid before submitting"):
        rules.submit(submission, link=False, pay=False)
    receipt = rules.pay(submission)
    assert receipt == "FEE-2026-C00001"
    with rules.svc.db.read() as session:
        payment = session.scalars(select(m.Payment)).one()
        assert (payment.amount_cents, payment.attempt_id, payment.submission_id) == (2000, None, submission)
    with pytest.raises(WorkflowError, match=r"already paid \(receipt FEE-2026-C00001\)"):
        rules.pay(submission)
    with rules.svc.db.transaction() as session, pytest.raises(Forbidden):
        sub.record_fee(session, session.get(m.Submission, submission), session.get(m.Person, other), now=NOW)
    assert rules.submit(submission, link=False, pay=False) == 1
    with rules.svc.db.read() as session:
        attempt = session.scalars(select(m.Attempt)).one()
        assert attempt.fee_receipt == receipt
        assert session.scalars(select(m.Payment)).one().attempt_id == attempt.id

    rules.review(submission, rules.founder, earn=False)
    # The used payment cannot pay for a second attempt, named or not.
    with pytest.raises(InputError, match="FEE-2026-C00001 has already paid for an attempt"):
        rules.submit(submission, link=False, pay=False, receipt=receipt)
    with pytest.raises(InputError, match="Record the review fee as paid"):
        rules.submit(submission, link=False, pay=False)
    # Another submission's receipt is refused too.
    elsewhere = rules.start(other, "m2")
    other_receipt = rules.pay(elsewhere)
    with pytest.raises(InputError, match="no fee receipt 'FEE-2026-C00002' for this submission"):
        rules.submit(submission, link=False, pay=False, receipt=other_receipt)
    # Staff may record a fee for an educator.
    with rules.svc.db.transaction() as session:
        staff = session.get(m.Person, rules.staff)
        sub.record_fee(session, session.get(m.Submission, submission), staff, now=NOW, program=rules.ctx)
    assert rules.submit(submission, link=False, pay=False) == 2
    assert rules.count(m.Payment) == 3


def test_a_receipt_number_collision_draws_again(rules):
    educator = rules.person("ed@example.org")
    first, second = rules.start(educator, "m1"), rules.start(educator, "m2")
    codes = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    rules.ctx.receipt_code = lambda: next(codes)
    assert (rules.pay(first), rules.pay(second)) == ("FEE-2026-AAAAAA", "FEE-2026-BBBBBB")


def test_payout_is_the_fee_share_for_earned_and_returned_reviews(rules):
    educator = rules.person("ed@example.org")
    submission = rules.submitted(educator, "m1")
    assert rules.review(submission, rules.founder, earn=False).payout_cents == 1000  # 2000 x 50 %
    rules.submit(submission)
    assert rules.review(submission, rules.founder).payout_cents == 1000
    other = rules.submitted(educator, "m2")
    assert (
        rules.review(other, rules.founder, ctx=sub.ProgramContext(reviewer_share_percent=35)).payout_cents
        == 700
    )
    assert payouts.share_of(1999, 50) == 999  # rounded down: never more than the share
    with pytest.raises(InputError, match="from 0 to 100"):
        payouts.share_of(2000, 101)


def test_payout_ledger_totals_and_exact_csv(rules):
    educator = rules.person("ed@example.org")
    evil = rules.person("evil@example.org", reviewer=True, name="=HYPERLINK(1)")
    rules.assign(evil, "methods")
    rules.now = datetime(2026, 1, 4, 23, 59, tzinfo=UTC)
    before = rules.submitted(educator, "m1")
    rules.review(before, rules.founder)  # outside the period
    rules.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    one = rules.submitted(educator, "m2")
    rules.review(one, rules.founder, earn=False)
    rules.now = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
    rules.submit(one)
    rules.review(one, evil)
    rules.now = datetime(2026, 1, 7, 23, 59, tzinfo=UTC)
    two = rules.submitted(educator, "m3")
    rules.review(two, rules.founder)
    rules.now = datetime(2026, 1, 8, 0, 0, tzinfo=UTC)
    rules.review(rules.submitted(educator, "m4"), rules.founder)  # after the period

    with rules.svc.db.read() as session:
        ledger = payouts.ledger(session, start=date(2026, 1, 5), end=date(2026, 1, 7))
        founder_only = payouts.ledger(
            session,
            start=date(2026, 1, 5),
            end=date(2026, 1, 7),
            reviewer=session.get(m.Person, rules.founder),
        )
    assert [line.amount_cents for line in ledger.lines] == [1000, 1000, 1000]
    assert ledger.totals == {"founder@example.org": 2000, "evil@example.org": 1000}
    assert ledger.total_cents == 3000
    assert [line.decision for line in ledger.lines] == ["returned", "earned", "earned"]
    assert founder_only.total_cents == 2000 and len(founder_only.lines) == 2
    assert (
        payouts.ledger_csv(ledger)
        == (
            "date,reviewer name,reviewer email,submission id,microcredential,amount (USD)\r\n"
            f"2026-01-05,Fran Founder,founder@example.org,{one},Method Two (v1),10.00\r\n"
            f"2026-01-06,'=HYPERLINK(1),evil@example.org,{one},Method Two (v1),10.00\r\n"
            f"2026-01-07,Fran Founder,founder@example.org,{two},Method Three (v1),10.00\r\n"
        ).encode()
    )
    with rules.svc.db.read() as session, pytest.raises(InputError, match="ends before it starts"):
        payouts.ledger(session, start=date(2026, 1, 7), end=date(2026, 1, 5))
    assert payouts.dollars(5) == "0.05" and payouts.dollars(123456) == "1234.56"


# --- resubmission --------------------------------------------------------------------------------


def test_unlimited_resubmission_keeps_every_attempt_its_fee_and_feedback(rules):
    educator = rules.person("ed@example.org")
    submission = rules.submitted(educator, "m1")
    for n in range(1, 5):
        rules.review(submission, rules.founder, earn=False)
        rules.tick()
        assert rules.submit(submission) == n + 1
    assert rules.review(submission, rules.founder).credential is not None
    with rules.svc.db.read() as session:
        row = session.get(m.Submission, submission)
        attempts = [(a.number, a.fee_receipt, a.review.decision, a.review.feedback) for a in row.attempts]
        items = session.scalars(select(m.EvidenceItem).order_by(m.EvidenceItem.id)).all()
        assert [i.attempt_id for i in items] == [a.id for a in row.attempts]  # one new link per attempt
        assert [len(a.evidence) for a in row.attempts] == [1, 2, 3, 4, 5]  # all items so far
    assert attempts == [
        *[(n, f"FEE-2026-C{n:05d}", "returned", NOT_YET) for n in range(1, 5)],
        (5, "FEE-2026-C00005", "earned", {}),
    ]
    assert rules.count(m.Payout) == 5
    assert rules.count(m.OutboxMessage, m.OutboxMessage.subject == "Method One: returned with feedback") == 4


# --- stacks and bundles --------------------------------------------------------------------------


def test_stack_credential_is_issued_with_the_last_member_exactly_once(rules):
    educator = rules.person("ed@example.org")
    components = []
    for slug in METHODS[:6]:
        outcome = rules.earn(educator, slug)
        assert outcome.composites == [], slug  # not before the last member
        components.append(outcome.credential)
    assert rules.count(m.Credential, m.Credential.kind == "stack") == 0
    last = rules.earn(educator, "m7")
    components.append(last.credential)
    assert len(last.composites) == 1
    stack_id = last.composites[0]

    text, credential = rules.stored(stack_id)
    assert schema.validate(credential) == []
    report = rules.verify(stack_id)
    assert report.verified is True, report.to_json()
    assert report.status_of(r.STATUS) == r.PASSED
    achievement = credential["credentialSubject"]["achievement"]
    with rules.svc.db.read() as session:
        row = session.get(m.Credential, stack_id)
        stack = session.scalar(select(m.Stack).where(m.Stack.slug == "methods"))
        assert (row.kind, row.stack_id, row.bundle_id, row.version_id, row.submission_id) == (
            "stack",
            stack.id,
            None,
            None,
            None,
        )
        assert row.credit == Decimal("0")
        indexes = set(session.scalars(select(m.Credential.status_index)))
        assert len(indexes) == 8  # its own status index
        image = f"{BASE}/images/{stack.image_png_id}.png"
        stored = {cid: session.get(m.Credential, cid).signed_json for cid in components}
    assert achievement["id"] == f"{BASE}/stacks/methods"
    assert achievement["achievementType"] == "Certificate"
    assert (achievement["name"], achievement["description"]) == ("Science Methods", "Seven methods.")
    assert achievement["image"]["id"] == image
    assert achievement["creditsAvailable"] == 0.0
    assert credential["credentialSubject"]["creditsEarned"] == 0.0
    assert credential["evidence"] == [
        {
            "type": ["Evidence"],
            "id": f"{BASE}/credentials/{cid}",
            "name": NAMES[slug],
            "narrative": "Earned 2026-01-05",
        }
        for slug, cid in zip(METHODS, components, strict=True)
    ]
    assert credential["relatedResource"] == [
        {"id": f"{BASE}/credentials/{cid}", "digestSRI": sri(stored[cid])} for cid in components
    ]
    assert compose.digest_sri(stored[components[0]]) == sri(stored[components[0]])
    assert rules.count(m.OutboxMessage, m.OutboxMessage.subject == "You earned Science Methods") == 1

    # A member is earned once: a second submission for it is refused, so no credit counts twice
    # and no second stack credential can follow.
    with rules.svc.db.transaction() as session, pytest.raises(sub.WorkflowError) as again:
        sub.start_submission(session, session.get(m.Person, educator), "m1", now=NOW)
    assert again.value.message == "ed@example.org already holds 'Method One'; it is earned only once."
    assert rules.count(m.Credential, m.Credential.kind == "stack") == 1
    # Holding the stack now makes the (untrained) educator eligible once trained.
    other = rules.submitted(rules.person("x@example.org"), "m2")
    assert rules.can_review(educator, other) is False
    rules.set_trained(educator, True)
    assert rules.can_review(educator, other) is True


def test_bundle_credential_follows_the_second_stack(rules):
    educator = rules.person("ed@example.org")
    rules.earn(educator, "t1")
    three_d = rules.earn(educator, "t2").composites
    assert len(three_d) == 1
    for slug in METHODS[:6]:
        assert rules.earn(educator, slug).composites == []
    last = rules.earn(educator, "m7").composites
    assert len(last) == 2
    methods_stack, bundle = last
    _, credential = rules.stored(bundle)
    assert schema.validate(credential) == []
    assert rules.verify(bundle).verified is True
    with rules.svc.db.read() as session:
        row = session.get(m.Credential, bundle)
        assert (row.kind, row.bundle_id is not None, row.stack_id, row.credit) == (
            "bundle",
            True,
            None,
            Decimal("1"),
        )
        stacks = {cid: session.get(m.Credential, cid).signed_json for cid in (methods_stack, three_d[0])}
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"] == f"{BASE}/bundles/all"
    assert (achievement["achievementType"], achievement["creditsAvailable"]) == ("Certificate", 1.0)
    assert credential["credentialSubject"]["creditsEarned"] == 1.0
    assert [e["name"] for e in credential["evidence"]] == ["Science Methods", "Three-D Teaching"]
    assert credential["relatedResource"] == [
        {"id": f"{BASE}/credentials/{methods_stack}", "digestSRI": sri(stacks[methods_stack])},
        {"id": f"{BASE}/credentials/{three_d[0]}", "digestSRI": sri(stacks[three_d[0]])},
    ]
    assert rules.count(m.Credential, m.Credential.kind == "bundle") == 1


# --- versions, retirement, transcripts -----------------------------------------------------------


def test_publish_version_keeps_old_credentials_counting_and_in_progress_submissions(rules):
    educator = rules.person("ed@example.org")
    late = rules.person("late@example.org")
    old = rules.earn(educator, "m1").credential
    in_progress = rules.start(late, "m1")

    with rules.svc.db.transaction() as session, pytest.raises(Forbidden, match="Only staff"):
        catalog_admin.publish_version(session, session.get(m.Person, educator), "m1", {"name": "X"}, now=NOW)
    rules.tick()
    with rules.svc.db.transaction() as session:
        staff = session.get(m.Person, rules.staff)
        version = catalog_admin.publish_version(
            session,
            staff,
            "m1",
            {"description": "Revised.", "reflection_prompts": ["One?", "Two?"]},
            now=rules.now,
        )
        assert (version.version, version.description, version.name) == ("2", "Revised.", "Method One")
        assert version.credit == Decimal("0.5") and version.fee_cents == 2000
        assert version.image_png_id == version.microcredential.versions[0].image_png_id
    with rules.svc.db.read() as session:
        assert session.get(m.Submission, in_progress).version.version == "1"  # keeps its version
    fresh = rules.start(rules.person("new@example.org"), "m1")
    with rules.svc.db.read() as session:
        assert session.get(m.Submission, fresh).version.version == "2"
    # The in-progress submission completes on version 1; the new one on version 2.
    rules.submit(in_progress)
    assert rules.review(in_progress, rules.founder).credential is not None
    rules.link(fresh)
    rules.pay(fresh)
    with rules.svc.db.transaction() as session, pytest.raises(InputError, match="Answer each of the 2"):
        sub.submit_attempt(session, session.get(m.Submission, fresh), reflections=["only one"], now=NOW)
    with rules.svc.db.transaction() as session:
        sub.submit_attempt(session, session.get(m.Submission, fresh), reflections=["One.", "Two."], now=NOW)
    new = rules.review(fresh, rules.founder).credential
    _, credential = rules.stored(new)
    achievement = credential["credentialSubject"]["achievement"]
    assert (achievement["id"], achievement["version"]) == (f"{BASE}/achievements/m1/v2", "2")
    assert achievement["related"] == [
        {"id": f"{BASE}/achievements/m1/v1", "type": ["Related"], "version": "1"}
    ]
    # The version-1 credential still verifies, still counts toward the stack, stays on the transcript.
    assert rules.verify(old).verified is True
    for slug in METHODS[1:]:
        composites = rules.earn(educator, slug).composites
    assert len(composites) == 1
    _, stack = rules.stored(composites[0])
    assert stack["relatedResource"][0]["id"] == f"{BASE}/credentials/{old}"
    with rules.svc.db.read() as session:
        record = transcripts.transcript(session, session.get(m.Person, educator), rules.svc.urls)
    assert [(row.name, row.version, row.credit) for row in record.rows][0] == (
        "Method One",
        "1",
        Decimal("0.5"),
    )
    assert record.total_credit == Decimal("3.5")


BAD_CHANGES = {
    "unknown field": ({"slug": "other"}, InputError, "'slug' cannot be changed"),
    "nothing changes": ({"name": "Method One"}, InputError, "nothing to publish"),
    "taken label": ({"version": "1", "name": "New"}, InputError, "already has a version '1'"),
    "bad label": ({"version": "two words", "name": "New"}, InputError, "must be 1-20 letters"),
    "blank name": ({"name": "  "}, CatalogError, "changes.name: must not be empty"),
    "required level not a level": (
        {
            "rubric": [
                {
                    "id": "plan",
                    "name": "Plan",
                    "description": "Plan.",
                    "required": "great",
                    "levels": [
                        {"id": "no", "name": "No", "description": "No."},
                        {"id": "yes", "name": "Yes", "description": "Yes."},
                    ],
                }
            ]
        },
        CatalogError,
        "changes.rubric[0].required: 'great' is not one of the levels",
    ),
    "one level": (
        {
            "rubric": [
                {
                    "id": "plan",
                    "name": "P",
                    "description": "P.",
                    "required": "no",
                    "levels": [{"id": "no", "name": "No", "description": "No."}],
                }
            ]
        },
        CatalogError,
        "must have at least two levels",
    ),
    "credit out of range": ({"credit": 500}, CatalogError, "changes.credit: 500 must be between 0 and 100"),
    "bad audience": ({"audience": ["pilot"]}, CatalogError, "'pilot' is not one of"),
}


def test_publish_version_checks_changes_like_the_catalog(rules):
    for case, (changes, error, words) in BAD_CHANGES.items():
        with rules.svc.db.transaction() as session, pytest.raises(error, match=re.escape(words)):
            catalog_admin.publish_version(session, session.get(m.Person, rules.staff), "m1", changes, now=NOW)
        assert rules.count(m.MicrocredentialVersion) == 10, case
    rubric = [
        {
            "id": "plan",
            "name": "Plan",
            "description": "Plan.",
            "required": "yes",
            "levels": [
                {"id": "no", "name": "No", "description": "No."},
                {"id": "yes", "name": "Yes", "description": "Yes."},
            ],
        }
    ]
    with rules.svc.db.transaction() as session:
        staff = session.get(m.Person, rules.staff)
        version = catalog_admin.publish_version(
            session, staff, "m1", {"version": "2.0", "rubric": rubric, "fee": "25"}, now=NOW
        )
        assert (version.version, version.rubric, version.fee_cents) == ("2.0", rubric, 2500)
        assert (
            catalog_admin.publish_version(session, staff, "m1", {"tags": ["science"]}, now=NOW).version
            == "2.1"
        )
    assert catalog_admin.next_label("9") == "10"
    with pytest.raises(InputError, match="ends in no number"):
        catalog_admin.next_label("beta")


def test_retire_takes_no_new_submissions_and_leaves_credentials_valid(rules):
    educator = rules.person("ed@example.org")
    earned = rules.earn(educator, "lone").credential
    waiting = rules.submitted(rules.person("waiting@example.org"), "lone")
    with rules.svc.db.read() as session:
        lists_before = [(s.id, bytes(s.bits)) for s in session.scalars(select(m.StatusList))]
    with rules.svc.db.transaction() as session, pytest.raises(Forbidden):
        catalog_admin.retire(session, session.get(m.Person, rules.founder), "lone", now=NOW)
    with rules.svc.db.transaction() as session:
        micro = catalog_admin.retire(session, session.get(m.Person, rules.staff), "lone", now=rules.tick())
        assert (micro.state, micro.retired_at is not None) == ("retired", True)
    with pytest.raises(WorkflowError, match="retired and takes no new submissions"):
        rules.start(rules.person("new@example.org"), "lone")
    with rules.svc.db.transaction() as session, pytest.raises(WorkflowError, match="already retired"):
        catalog_admin.retire(session, session.get(m.Person, rules.staff), "lone", now=NOW)
    with rules.svc.db.transaction() as session, pytest.raises(WorkflowError, match="gets no new versions"):
        catalog_admin.publish_version(
            session, session.get(m.Person, rules.staff), "lone", {"name": "Y"}, now=NOW
        )
    assert rules.verify(earned).verified is True
    assert rules.review(waiting, rules.founder).credential is not None  # work already under way finishes
    with rules.svc.db.read() as session:
        lists_after = [(s.id, bytes(s.bits)) for s in session.scalars(select(m.StatusList))]
        record = transcripts.transcript(session, session.get(m.Person, educator), rules.svc.urls)
    assert lists_after == lists_before  # no bit changed (the list is signed lazily when first fetched)
    assert [(row.name, row.credit) for row in record.rows] == [("Lone Practice", Decimal("0.5"))]


def test_transcript_rows_total_dict_and_exact_csv(rules):
    educator = rules.person("ed@example.org", name="Ana Núñez")
    for slug in METHODS:
        rules.earn(educator, slug)
    with rules.svc.db.read() as session:
        record = transcripts.transcript(session, session.get(m.Person, educator), rules.svc.urls)
    assert [(row.name, row.kind, row.version, row.credit) for row in record.rows] == [
        *[(NAMES[slug], "microcredential", "1", Decimal("0.5")) for slug in METHODS],
        ("Science Methods", "stack", None, Decimal("0")),
    ]
    assert record.total_credit == Decimal("3.5")  # 7 x 0.5 + 0
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 9)]
    assert [row.credential_id for row in record.rows] == ids
    data = transcripts.transcript_dict(record)
    assert json.loads(json.dumps(data)) == data
    assert data["total_credit"] == 3.5 and data["name"] == "Ana Núñez"
    assert data["credentials"][-1] == {
        "id": ids[-1],
        "url": f"{BASE}/credentials/{ids[-1]}",
        "name": "Science Methods",
        "kind": "stack",
        "version": None,
        "issued": "2026-01-05",
        "credit": 0.0,
        "suspended": False,
    }
    lines = [
        f"{NAMES[slug]},microcredential,1,2026-01-05,0.5,{BASE}/credentials/{cid}\r\n"
        for slug, cid in zip(METHODS, ids, strict=False)
    ]
    assert transcripts.transcript_csv(record) == (
        "credential,kind,version,issued,credit,url\r\n"
        + "".join(lines)
        + f"Science Methods,stack,,2026-01-05,0,{BASE}/credentials/{ids[7]}\r\n"
        + "Total,,,,3.5,\r\n"
    ).encode("utf-8")


# --- audit and notifications ---------------------------------------------------------------------


def test_every_change_is_audited_with_before_and_after(rules):
    educator = rules.person("ed@example.org")
    submission = rules.start(educator, "lone")
    removed = rules.link(submission, title="Draft link")
    with rules.svc.db.transaction() as session:
        ev.remove_item(session, removed, session.get(m.Person, educator), now=NOW)
    rules.submit(submission)
    rules.review(submission, rules.founder)
    for slug in METHODS:
        rules.earn(educator, slug)
    for slug in ("t1", "t2"):
        rules.earn(educator, slug)
    with rules.svc.db.transaction() as session:
        staff = session.get(m.Person, rules.staff)
        catalog_admin.publish_version(session, staff, "m1", {"name": "Method One, revised"}, now=NOW)
        catalog_admin.retire(session, staff, "m2", now=NOW)
        notify.send_pending(session, smtp=None, now=NOW)
    with rules.svc.db.read() as session:
        log = audit.entries(session, limit=1000)
    by_action: dict[str, list[m.AuditEntry]] = {}
    for entry in log:
        by_action.setdefault(entry.action, []).append(entry)
    created = {
        "person.created": "people",
        "reviewer.assigned": "stacks",
        "submission.started": "submissions",
        "evidence.added": "evidence_items",
        "fee.paid": "payments",
        "attempt.submitted": "attempts",
        "review.recorded": "reviews",
        "credential.issued.microcredential": "credentials",
        "credential.issued.stack": "credentials",
        "credential.issued.bundle": "credentials",
        "payout.added": "payouts",
        "outbox.queued": "outbox",
    }
    for action, table in created.items():
        assert action in by_action, action
        assert all(e.subject_type == table and e.before is None and e.after for e in by_action[action]), (
            action
        )
    changed = (
        "evidence.removed",
        "fee.used",
        "submission.submitted",
        "submission.earned",
        "version.published",
    )
    changed += ("microcredential.retired", "outbox.sent")
    for action in changed:
        assert action in by_action, action
        assert all(e.before is not None and e.after is not None for e in by_action[action]), action
    retired = by_action["microcredential.retired"][0]
    assert (retired.before["state"], retired.after["state"], retired.actor_id) == (
        "active",
        "retired",
        rules.staff,
    )
    published = by_action["version.published"][0]
    assert (published.before["version"], published.after["version"], published.after["changed"]) == (
        "1",
        "2",
        ["name"],
    )
    assert by_action["evidence.removed"][0].before["title"] == "Draft link"
    assert len(by_action["credential.issued.stack"]) == 2 and len(by_action["credential.issued.bundle"]) == 1
    issued = by_action["credential.issued.microcredential"][0].after
    assert "signed_json" not in issued and issued["kind"] == "microcredential"
    submitted = by_action["submission.submitted"][0]
    assert (submitted.before["state"], submitted.after["state"], submitted.actor_id) == (
        "draft",
        "submitted",
        educator,
    )
    assert all("data" not in (e.after or {}) for e in by_action["evidence.added"])


def test_outbox_on_earn_and_return_then_sent_to_the_log(rules, caplog):
    educator = rules.person("ed@example.org")
    submission = rules.submitted(educator, "m1")
    rules.review(submission, rules.founder, earn=False)
    rules.submit(submission)
    credential = rules.review(submission, rules.founder).credential
    with rules.svc.db.read() as session:
        messages = session.scalars(select(m.OutboxMessage).order_by(m.OutboxMessage.id)).all()
    assert [(msg.to_email, msg.subject, msg.sent_at) for msg in messages] == [
        ("ed@example.org", "Method One: returned with feedback", None),
        ("ed@example.org", "You earned Method One", None),
    ]
    assert "Planning: Name the practice in the plan." in messages[0].body
    assert f"{BASE}/credentials/{credential}" in messages[1].body

    with (
        caplog.at_level(logging.INFO, logger="badgeserver.program.notify"),
        rules.svc.db.transaction() as session,
    ):
        assert notify.send_pending(session, smtp=rules.svc.settings, now=NOW) == 2
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "badgeserver.program.notify"]
    assert len(logged) == 2 and "You earned Method One" in logged[1]
    assert all(
        rec.levelno == logging.INFO for rec in caplog.records if rec.name == "badgeserver.program.notify"
    )
    with rules.svc.db.transaction() as session:
        assert notify.send_pending(session, smtp=None, now=NOW) == 0
        assert all(
            msg.sent_at is not None and msg.tries == 1 for msg in session.scalars(select(m.OutboxMessage))
        )


class FakeSMTP:
    """Records what would be sent; `fail` makes every send raise."""

    sent: list[Any] = []
    fail = False

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def send_message(self, message: Any) -> None:
        if FakeSMTP.fail:
            import smtplib

            raise smtplib.SMTPRecipientsRefused({"x": (550, b"no")})
        FakeSMTP.sent.append((self.address, message))


def test_send_pending_by_smtp_when_configured(rules):
    FakeSMTP.sent, FakeSMTP.fail = [], False
    rules.earn(rules.person("ed@example.org"), "lone")
    smtp = replace(
        rules.svc.settings, smtp_host="mail.example.org", smtp_port=2525, smtp_from="badges@example.org"
    )
    FakeSMTP.fail = True
    with rules.svc.db.transaction() as session:
        assert notify.send_pending(session, smtp=smtp, now=NOW, connect=FakeSMTP) == 0
    with rules.svc.db.read() as session:
        message = session.scalars(select(m.OutboxMessage)).one()
        assert (message.sent_at, message.tries) == (None, 1) and "SMTPRecipientsRefused" in message.last_error
    FakeSMTP.fail = False
    with rules.svc.db.transaction() as session:
        assert notify.send_pending(session, smtp=smtp, now=NOW, connect=FakeSMTP) == 1
    ((address, email),) = FakeSMTP.sent
    assert address == ("mail.example.org", 2525)
    assert (email["From"], email["To"], email["Subject"]) == (
        "badges@example.org",
        "ed@example.org",
        "You earned Lone Practice",
    )


def test_program_settings_from_the_environment(tmp_path):
    environ = {"BADGESERVER_REVIEWER_SHARE_PERCENT": "40", "BADGESERVER_SMTP_HOST": "mail.example.org"}
    settings = load_settings({"instance_path": str(tmp_path), "secret_key": "x"}, environ=environ)
    assert (settings.reviewer_share_percent, settings.smtp_host, settings.smtp_port) == (
        40,
        "mail.example.org",
        25,
    )
    assert settings.max_evidence_bytes == 10 * 1024 * 1024
    context = sub.ProgramContext.from_settings(settings)
    assert (context.reviewer_share_percent, context.max_evidence_bytes) == (40, 10 * 1024 * 1024)
    with pytest.raises(InputError, match="REVIEWER_SHARE_PERCENT must be a whole number from 0 to 100"):
        load_settings(
            {"instance_path": str(tmp_path), "secret_key": "x"},
            environ={"BADGESERVER_REVIEWER_SHARE_PERCENT": "150"},
        )


def test_a_related_resource_needs_a_digest():
    from badgeserver.issuer import build

    assert build.related_resource_json(
        build.RelatedResource(id="https://x.example/c", digest_sri="sha384-AAAA")
    ) == {
        "id": "https://x.example/c",
        "digestSRI": "sha384-AAAA",
    }
    with pytest.raises(InputError, match="needs a digest"):
        build.related_resource_json(build.RelatedResource(id="https://x.example/c"))
