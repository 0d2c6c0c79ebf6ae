"""The demo scenario: educators, reviewers and real submissions through review on the bundled catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

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

# (educator index, microcredential slug, returned first?)
EARNINGS = (
    (0, "crosscutting-concepts", True),
    (0, "student-sensemaking", False),
    (1, "phenomenon-based-teaching-and-learning", False),
    (2, "3d-science-assessments", False),
    (3, "science-and-engineering-practices", False),
    (3, "instructional-models", False),
)


@dataclass(frozen=True)
class DemoAward:
    """One credential the demo issued: who earned what, after how many attempts."""

    credential_id: str
    earner: str
    earner_email: str
    microcredential: str
    attempts: int


def _evidence(version: m.MicrocredentialVersion, attempt: int) -> list[dict[str, str]]:
    return [
        {"name": item["name"], "description": f"{item['description']} (attempt {attempt})"}
        for item in version.evidence
    ]


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


def run_demo(
    session: Session, catalog: Catalog, issuing: IssuingContext, clock: Callable[[], datetime]
) -> list[DemoAward]:
    """Import the catalog, add people, and run every demo submission through review."""
    now = clock()
    import_catalog(session, catalog, now=now)
    educators = [
        sub.create_person(session, email=email, name=name, public_name=public, now=now)
        for email, name, public in EDUCATORS
    ]
    reviewers = [
        sub.create_person(session, email=email, name=name, reviewer=True, now=now)
        for email, name in REVIEWERS
    ]
    sub.create_person(session, email=STAFF[0], name=STAFF[1], staff=True, now=now)
    awards = []
    for n, (who, slug, returned_first) in enumerate(EARNINGS):
        educator = educators[who]
        reviewer = reviewers[n % len(reviewers)]
        submission = sub.start_submission(session, educator, slug, now=clock())
        version = submission.version
        attempts = 0
        for earned in ([False] if returned_first else []) + [True]:
            attempts += 1
            sub.submit_attempt(
                session,
                submission,
                evidence=_evidence(version, attempts),
                reflections=_reflections(version, educator),
                fee_receipt=f"FEE-{submission.id:05d}-{attempts}",
                now=clock(),
            )
            scores, feedback = _scores(version, earned=earned)
            outcome = sub.review_submission(
                session, submission, reviewer, scores=scores, feedback=feedback, now=clock(), issuing=issuing
            )
        if outcome.credential is None:
            raise sub.WorkflowError(f"The demo submission for {slug} was not earned.")
        awards.append(
            DemoAward(
                credential_id=outcome.credential.id,
                earner=educator.public_name or "(name kept private)",
                earner_email=educator.email,
                microcredential=version.name,
                attempts=attempts,
            )
        )
    return awards
