"""The demo scenario on the bundled catalog: fees, evidence, eligible reviewers, stacks, versions, retirement.

Staff assign the two trained reviewers as founding reviewers of both stacks; educators pay fees,
upload a real PDF and a link, and go through rubric review (one returned first). One educator earns
all seven microcredentials of "Science Teaching Methods", so the stack credential is issued at once;
staff then mark him trained and he reviews someone else's submission. A microcredential gets a
version 2 after someone earned version 1, and another is retired after it was earned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from badgeserver.program import accounts, catalog_admin, eligibility, evidence, notify, profiles
from badgeserver.program import submissions as sub
from badgeserver.program.catalog import Catalog
from badgeserver.program.catalog_import import import_catalog
from badgeserver.program.issuing import IssuingContext, rubric_levels
from badgeserver.store import models as m

EDUCATORS = (
    ("maya.torres@alpine.example.org", "Maya Torres", "Maya Torres"),
    ("ben.okafor@granite.example.org", "Ben Okafor", "Ben Okafor"),
    ("priya.shah@canyons.example.org", "Priya Shah", None),  # keeps her name private
    ("luis.ortega@davis.example.org", "Luis Ortega", "Luis Ortega"),
)
REVIEWERS = (
    ("hannah.lee@usbe.example.org", "Hannah Lee"),
    ("sam.whitehorse@usbe.example.org", "Sam Whitehorse"),
)
STAFF = ("program.staff@usbe.example.org", "Program Staff")
STACKS = ("three-dimensional-teaching-and-learning", "science-teaching-methods")
METHODS = (
    "student-sensemaking",
    "instructional-models",
    "knowledge-of-students-and-the-learning-environment",
    "curriculum-creation-review-and-adoption",
    "student-discourse-collaboration-and-consensus",
    "integration-with-math-ela-and-other-stem-disciplines",
    "professional-collaboration-and-ongoing-learning",
)
# (educator index, microcredential slug, returned first?)
EARNINGS = (
    (0, "crosscutting-concepts", True),
    (0, "student-sensemaking", False),
    (1, "phenomenon-based-teaching-and-learning", False),
    (2, "3d-science-assessments", False),
    (3, "science-and-engineering-practices", False),
    (3, "instructional-models", False),
)
STACK_EARNER = 1  # Ben earns the whole methods stack, then reviews once trained
UPDATED = "crosscutting-concepts"  # gets a version 2 after Maya earned version 1
RETIRED = "3d-science-assessments"  # retired after Priya earned it
PROFILE_HANDLE = "maya-torres"  # Maya's public profile: /earners/maya-torres


@dataclass(frozen=True)
class DemoAward:
    """One credential the demo issued: the earner, what they earned (of which kind) and the attempts."""

    credential_id: str
    earner: str
    earner_email: str
    microcredential: str
    attempts: int
    kind: str = "microcredential"


def _pdf_text(text: str) -> bytes:
    raw = text.encode("latin-1", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def demo_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A small but real one-page PDF (Helvetica text), with a correct cross-reference table."""
    content = b"BT /F1 16 Tf 72 720 Td (" + _pdf_text(title) + b") Tj /F1 11 Tf"
    for line in lines:
        content += b" 0 -20 Td (" + _pdf_text(line) + b") Tj"
    content += b" ET"
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    return bytes(out)


def _reflections(version: m.MicrocredentialVersion, educator: m.Person) -> list[str]:
    return [
        f"{educator.name}: in my eighth-grade classes I planned for this deliberately and collected "
        f"student work to show it. Prompt answered: {prompt}"
        for prompt in version.reflection_prompts
    ]


def _scores(version: m.MicrocredentialVersion, *, earned: bool) -> tuple[dict[str, str], dict[str, str]]:
    scores: dict[str, str] = {}
    feedback: dict[str, str] = {}
    for n, criterion in enumerate(version.rubric):
        levels = [str(level["id"]) for level in rubric_levels(criterion)]
        required = str(criterion["required"])
        cid = str(criterion["id"])
        if not earned and n == 0:
            scores[cid] = levels[0]
            feedback[cid] = (
                f"The evidence does not yet show '{criterion['name']}' at the required level. "
                "Add student work that shows it and explain your choices in the reflection."
            )
        else:
            scores[cid] = levels[-1] if n % 2 else required
    return scores, feedback


