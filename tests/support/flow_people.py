"""People, a fixed clock, browsers with sessions and CSRF, and tokens, for the program page and API tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from badgeserver import create_app
from badgeserver.program import accounts, catalog_admin
from badgeserver.store import models as m
from badgeserver.store.migrate import upgrade
from badgeserver.web.services import services
from tests.conftest import app_settings

PASSWORD = "correct horse battery staple"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
MAX_EVIDENCE = 64 * 1024  # small, so "too large" is cheap to test
# role -> (email, name, reviewer, staff)
PEOPLE = {
    "owner": ("ana@example.org", "Ana Owner", False, False),
    "other": ("ben@example.org", "Ben Other", False, False),
    "eligible": ("rita@example.org", "Rita Reviewer", True, False),
    "ineligible": ("ivan@example.org", "Ivan Untrained", True, False),
    "staff": ("stella@example.org", "Stella Staff", False, True),
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


def make_app(tmp_path: Path, database_url: str, clock: Clock, **overrides: Any) -> Any:
    """An app with a hand-moved clock and a small evidence limit, migrated to head."""
    settings = app_settings(tmp_path, database_url) | {"clock": clock, "max_evidence_bytes": MAX_EVIDENCE}
    settings |= overrides
    application = create_app(settings)
    upgrade(services(application).db.engine)
    return application


def add_people(app: Any, *, founding_stack: str | None = "methods") -> dict[str, int]:
    """Everyone in PEOPLE with PASSWORD; the eligible reviewer is a founding reviewer of `founding_stack`."""
    svc = services(app)
    ids = {}
    with svc.db.transaction() as session:
        for role, (email, name, reviewer, staff) in PEOPLE.items():
            person = accounts.add_person(
                session,
                None,
                email=email,
                name=name,
                reviewer=reviewer,
                staff=staff,
                password=PASSWORD,
                now=svc.clock(),
            )
            person.public_name = name
            ids[role] = person.id
        if founding_stack:
            staff_member = session.get(m.Person, ids["staff"])
            catalog_admin.assign_founding_reviewer(
                session, staff_member, session.get(m.Person, ids["eligible"]), founding_stack, now=svc.clock()
            )
    return ids


def token_for(app: Any, role: str, scopes: tuple[str, ...] | None = None) -> str:
    """A Bearer token for the person of `role`, with `scopes` (default: all their role allows)."""
    svc = services(app)
    with svc.db.transaction() as session:
        person = accounts.find_person(session, PEOPLE[role][0])
        chosen = scopes if scopes is not None else accounts.allowed_scopes(person)
        _, plaintext = accounts.create_token(session, person, f"{role} token", chosen, now=svc.clock())
    return plaintext


def count(app: Any, model: Any) -> int:
    """How many rows `model` has."""
    with services(app).db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


class Browser:
    """A test client that asks for HTML, signs in, and sends the session's CSRF token with every form."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()
        self.client.environ_base["HTTP_ACCEPT"] = BROWSER_ACCEPT
        self.csrf = ""

    def sign_in(self, role: str) -> Browser:
        page = self.client.get("/login")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        answer = self.client.post(
            "/login", data={"email": PEOPLE[role][0], "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
        self.csrf = CSRF.search(self.client.get("/account").get_data(as_text=True)).group(1)
        return self

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        form = {"csrf_token": self.csrf} | (data or {})
        return self.client.post(path, data=form, **kwargs)

    def text(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data(as_text=True)


@dataclass(frozen=True)
class Pdf:
    """A minimal but real PDF: header, catalog, pages, one page with text, xref, trailer."""

    text: str = "Lesson plan"

    def bytes(self) -> bytes:
        content = b"BT /F1 12 Tf 72 720 Td (" + self.text.encode("ascii") + b") Tj ET"
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
        return bytes(out)
