"""Reviewer payouts: a share of the fee for every completed review, a ledger per period, CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import InputError
from badgeserver.program import audit
from badgeserver.store import models as m

DEFAULT_SHARE_PERCENT = 50
CSV_HEADER = ("date", "reviewer name", "reviewer email", "submission id", "microcredential", "amount (USD)")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def share_of(fee_cents: int, share_percent: int) -> int:
    """The reviewer's share of a fee in whole cents, rounded down (never more than the share)."""
    if not 0 <= share_percent <= 100:
        raise InputError(f"A reviewer's share is a percentage from 0 to 100, not {share_percent}.")
    return fee_cents * share_percent // 100


def fee_paid_for(session: Session, attempt: m.Attempt) -> int:
    """The fee paid for an attempt: its linked payment, or the version's fee when none is linked."""
    payment = session.scalar(select(m.Payment).where(m.Payment.attempt_id == attempt.id))
    if payment is not None:
        return payment.amount_cents
    return attempt.submission.version.fee_cents


def add_payout(
    session: Session, review: m.Review, *, share_percent: int = DEFAULT_SHARE_PERCENT, now: datetime
) -> m.Payout:
    """Record the reviewer's share of the attempt's fee for a completed review (earned or returned)."""
    payout = m.Payout(
        review_id=review.id,
        reviewer_id=review.reviewer_id,
        amount_cents=share_of(fee_paid_for(session, review.attempt), share_percent),
        created_at=now,
    )
    session.add(payout)
    session.flush()
    audit.record(session, actor=None, action="payout.added", subject=payout, now=now)
    return payout


@dataclass(frozen=True)
class PayoutLine:
    """One payout as the ledger shows it."""

    paid_on: date
    reviewer_name: str
    reviewer_email: str
    submission_id: int
    microcredential: str
    decision: str
    amount_cents: int


@dataclass(frozen=True)
class Ledger:
    """The payouts of a period (both dates included), with totals per reviewer email and overall."""

    start: date
    end: date
    lines: tuple[PayoutLine, ...]
    totals: dict[str, int]
    total_cents: int


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive date-times; every stored time is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ledger(session: Session, *, start: date, end: date, reviewer: m.Person | None = None) -> Ledger:
    """The payouts from `start` to `end` (UTC dates, both included), for one reviewer or all."""
    if end < start:
        raise InputError("The period ends before it starts.")
    query = (
        select(m.Payout, m.Review, m.Submission, m.MicrocredentialVersion, m.Person)
        .join(m.Review, m.Payout.review_id == m.Review.id)
        .join(m.Attempt, m.Review.attempt_id == m.Attempt.id)
        .join(m.Submission, m.Attempt.submission_id == m.Submission.id)
        .join(m.MicrocredentialVersion, m.Submission.version_id == m.MicrocredentialVersion.id)
        .join(m.Person, m.Payout.reviewer_id == m.Person.id)
        .where(
            m.Payout.created_at >= datetime.combine(start, time(), UTC),
            m.Payout.created_at < datetime.combine(end + timedelta(days=1), time(), UTC),
        )
        .order_by(m.Payout.created_at, m.Payout.id)
    )
    if reviewer is not None:
        query = query.where(m.Payout.reviewer_id == reviewer.id)
    lines = tuple(
        PayoutLine(
            paid_on=_utc(payout.created_at).date(),
            reviewer_name=person.name,
            reviewer_email=person.email,
            submission_id=submission.id,
            microcredential=f"{version.name} (v{version.version})",
            decision=review.decision,
            amount_cents=payout.amount_cents,
        )
        for payout, review, submission, version, person in session.execute(query)
    )
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.reviewer_email] = totals.get(line.reviewer_email, 0) + line.amount_cents
    return Ledger(start=start, end=end, lines=lines, totals=totals, total_cents=sum(totals.values()))


def dollars(cents: int) -> str:
    """Cents as dollars with two decimals: 1000 -> "10.00"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def ledger_csv(entries: Ledger) -> bytes:
    """The ledger as UTF-8 CSV: a header row, then one row per payout."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in entries.lines:
        writer.writerow(
            (
                line.paid_on.isoformat(),
                safe_cell(line.reviewer_name),
                safe_cell(line.reviewer_email),
                str(line.submission_id),
                safe_cell(line.microcredential),
                dollars(line.amount_cents),
            )
        )
    return buffer.getvalue().encode("utf-8")