class _Run:
    """One demo run: the session, contexts and clock, and the awards so far."""

    def __init__(
        self,
        session: Session,
        issuing: IssuingContext,
        program: sub.ProgramContext,
        clock: Callable[[], datetime],
    ) -> None:
        self.session, self.issuing, self.program, self.clock = session, issuing, program, clock
        self.awards: list[DemoAward] = []

    def _add_evidence(self, submission: m.Submission, educator: m.Person, attempt: int) -> None:
        version = submission.version
        plan = version.evidence[0]
        lines = [f"{plan['name']} for {version.name}, attempt {attempt}.", plan["description"][:90]]
        evidence.add_file(
            self.session,
            submission,
            educator,
            data=demo_pdf(f"{educator.name}: {plan['name']}", lines),
            filename=f"{version.microcredential.slug}-plan-{attempt}.pdf",
            media_type="application/pdf",
            title=plan["name"],
            description=f"{plan['description']} (attempt {attempt})",
            now=self.clock(),
            max_bytes=self.program.max_evidence_bytes,
        )
        if attempt == 1:
            evidence.add_link(
                self.session,
                submission,
                educator,
                url=f"https://video.example.org/{educator.email.split('@')[0]}/{version.microcredential.slug}",
                title="Classroom video",
                description="Ten minutes of students at work, with their permission.",
                now=self.clock(),
            )

    def earn(
        self,
        educator: m.Person,
        slug: str,
        reviewers: Sequence[m.Person],
        *,
        returned_first: bool = False,
        publish: bool = False,
    ) -> None:
        """One submission through fee, evidence, attempt(s) and review by the first eligible reviewer."""
        session = self.session
        submission = sub.start_submission(session, educator, slug, now=self.clock())
        if publish:
            sub.set_publish_evidence(session, submission, educator, True, now=self.clock())
        version = submission.version
        outcome = None
        for attempt, earned in enumerate(([False] if returned_first else []) + [True], 1):
            sub.record_fee(session, submission, educator, now=self.clock(), program=self.program)
            self._add_evidence(submission, educator, attempt)
            sub.submit_attempt(
                session, submission, reflections=_reflections(version, educator), now=self.clock()
            )
            reviewer = next((r for r in reviewers if eligibility.can_review(session, r, submission)), None)
            if reviewer is None:
                raise sub.WorkflowError(f"Nobody in the demo may review {slug}.")
            scores, feedback = _scores(version, earned=earned)
            outcome = sub.review_submission(
                session,
                submission,
                reviewer,
                scores=scores,
                feedback=feedback,
                now=self.clock(),
                issuing=self.issuing,
                program=self.program,
            )
        if outcome is None or outcome.credential is None:
            raise sub.WorkflowError(f"The demo submission for {slug} was not earned.")
        name = educator.public_name or "(name kept private)"
        tries = len(submission.attempts)
        self.awards.append(DemoAward(outcome.credential.id, name, educator.email, version.name, tries))
        for row in outcome.composites:
            title = self.group_name(row)
            self.awards.append(DemoAward(row.id, name, educator.email, title, 0, kind=row.kind))

    def group_name(self, row: m.Credential) -> str:
        """The stack's or bundle's name."""
        group: m.Stack | m.Bundle | None = (
            self.session.get(m.Stack, row.stack_id)
            if row.kind == "stack"
            else self.session.get(m.Bundle, row.bundle_id)
        )
        return group.name if group is not None else row.kind


def run_demo(
    session: Session,
    catalog: Catalog,
    issuing: IssuingContext,
    clock: Callable[[], datetime],
    program: sub.ProgramContext | None = None,
) -> list[DemoAward]:
    """Import the catalog, add people, and run every demo submission through review."""
    now = clock()
    run = _Run(session, issuing, program or sub.ProgramContext(), clock)
    import_catalog(session, catalog, now=now)
    staff = sub.create_person(session, email=STAFF[0], name=STAFF[1], staff=True, now=now)
    educators = [
        sub.create_person(session, email=email, name=name, public_name=public, now=now, actor=staff)
        for email, name, public in EDUCATORS
    ]
    reviewers = [
        sub.create_person(session, email=email, name=name, reviewer=True, now=now, actor=staff)
        for email, name in REVIEWERS
    ]
    for stack in STACKS:
        for reviewer in reviewers:
            catalog_admin.assign_founding_reviewer(session, staff, reviewer, stack, now=clock())
    for n, (who, slug, returned_first) in enumerate(EARNINGS):
        pool = reviewers[n % 2 :] + reviewers[: n % 2]
        run.earn(educators[who], slug, pool, returned_first=returned_first, publish=who == 0)

    # One educator earns the whole methods stack: the stack credential comes with the seventh.
    stack_earner = educators[STACK_EARNER]
    for slug in METHODS:
        run.earn(stack_earner, slug, reviewers)
    accounts.set_roles(session, staff, stack_earner, reviewer=True, staff=False, now=clock())
    # Now trained and holding the stack, he reviews someone else's submission in it.
    run.earn(educators[2], METHODS[4], [stack_earner])

    catalog_admin.publish_version(
        session,
        staff,
        UPDATED,
        {"description": _description(session, UPDATED) + " Revised: students now also transfer the concept."},
        now=clock(),
    )
    run.earn(educators[3], UPDATED, reviewers)  # earns version 2
    # Two educators publish their profiles: Maya chose her address, Ben keeps a random one.
    profiles.set_profile(session, educators[0], public=True, handle=PROFILE_HANDLE, now=clock())
    profiles.set_profile(session, educators[STACK_EARNER], public=True, handle=None, now=clock())
    catalog_admin.retire(session, staff, RETIRED, now=clock())
    notify.send_pending(session, smtp=None, now=clock())
    return run.awards


def _description(session: Session, slug: str) -> str:
    return catalog_admin.microcredential(session, slug).versions[-1].description
