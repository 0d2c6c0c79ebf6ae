"""What badgeserver publishes, read from the store: DID documents, status lists, profiles, achievements."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver import did
from badgeserver.errors import FetchError
from badgeserver.issuer import build
from badgeserver.ld.contexts import OB_V3P0, VC_V2
from badgeserver.program import issuing
from badgeserver.program.issuing import IssuingContext
from badgeserver.store import models as m
from badgeserver.store.db import Database

_LOCAL = re.compile(
    r"^/(?:issuers/(?P<did>[a-z0-9-]+)/did\.json"
    r"|status/(?P<list>[a-z0-9-]+)/(?P<purpose>revocation|suspension)/(?P<number>[0-9]{1,6})"
    r"|credentials/(?P<credential>[0-9a-fA-F-]{36})(?:\.json|\.png|\.svg)?)$"
)


@dataclass(frozen=True)
class CredentialState:
    """A credential's standing in plain words: code is valid, revoked, suspended, unverifiable or expired."""

    code: str
    sentence: str


def _day(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%-d %B %Y")


def credential_state(row: m.Credential, now: datetime) -> CredentialState:
    """What the credential's page says of it; revocation outranks suspension, which outranks expiry."""
    if row.revoked_at is not None:
        return CredentialState("revoked", f"The issuer revoked this credential on {_day(row.revoked_at)}.")
    if row.suspended_at is not None:
        return CredentialState(
            "suspended",
            f"The issuer suspended this credential on {_day(row.suspended_at)}; "
            "it is not valid while suspended and may be reinstated.",
        )
    until = row.valid_until
    key = row.key
    if key is not None and key.state == "revoked":
        return CredentialState(
            "unverifiable",
            "The key that signed this credential has been withdrawn by the issuer, so it no longer "
            "verifies; the issuer issues it again with a new key.",
        )
    if until is not None and (until if until.tzinfo else until.replace(tzinfo=UTC)) <= now:
        return CredentialState(
            "expired",
            f"This credential expired on {_day(until)}. It was validly earned and stays on the transcript.",
        )
    if until is not None:
        return CredentialState("valid", f"This credential is valid until {_day(until)}.")
    return CredentialState("valid", "This credential is valid.")


def issuer_by_slug(session: Session, slug: str) -> m.Issuer | None:
    """The issuer with `slug`, or None."""
    return session.scalar(select(m.Issuer).where(m.Issuer.slug == slug))


def did_document(issuer: m.Issuer, ctx: IssuingContext) -> dict[str, Any]:
    """The issuer's did:web document: active keys for assertions, retired keys still published."""
    published = [k for k in issuer.keys if k.state in ("active", "retired")]
    active = [(k.public_key_multibase, k.public_key_multibase) for k in published if k.state == "active"]
    retired = [(k.public_key_multibase, k.public_key_multibase) for k in published if k.state == "retired"]
    return did.did_web_document(ctx.urls.issuer_did(issuer.slug), active, retired=retired)


def profile_json(issuer: m.Issuer, ctx: IssuingContext) -> dict[str, Any]:
    """The issuer's OB 3.0 Profile, as JSON-LD."""
    profile = build.profile_json(issuing.issuer_profile(issuer, ctx.urls))
    return {"@context": [VC_V2, OB_V3P0], **profile}


def status_list_document(
    session: Session, issuer: m.Issuer, purpose: str, number: int, ctx: IssuingContext, now: datetime
) -> str | None:
    """The signed status list credential's JSON text, or None if there is no such list."""
    row = session.scalar(
        select(m.StatusList).where(
            m.StatusList.issuer_id == issuer.id,
            m.StatusList.purpose == purpose,
            m.StatusList.number == number,
        )
    )
    if row is None:
        return None
    return issuing.signed_status_list(session, row, ctx, now)


def status_list_text(
    db: Database, issuer_slug: str, purpose: str, number: int, ctx: IssuingContext, now: datetime
) -> str | None:
    """The signed list's JSON, read without a write lock; signed (once) only after its bits changed."""
    with db.read() as session:
        issuer = issuer_by_slug(session, issuer_slug)
        row = (
            None
            if issuer is None
            else session.scalar(
                select(m.StatusList).where(
                    m.StatusList.issuer_id == issuer.id,
                    m.StatusList.purpose == purpose,
                    m.StatusList.number == number,
                )
            )
        )
        if row is None:
            return None
        if row.signed_json is not None:
            return row.signed_json
    with db.transaction() as session:
        issuer = issuer_by_slug(session, issuer_slug)
        return None if issuer is None else status_list_document(session, issuer, purpose, number, ctx, now)


def credential_json(session: Session, credential_id: str) -> str | None:
    """The exact signed JSON of a public credential, or None."""
    row = session.get(m.Credential, credential_id)
    if row is None or not row.public:
        return None
    return row.signed_json


def local_fetcher(
    db: Database, ctx: IssuingContext, clock: Callable[[], datetime]
) -> Callable[[str], bytes | None]:
    """Answer badgeserver's own public URLs from the store, so verifying our credentials needs no network."""
    own_host = urlsplit(ctx.urls.base).netloc

    def answer(url: str) -> bytes | None:
        # did:web always resolves over https, so our own host matches whatever the scheme.
        parts = urlsplit(url)
        if parts.netloc.lower() != own_host.lower():
            return None
        text = _answer(parts.path)
        if text is None:
            # Our own host never goes to the network: a miss is a miss.
            raise FetchError(f"There is no public document at {url} on this server.")
        return text

    def _answer(path: str) -> bytes | None:
        match = _LOCAL.match(path)
        if match is None:
            return None
        if match["list"]:
            text = status_list_text(db, match["list"], match["purpose"], int(match["number"]), ctx, clock())
            return None if text is None else text.encode("utf-8")
        with db.read() as session:
            if match["did"]:
                issuer = issuer_by_slug(session, match["did"])
                return None if issuer is None else _bytes(did_document(issuer, ctx))
            text = credential_json(session, match["credential"].lower())
            return None if text is None else text.encode("utf-8")

    return answer


def _bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
