"""An educator's transcript: every credential they hold, its credit, and the total.

Credit comes from each stored credential (what was awarded), so credentials of retired or updated
microcredentials stay on the transcript with the credit they carried.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.program.payouts import safe_cell
from badgeserver.program.urls import Urls
from badgeserver.store import models as m

KINDS = ("microcredential", "stack", "bundle")
CSV_HEADER = ("credential", "kind", "version", "issued", "credit", "url")


@dataclass(frozen=True)
class TranscriptRow:
    """One credential on a transcript."""

    credential_id: str
    url: str
    name: str
    kind: str
    version: str | None
    issued_on: date
    credit: Decimal
    suspended: bool = False  # shown, but its credit does not count while suspended


@dataclass(frozen=True)
class Transcript:
    """An educator's credentials, oldest first, and the total credit."""

    name: str
    email: str
    rows: tuple[TranscriptRow, ...]
    total_credit: Decimal


def credit_text(value: Decimal) -> str:
    """A credit without trailing zeros: 0.50 -> "0.5", 3.50 -> "3.5", 0.00 -> "0"."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _names(session: Session, model: type[m.Stack] | type[m.Bundle], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row[0]: row[1] for row in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}


def transcript(session: Session, person: m.Person, urls: Urls) -> Transcript:
    """Every credential the person holds (microcredentials, stacks, bundles) with credit and the total.

    A revoked credential is no longer held and is left out; an expired one was earned and stays.
    """
    credentials = session.scalars(
        select(m.Credential).where(m.Credential.earner_id == person.id, m.Credential.revoked_at.is_(None))
    ).all()
    stacks = _names(session, m.Stack, {c.stack_id for c in credentials if c.stack_id is not None})
    bundles = _names(session, m.Bundle, {c.bundle_id for c in credentials if c.bundle_id is not None})
    order = {kind: n for n, kind in enumerate(KINDS)}
    keyed = []
    for row in credentials:
        if row.version is not None:
            name, version = row.version.name, row.version.version
        elif row.stack_id is not None:
            name, version = stacks[row.stack_id], None
        else:
            name, version = bundles.get(row.bundle_id or 0, "?"), None
        issued = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=UTC)
        entry = TranscriptRow(
            credential_id=row.id,
            url=urls.credential(row.id),
            name=name,
            kind=row.kind,
            version=version,
            issued_on=issued.astimezone(UTC).date(),
            credit=Decimal(row.credit),
            suspended=row.suspended_at is not None,
        )
        # Oldest first; a stack after the microcredential that completed it, a bundle after its stack.
        keyed.append(((issued, order.get(row.kind, len(KINDS)), name, row.id), entry))
    rows = [entry for _, entry in sorted(keyed, key=lambda pair: pair[0])]
    return Transcript(
        name=person.name,
        email=person.email,
        rows=tuple(rows),
        total_credit=sum((r.credit for r in rows if not r.suspended), Decimal("0")),
    )


def transcript_dict(record: Transcript) -> dict[str, Any]:
    """The transcript as a JSON-able dict (credits as numbers)."""
    return {
        "name": record.name,
        "email": record.email,
        "credentials": [
            {
                "id": r.credential_id,
                "url": r.url,
                "name": r.name,
                "kind": r.kind,
                "version": r.version,
                "issued": r.issued_on.isoformat(),
                "credit": float(r.credit),
                "suspended": r.suspended,
            }
            for r in record.rows
        ],
        "total_credit": float(record.total_credit),
    }


def transcript_csv(record: Transcript) -> bytes:
    """The transcript as UTF-8 CSV: a header row, one row per credential, then the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in record.rows:
        writer.writerow(
            (
                safe_cell(r.name),
                r.kind,
                r.version or "",
                r.issued_on.isoformat(),
                credit_text(r.credit),
                r.url,
            )
        )
    writer.writerow(("Total", "", "", "", credit_text(record.total_credit), ""))
    return buffer.getvalue().encode("utf-8")
