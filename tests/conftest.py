"""Shared fixtures: vectors, canonicalizers, databases (SQLite and PostgreSQL), the app, an earned credential."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from badgeserver.ld.canon import Canonicalizer
from badgeserver.ld.loader import StaticLoader

VECTORS = Path(__file__).parent / "vectors"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder of official test vectors (tests/vectors)."""
    return VECTORS


@pytest.fixture(scope="session")
def canonicalizer() -> Canonicalizer:
    """A canonicalizer over the production pins only."""
    return Canonicalizer()


@pytest.fixture(scope="session")
def examples_loader() -> StaticLoader:
    """The production pins plus the W3C examples context (tests only, CTX-12)."""
    examples = json.loads((VECTORS / "contexts" / "w3c-credentials-examples-v2.jsonld").read_text())
    return StaticLoader().with_extra({EXAMPLES_V2: examples})


@pytest.fixture(scope="session")
def examples_canonicalizer(examples_loader: StaticLoader) -> Canonicalizer:
    """A canonicalizer that also knows the W3C examples context."""
    return Canonicalizer(examples_loader)


# --- store-backed fixtures: databases, the app, and a credential earned through review ---------

POSTGRES_ENV = "BADGESERVER_TEST_POSTGRES"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BASE_URL = "http://localhost:5000"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers these fixtures use (pyproject lists the older ones)."""
    config.addinivalue_line("markers", "postgresql_optional: the PostgreSQL variant of a SQLite-first test")


def postgres_unavailable(reason: str, *, required: bool = True) -> None:
    """Skip locally; in CI (env CI set) a required PostgreSQL run must not silently vanish."""
    if required and os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
    pytest.skip(reason)


def _admin_connect(admin_url: str, *, required: bool) -> object:
    import psycopg

    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        postgres_unavailable(f"PostgreSQL at {admin_url} is unreachable ({exc}).", required=required)
        raise  # not reached: skip or fail raised


def postgres_database(*, required: bool = True) -> Iterator[str]:
    """Create a fresh, uniquely named database; yield its URL; drop it (WITH FORCE) afterwards."""
    import psycopg
    from psycopg import sql

    admin_url = os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)
    name = f"badgeserver_test_{secrets.token_hex(6)}"
    admin: Any = _admin_connect(admin_url, required=required)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def make_database_url(kind: str, tmp_path: Path, *, required: bool = True) -> Iterator[str]:
    """The URL of an empty database of `kind` ("sqlite" or "postgresql") for one test."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from postgres_database(required=required)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in tmp_path, or a new PostgreSQL database dropped afterwards."""
    yield from make_database_url(request.param, tmp_path)


def app_settings(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """The settings the `app` fixture builds its app with."""
    return {
        "instance_path": str(tmp_path / "instance"),
        "keys_dir": str(tmp_path / "keys"),
        "base_url": BASE_URL,
        "database_url": database_url,
    }


@pytest.fixture()
def app(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """An app over `database_url`, migrated to head; its engine is disposed afterwards."""
    from badgeserver import create_app
    from badgeserver.store.migrate import upgrade
    from badgeserver.web.services import services

    application = create_app(app_settings(tmp_path, database_url))
    db = services(application).db
    upgrade(db.engine)
    try:
        yield application
    finally:
        db.dispose()


@pytest.fixture()
def client(app: Any) -> Any:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture()
def mini_catalog_file(tmp_path: Path) -> Path:
    """tests/support/mini_catalog.py written to tmp_path/catalog; returns the catalog file."""
    from tests.support.mini_catalog import write_mini_catalog

    return write_mini_catalog(tmp_path / "catalog")


@pytest.fixture()
def imported(app: Any, mini_catalog_file: Path) -> Any:
    """The mini catalog, imported into `app`'s store; returns the parsed Catalog."""
    from badgeserver.program.catalog import load_catalog
    from badgeserver.program.catalog_import import import_catalog
    from badgeserver.web.services import services

    catalog = load_catalog(mini_catalog_file)
    with services(app).db.transaction() as session:
        import_catalog(session, catalog, now=datetime.now(UTC))
    return catalog


def top_scores(rubric: list[dict[str, Any]]) -> dict[str, str]:
    """The highest level of every rubric criterion (every criterion met)."""
    return {str(c["id"]): str(c["levels"][-1]["id"]) for c in rubric}


def earn_submission(svc: Any, session: Any, educator: Any, reviewer: Any, slug: str, now: datetime) -> Any:
    """Start, pay for, submit and award one submission of `slug`; the review outcome."""
    from badgeserver.program import evidence
    from badgeserver.program import submissions as sub

    submission = sub.start_submission(session, educator, slug, now=now)
    evidence.add_link(
        session,
        submission,
        educator,
        url="https://example.org/lesson-plan",
        title="Lesson plan",
        description="The plan.",
        now=now,
    )
    sub.record_fee(session, submission, educator, now=now)
    prompts = submission.version.reflection_prompts
    sub.submit_attempt(session, submission, reflections=[f"Answer {n}" for n in range(len(prompts))], now=now)
    return sub.review_submission(
        session,
        submission,
        reviewer,
        scores=top_scores(submission.version.rubric),
        feedback={},
        now=now,
        issuing=svc.issuing,
    )


@pytest.fixture()
def earn(app: Any, imported: Any) -> Callable[..., str]:
    """A helper: one educator's submission, reviewed as earned; returns the credential id."""
    from sqlalchemy import select

    from badgeserver.program import submissions as sub
    from badgeserver.store import models as m
    from badgeserver.web.services import services

    svc = services(app)
    counter = iter(range(1, 1_000_000))

    def run(
        slug: str = "crosscutting-concepts", *, email: str | None = None, public_name: str = "Ana Núñez"
    ) -> str:
        now = datetime.now(UTC)
        with svc.db.transaction() as session:
            reviewer = session.scalar(select(m.Person).where(m.Person.email == "reviewer@example.org"))
            if reviewer is None:
                reviewer = sub.create_person(
                    session, email="reviewer@example.org", name="Rita Reviewer", reviewer=True, now=now
                )
                # A founding reviewer of every stack may review every microcredential (eligibility.py).
                for stack_id in session.scalars(select(m.Stack.id)):
                    session.add(m.ReviewerAssignment(person_id=reviewer.id, stack_id=stack_id, created_at=now))
            educator = sub.create_person(
                session,
                email=email or f"educator{next(counter)}@example.org",
                name="An Educator",
                public_name=public_name,
                now=now,
            )
            outcome = earn_submission(svc, session, educator, reviewer, slug, now)
            assert outcome.credential is not None
            return outcome.credential.id

    return run


@pytest.fixture()
def earned_credential(earn: Callable[..., str]) -> str:
    """The id of one credential earned on the mini catalog (crosscutting-concepts)."""
    return earn()


@pytest.fixture(scope="session")
def database_factory() -> Callable[..., Iterator[str]]:
    """`make_database_url`, for modules that choose their own databases (see tests/test_web.py)."""
    return make_database_url
