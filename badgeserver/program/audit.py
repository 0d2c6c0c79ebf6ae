"""The audit log: every state change, with who, when, what, and the record before and after."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.store import models as m

SECRET_FIELDS = frozenset({"password_hash", "token_hash", "data"})


def snapshot(row: Any, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A JSON-safe copy of a row's columns (secrets and file bytes left out)."""
    names = fields or tuple(column.key for column in row.__table__.columns)
    result: dict[str, Any] = {}
    for name in names:
        if name in SECRET_FIELDS:
            continue
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, bytes):
            continue
        result[name] = value
    return result


def record(
    session: Session,
    *,
    actor: m.Person | None,
    action: str,
    subject: Any,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> m.AuditEntry:
    """Add one audit entry for a change to `subject` (a row) made by `actor` (None: the system)."""
    entry = m.AuditEntry(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject.__tablename__,
        subject_id=str(getattr(subject, "id", "") or ""),
        before=before,
        after=after if after is not None else snapshot(subject),
    )
    session.add(entry)
    return entry


def entries(
    session: Session, *, limit: int = 100, offset: int = 0, subject_type: str | None = None
) -> list[m.AuditEntry]:
    """The newest entries first, optionally for one kind of record."""
    query = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit).offset(offset)
    if subject_type:
        query = query.where(m.AuditEntry.subject_type == subject_type)
    return list(session.scalars(query))
