"""Notifications: written to the outbox in the caller's transaction, sent later by SMTP or to the log."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.config import Settings
from badgeserver.program import audit
from badgeserver.store import models as m

log = logging.getLogger(__name__)
OUTBOX_AUDIT_FIELDS = ("id", "to_email", "subject", "created_at", "sent_at", "tries", "last_error")
MAX_SUBJECT = 300


def _one_line(text: str) -> str:
    # A subject is one header line: no line breaks a mail header could be forged with.
    return " ".join(text.split())[:MAX_SUBJECT]


def queue_message(session: Session, *, to: str, subject: str, body: str, now: datetime) -> m.OutboxMessage:
    """Put one message in the outbox."""
    message = m.OutboxMessage(to_email=to, subject=_one_line(subject), body=body, created_at=now, tries=0)
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor=None,
        action="outbox.queued",
        subject=message,
        now=now,
        after=audit.snapshot(message, OUTBOX_AUDIT_FIELDS),
    )
    return message


def notify_earned(
    session: Session, earner: m.Person, name: str, credential_url: str, *, now: datetime
) -> m.OutboxMessage:
    """Tell the earner they earned `name`, with the credential's URL."""
    body = (
        f"Hello {earner.name},\n\n"
        f"Congratulations: you earned {name}.\n\n"
        f"Your credential: {credential_url}\n\n"
        "Share that link, or download the badge image from the page; anyone can verify it there.\n"
    )
    return queue_message(session, to=earner.email, subject=f"You earned {name}", body=body, now=now)


def notify_returned(
    session: Session, submission: m.Submission, review: m.Review, *, now: datetime
) -> m.OutboxMessage:
    """Tell the educator their submission was returned with feedback, criterion by criterion."""
    version = submission.version
    names = {str(c["id"]): str(c["name"]) for c in version.rubric}
    notes = "\n".join(f"- {names.get(cid, cid)}: {text}" for cid, text in review.feedback.items())
    body = (
        f"Hello {submission.educator.name},\n\n"
        f"A reviewer returned your submission for {version.name} with feedback:\n\n{notes}\n\n"
        "Revise your evidence or reflections and submit again; every attempt and its feedback are kept.\n"
    )
    subject = f"{version.name}: returned with feedback"
    return queue_message(session, to=submission.educator.email, subject=subject, body=body, now=now)


def pending(session: Session, *, limit: int = 100) -> list[m.OutboxMessage]:
    """Unsent messages, oldest first."""
    query = (
        select(m.OutboxMessage)
        .where(m.OutboxMessage.sent_at.is_(None))
        .order_by(m.OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _email(message: m.OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_email
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def _mark_sent(session: Session, message: m.OutboxMessage, now: datetime) -> None:
    before = audit.snapshot(message, OUTBOX_AUDIT_FIELDS)
    message.sent_at = now
    message.tries += 1
    message.last_error = None
    audit.record(
        session,
        actor=None,
        action="outbox.sent",
        subject=message,
        now=now,
        before=before,
        after=audit.snapshot(message, OUTBOX_AUDIT_FIELDS),
    )


def send_pending(
    session: Session,
    *,
    smtp: Settings | None,
    now: datetime,
    connect: Callable[..., Any] = smtplib.SMTP,
    limit: int = 100,
) -> int:
    """Send unsent messages by SMTP when `smtp.smtp_host` is set, else log them at INFO; returns how many."""
    messages = pending(session, limit=limit)
    if not messages:
        return 0
    if smtp is None or not smtp.smtp_host:
        for message in messages:
            log.info(
                "Outbox message %s to %s: %s\n%s", message.id, message.to_email, message.subject, message.body
            )
            _mark_sent(session, message, now)
        return len(messages)
    sent = 0
    try:
        with connect(smtp.smtp_host, smtp.smtp_port, timeout=30) as client:
            for message in messages:
                try:
                    client.send_message(_email(message, smtp.smtp_from))
                except (smtplib.SMTPException, OSError) as exc:
                    message.tries += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    continue
                _mark_sent(session, message, now)
                sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("The SMTP server %s:%s could not be reached (%s).", smtp.smtp_host, smtp.smtp_port, exc)
        for message in messages:
            if message.sent_at is None:
                message.tries += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    session.flush()
    return sent
