"""The catalog file: the real Utah catalog, bad catalogs named by file, line and field, and the import command."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from defusedxml import ElementTree
from PIL import Image

from badgeserver.cli import main
from badgeserver.program.catalog import CatalogError, CatalogImage, load_catalog
from badgeserver.store import models as m
from badgeserver.store.db import Database
from tests.support.mini_catalog import CATALOG, write_mini_catalog

REAL = Path(__file__).resolve().parent.parent / "catalog" / "utah-secondary-science.yaml"
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"

THREE_D = [
    "nature-of-science-and-engineering",
    "crosscutting-concepts",
    "science-and-engineering-practices",
    "disciplinary-core-ideas",
    "phenomenon-based-teaching-and-learning",
    "equity-and-accessibility",
    "stem-and-society",
    "3d-science-assessments",
]
METHODS = [
    "student-sensemaking",
    "instructional-models",
    "knowledge-of-students-and-the-learning-environment",
    "curriculum-creation-review-and-adoption",
    "student-discourse-collaboration-and-consensus",
    "integration-with-math-ela-and-other-stem-disciplines",
    "professional-collaboration-and-ongoing-learning",
]


# --- the real catalog -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    return load_catalog(REAL)


def test_real_catalog_issuer_and_microcredentials(real):
    assert [(i.slug, i.name) for i in real.issuers] == [("usbe", "Utah State Board of Education")]
    assert len(real.microcredentials) == 15
    assert sorted(mc.slug for mc in real.microcredentials) == sorted(THREE_D + METHODS)
    for mc in real.microcredentials:
        assert mc.issuer == "usbe"
        assert mc.credit == Decimal("0.5"), mc.slug
        assert mc.fee_cents == 2000, mc.slug
        assert mc.version == "1"
        assert 3 <= len(mc.rubric) <= 4, mc.slug
        assert mc.reflection_prompts and mc.evidence
        for criterion in mc.rubric:
            assert criterion.required in [level.id for level in criterion.levels]


def test_real_catalog_stacks_and_bundle(real):
    assert [(s.slug, s.name, list(s.members)) for s in real.stacks] == [
        ("three-dimensional-teaching-and-learning", "Three-Dimensional Teaching and Learning", THREE_D),
        ("science-teaching-methods", "Science Teaching Methods", METHODS),
    ]
    assert [(b.name, list(b.members)) for b in real.bundles] == [
        ("Secondary Science", ["three-dimensional-teaching-and-learning", "science-teaching-methods"])
    ]


def _assert_image_pair(image: CatalogImage, label: str) -> None:
    with Image.open(io.BytesIO(image.png)) as png:
        png.verify()
    with Image.open(io.BytesIO(image.png)) as png:
        assert (png.format, png.size) == ("PNG", (512, 512)), label
    assert ElementTree.fromstring(image.svg).tag == SVG_ROOT, label


def test_real_catalog_images_are_512px_pngs_with_svg_twins(real):
    groups = [*real.microcredentials, *real.stacks, *real.bundles]
    assert len(groups) == 18
    for item in groups:
        _assert_image_pair(item.image, item.slug)
    issuer_png = real.issuers[0].image_png
    assert issuer_png is not None
    _assert_image_pair(
        CatalogImage(png=issuer_png, svg=(REAL.parent / "images" / "usbe.svg").read_bytes()), "usbe"
    )


def test_image_check_refuses_a_png_that_is_not_one(tmp_path):
    """The negative twin of the image checks: a .png twin holding SVG text is refused."""
    path = write_mini_catalog(tmp_path)
    (tmp_path / "images" / "methods.png").write_bytes((tmp_path / "images" / "methods.svg").read_bytes())
    with pytest.raises(CatalogError, match=r"stacks\[0\]\.image: 'images/methods.svg' and its .png twin"):
        load_catalog(path)


# --- bad catalogs -----------------------------------------------------------------------------


def _line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line of `text` containing `fragment`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) >= occurrence, fragment
    return hits[occurrence - 1]


def _replace(old: str, new: str) -> str:
    assert CATALOG.count(old) == 1, old
    return CATALOG.replace(old, new)


_SENSEMAKING = CATALOG[
    CATALOG.index("  - slug: student-sensemaking") : CATALOG.index("  - slug: instructional-models")
]

# name -> (catalog text, fragment on the line at fault, occurrence, field path, words of the message)
BAD = {
    "wrong format": (
        _replace("format: badgeserver-catalog/1", "format: badgeserver-catalog/2"),
        "format:",
        1,
        "catalog.format",
        "format must be 'badgeserver-catalog/1'",
    ),
    "missing name": (
        _replace("    name: Student Sensemaking\n", ""),
        "- slug: student-sensemaking",
        1,
        "microcredentials[1]",
        "name is required",
    ),
    "bad slug": (
        _replace("slug: student-sensemaking\n", "slug: Student_Sensemaking\n"),
        "Student_Sensemaking",
        1,
        "microcredentials[1].slug",
        "must be lower-case letters, digits and hyphens",
    ),
    "duplicate slug": (
        CATALOG.replace("stacks:\n", _SENSEMAKING + "stacks:\n"),
        "- slug: student-sensemaking",
        2,
        "microcredentials[3].slug",
        "the slug 'student-sensemaking' is used twice",
    ),
    "unknown issuer": (
        _replace(
            "  - slug: instructional-models\n    issuer: usbe",
            "  - slug: instructional-models\n    issuer: uofu",
        ),
        "issuer: uofu",
        1,
        "microcredentials[2].issuer",
        "'uofu' is not an issuer of this catalog",
    ),
    "stack member undefined": (
        _replace("[student-sensemaking, instructional-models]", "[student-sensemaking, ghost-badge]"),
        "ghost-badge",
        1,
        "stacks[0].microcredentials",
        "'ghost-badge' is not defined in this catalog",
    ),
    "required level not a level": (
        _replace(
            "Students reason aloud.\n        required: proficient",
            "Students reason aloud.\n        required: expert",
        ),
        "required: expert",
        1,
        "microcredentials[1].rubric[0].required",
        "'expert' is not one of the levels",
    ),
    "duplicate criterion id": (
        _replace("      - id: student-use\n", "      - id: plan\n"),
        "- id: plan",
        2,
        "microcredentials[0].rubric[1].id",
        "'plan' is used twice",
    ),
    "credit not a number": (
        _replace("    credit: 0.5\n", "    credit: abc\n"),
        "credit: abc",
        1,
        "microcredentials[0].credit",
        "'abc' is not a number",
    ),
    "image missing": (
        _replace("image: images/instructional-models.svg", "image: images/missing-badge.svg"),
        "missing-badge",
        1,
        "microcredentials[2].image",
        "the image missing-badge.svg does not exist",
    ),
    "a list document": ("# a catalog?\n- format\n- program\n", "- format", 1, "catalog", "must be a mapping"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_catalog_names_file_line_and_field(tmp_path, case):
    text, fragment, occurrence, field, words = BAD[case]
    path = write_mini_catalog(tmp_path / "cat", text)
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    message = raised.value.message
    line = _line_of(text, fragment, occurrence)
    assert message.startswith(f"catalog.yaml line {line}: {field}: "), message
    assert words in message


# name -> (catalog text, fragment on the line at fault)
NOT_YAML = {
    "a tab": (
        _replace("  name: Test Program\n", "  name: Test Program\n\tdescription: tabbed\n"),
        "\tdescription",
    ),
    "bad indentation": (
        _replace(
            "    name: Crosscutting Concepts\n", "    name: Crosscutting Concepts\n      over: indented\n"
        ),
        "over: indented",
    ),
}


@pytest.mark.parametrize("case", list(NOT_YAML), ids=list(NOT_YAML))
def test_text_that_is_not_yaml_names_file_and_line(tmp_path, case):
    text, fragment = NOT_YAML[case]
    path = write_mini_catalog(tmp_path / "cat", text)
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    assert raised.value.message.startswith(
        f"catalog.yaml line {_line_of(text, fragment)}: not valid YAML ("
    ), raised.value.message


def test_python_tags_are_refused_by_the_safe_loader(tmp_path):
    target = tmp_path / "pwned"
    text = _replace("  name: Test Program\n", f'  name: !!python/object/apply:os.mkdir ["{target}"]\n')
    path = write_mini_catalog(tmp_path / "cat", text)
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    message = raised.value.message
    assert message.startswith(f"catalog.yaml line {_line_of(text, 'python/object')}: not valid YAML"), message
    assert "python/object" in message
    assert not target.exists()


def test_the_mini_catalog_itself_is_good(tmp_path):
    """The control for every bad variant above."""
    catalog = load_catalog(write_mini_catalog(tmp_path))
    assert [mc.slug for mc in catalog.microcredentials] == [
        "crosscutting-concepts",
        "student-sensemaking",
        "instructional-models",
    ]


# --- badgeserver catalog import -----------------------------------------------------------------


class ImportCli:
    """`badgeserver catalog import` against one database, and a look at that database."""

    def __init__(self, instance: Path, database_url: str) -> None:
        self.instance = instance
        self.db = Database(database_url)
        self.runner = CliRunner()

    def invoke(self, file: Path):
        return self.runner.invoke(main, ["catalog", "import", str(file), "--instance", str(self.instance)])

    def rows(self) -> dict[str, int]:
        with self.db.read() as session:
            return {
                table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in m.Base.metadata.sorted_tables
            }


@pytest.fixture()
def cli(tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("BADGESERVER_DATABASE_URL", database_url)
    runner = ImportCli(tmp_path / "instance", database_url)
    yield runner
    runner.db.dispose()


@pytest.mark.store
def test_import_then_reimport(cli, tmp_path):
    path = write_mini_catalog(tmp_path / "cat")
    first = cli.invoke(path)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "Imported catalog.yaml: 6 created, 0 updated, 0 unchanged."
    counts = cli.rows()
    assert counts["issuers"] == 1 and counts["microcredential_versions"] == 3
    assert counts["stacks"] == 1 and counts["bundles"] == 1 and counts["stack_members"] == 2

    again = cli.invoke(path)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "Imported catalog.yaml: 0 created, 0 updated, 6 unchanged."
    assert cli.rows() == counts


@pytest.mark.store
def test_import_of_the_real_catalog(cli):
    result = cli.invoke(REAL)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip() == "Imported utah-secondary-science.yaml: 19 created, 0 updated, 0 unchanged."
    )
    counts = cli.rows()
    assert (counts["microcredentials"], counts["stack_members"], counts["bundle_members"]) == (15, 15, 2)


@pytest.mark.store
def test_a_bad_file_exits_2_with_one_sentence_and_changes_nothing(cli, tmp_path):
    assert cli.invoke(write_mini_catalog(tmp_path / "good")).exit_code == 0
    before = cli.rows()
    text, fragment, _, field, words = BAD["credit not a number"]
    result = cli.invoke(write_mini_catalog(tmp_path / "bad", text))
    assert result.exit_code == 2
    assert result.stdout == ""
    error = result.stderr.strip()
    assert "\n" not in error
    assert error == f"badgeserver: catalog.yaml line {_line_of(text, fragment)}: {field}: {words}."
    assert cli.rows() == before


@pytest.mark.store
def test_changing_a_version_without_a_new_version_is_refused_and_rolled_back(cli, tmp_path):
    assert cli.invoke(write_mini_catalog(tmp_path / "good")).exit_code == 0
    before = cli.rows()
    # An issuer update and a new microcredential come first in the file; the refused change comes last.
    brand_new = _SENSEMAKING.replace("slug: student-sensemaking", "slug: brand-new")
    text = CATALOG.replace("description: The state board.", "description: The state board, renamed.")
    text = text.replace("  - slug: instructional-models", brand_new + "  - slug: instructional-models")
    text = text.replace("description: Uses an instructional model.", "description: Uses a model, reworded.")
    result = cli.invoke(write_mini_catalog(tmp_path / "changed", text))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "badgeserver: The microcredential instructional-models v1 already exists with different content; "
        "give the change a new version."
    )
    assert cli.rows() == before
    with cli.db.read() as session:
        assert session.scalars(sa.select(m.Issuer.description)).one() == "The state board."
        assert (
            session.scalar(sa.select(m.Microcredential).where(m.Microcredential.slug == "brand-new")) is None
        )

    # The control: the same change under a new version is accepted.
    bumped = text.replace(
        "  - slug: instructional-models\n    issuer: usbe\n",
        '  - slug: instructional-models\n    issuer: usbe\n    version: "2"\n',
    )
    assert bumped != text
    accepted = cli.invoke(write_mini_catalog(tmp_path / "bumped", bumped))
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.strip() == "Imported catalog.yaml: 2 created, 1 updated, 4 unchanged."


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    credit: 0.5\n",
            "    credit: 0.5\n    creditt: 5\n",
            "catalog.yaml line 19: microcredentials[0].creditt: 'creditt' is not a field of the catalog format.",
        ),
        (
            "format: badgeserver-catalog/1\n",
            "format: badgeserver-catalog/1\nformat: badgeserver-catalog/1\n",
            "catalog.yaml line 2: not valid YAML (the key 'format' appears twice in one mapping).",
        ),
        (
            "    credit: 0.5\n",
            "    credit: 7\n    credit: 0.5\n",
            "catalog.yaml line 19: not valid YAML (the key 'credit' appears twice in one mapping).",
        ),
        (
            "          - {id: not-yet, name: Not Yet, description: No concept named.}\n",
            "          - {id: not-yet, name: Not Yet, description: No concept named., points: 3}\n",
            "catalog.yaml line 36: microcredentials[0].rubric[0].levels[0].points: 'points' is not a field of the catalog format.",
        ),
    ],
)
def test_unknown_and_duplicate_keys_are_refused_with_their_line(tmp_path, old, new, message):
    from tests.support.mini_catalog import CATALOG, write_mini_catalog

    assert old in CATALOG
    path = write_mini_catalog(tmp_path, CATALOG.replace(old, new, 1))
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    assert str(raised.value) == message
