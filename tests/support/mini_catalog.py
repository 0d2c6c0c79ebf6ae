"""A small catalog written to a folder: one issuer, three microcredentials, one stack, one bundle."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

CATALOG = """\
format: badgeserver-catalog/1
program:
  name: Test Program
  description: A small program for tests.
issuers:
  - slug: usbe
    name: Utah State Board of Education
    url: https://www.schools.utah.gov
    email: microcredentials@schools.utah.gov
    description: The state board.
    image: images/usbe.svg
microcredentials:
  - slug: crosscutting-concepts
    issuer: usbe
    name: Crosscutting Concepts
    version: "1"
    audience: [teacher]
    credit: 0.5
    fee: "20.00"
    description: Students use crosscutting concepts to explain phenomena.
    criteria: Submit a lesson plan and student work.
    evidence:
      - name: Lesson plan
        description: A plan naming the crosscutting concept.
      - name: Student work
        description: Two samples.
    reflection_prompts:
      - How did the concept help students reason?
      - What would you change?
    rubric:
      - id: plan
        name: Planning
        description: The plan names the concept.
        required: proficient
        levels:
          - {id: not-yet, name: Not Yet, description: No concept named.}
          - {id: proficient, name: Proficient, description: The concept is named and used.}
          - {id: exemplary, name: Exemplary, description: Students choose the concept themselves.}
      - id: student-use
        name: Student use
        description: Student work shows the concept.
        required: proficient
        levels:
          - {id: not-yet, name: Not Yet, description: Not visible.}
          - {id: proficient, name: Proficient, description: Visible in both samples.}
    alignments:
      - name: Utah SEEd Standards
        url: https://www.schools.utah.gov/curr/science
        framework: Utah SEEd Standards
    tags: [science]
    image: images/crosscutting-concepts.svg
  - slug: student-sensemaking
    issuer: usbe
    name: Student Sensemaking
    description: Students make sense of phenomena.
    criteria: Submit a video and reflection.
    evidence:
      - name: Video
        description: Ten minutes of class.
    reflection_prompts:
      - What did students figure out?
    rubric:
      - id: talk
        name: Student talk
        description: Students reason aloud.
        required: proficient
        levels:
          - {id: not-yet, name: Not Yet, description: Teacher talk only.}
          - {id: proficient, name: Proficient, description: Students reason aloud.}
    image: images/student-sensemaking.svg
  - slug: instructional-models
    issuer: usbe
    name: Instructional Models
    description: Uses an instructional model.
    criteria: Submit a unit plan.
    evidence:
      - name: Unit plan
        description: A unit plan.
    reflection_prompts:
      - Why this model?
    rubric:
      - id: model
        name: Model
        description: The model is followed.
        required: proficient
        levels:
          - {id: not-yet, name: Not Yet, description: No model.}
          - {id: proficient, name: Proficient, description: A model is followed.}
    image: images/instructional-models.svg
stacks:
  - slug: methods
    issuer: usbe
    name: Science Teaching Methods
    description: Methods.
    image: images/methods.svg
    microcredentials: [student-sensemaking, instructional-models]
bundles:
  - slug: secondary-science
    issuer: usbe
    name: Secondary Science
    description: Everything.
    image: images/secondary-science.svg
    stacks: [methods]
"""

IMAGES = ("usbe", "crosscutting-concepts", "student-sensemaking", "instructional-models", "methods", "secondary-science")


def png_bytes(colour: tuple[int, int, int]) -> bytes:
    """A small real PNG badge of one colour."""
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (*colour, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_mini_catalog(folder: Path, text: str = CATALOG) -> Path:
    """Write the catalog and its images into `folder`; return the catalog file."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for n, stem in enumerate(IMAGES):
        (images / f"{stem}.png").write_bytes(png_bytes((20 * n, 90, 160)))
        (images / f"{stem}.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><title>{stem}</title>'
            f'<circle cx="32" cy="32" r="30" fill="#1{n}5a9f"/></svg>',
            "utf-8",
        )
    path = folder / "catalog.yaml"
    path.write_text(text, "utf-8")
    return path
