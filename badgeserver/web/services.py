"""The collaborators the web layer uses, built once per app and kept on app.extensions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, current_app
from sqlalchemy import select

from badgeserver.config import Settings
from badgeserver.fetch import Fetcher
from badgeserver.keys import KeyStore
from badgeserver.ld.canon import Canonicalizer
from badgeserver.program import notify
from badgeserver.program.issuing import IssuingContext
from badgeserver.program.public import local_fetcher
from badgeserver.program.submissions import ProgramContext
from badgeserver.program.urls import Urls
from badgeserver.store import models as m
from badgeserver.store.db import Database
from badgeserver.verify.pipeline import Verifier

EXTENSION = "badgeserver"


@dataclass
class Services:
    """Settings, the database, issuing and program contexts, fetcher and clock of one app."""

    settings: Settings
    db: Database
    issuing: IssuingContext
    fetcher: Fetcher
    clock: Callable[[], datetime]
    program: ProgramContext = field(default_factory=ProgramContext)

    @property
    def urls(self) -> Urls:
        """The public URL scheme."""
        return self.issuing.urls

    def verifier(self) -> Verifier:
        """A verifier whose fetches of our own URLs are answered from the store."""
        with self.db.read() as session:
            issuers = session.execute(select(m.Issuer.slug, m.Issuer.name)).all()
        return Verifier(
            canonicalizer=self.issuing.canonicalizer,
            fetch_json=self.fetcher.get_json,
            clock=self.clock,
            http_hosts=self.settings.allow_http_hosts,
            known_issuers={self.urls.issuer_did(slug): name for slug, name in issuers},
        )

    def send_outbox(self, *, limit: int = 100) -> int:
        """Send the queued notifications (SMTP when configured, else the log); returns how many were sent."""
        with self.db.transaction() as session:
            return notify.send_pending(session, smtp=self.settings, now=self.clock(), limit=limit)


def build_services(settings: Settings, clock: Callable[[], datetime] | None = None) -> Services:
    """Wire the database, key store, canonicalizer and guarded fetcher for `settings`."""
    db = Database(settings.database_url)
    issuing = IssuingContext(
        urls=Urls(settings.base_url),
        keystore=KeyStore(settings.keys_dir),
        canonicalizer=Canonicalizer(),
        status_list_size=settings.status_list_size,
        suspension_entries=settings.credential_status == "revocation+suspension",
    )
    now = clock or (lambda: datetime.now(UTC))
    fetcher = Fetcher(allow_http_hosts=settings.allow_http_hosts, local=local_fetcher(db, issuing, now))
    return Services(
        settings=settings,
        db=db,
        issuing=issuing,
        fetcher=fetcher,
        clock=now,
        program=ProgramContext.from_settings(settings),
    )


def services(app: Flask | None = None) -> Services:
    """The services of `app` (default: the current app)."""
    target = app or current_app
    found: Services = target.extensions[EXTENSION]
    return found
