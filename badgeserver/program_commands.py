"""Program commands: send the outbox, print a transcript or payouts, retire or update a microcredential."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

import click

from badgeserver import create_app
from badgeserver.cli_support import one_sentence_errors, printable, read_text
from badgeserver.program import accounts, catalog_admin, notify, payouts, transcripts
from badgeserver.program.catalog_changes import load_changes
from badgeserver.store.migrate import upgrade
from badgeserver.web.services import Services, services

instance_option = click.option(
    "--instance",
    "instance_path",
    default=None,
    help="Instance folder (default: ./instance or BADGESERVER_INSTANCE).",
)
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _services(instance_path: str | None) -> Services:
    """The instance's services, its database migrated to the current schema."""
    svc = services(create_app({"instance_path": instance_path} if instance_path else None))
    upgrade(svc.db.engine)
    return svc


@click.group("outbox")
def outbox_group() -> None:
    """Notifications waiting to be sent."""


@outbox_group.command("send")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@instance_option
@one_sentence_errors
def outbox_send(limit: int, instance_path: str | None) -> None:
    """Send queued notifications by SMTP (SMTP_HOST), or write them to the log when it is not set."""
    svc = _services(instance_path)
    # Without SMTP the messages go to the log: show that log here, on stderr.
    log = logging.getLogger(notify.__name__)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        sent = svc.send_outbox(limit=limit)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    where = f"by SMTP via {svc.settings.smtp_host}" if svc.settings.smtp_host else "to the log"
    click.echo(f"Sent {sent} notification{'' if sent == 1 else 's'} {where}.")


@click.command("transcript")
@click.argument("email")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: a header, a row per credential, the total.")
@instance_option
@one_sentence_errors
def transcript(email: str, as_csv: bool, instance_path: str | None) -> None:
    """Print the transcript of the educator with EMAIL: every credential, its credit, and the total."""
    svc = _services(instance_path)
    with svc.db.read() as session:
        record = transcripts.transcript(session, accounts.find_person(session, email), svc.urls)
    if as_csv:
        sys.stdout.buffer.write(transcripts.transcript_csv(record))
        return
    click.echo(f"Transcript of {printable(record.name)} <{printable(record.email)}>")
    for row in record.rows:
        version = f" v{row.version}" if row.version else ""
        click.echo(
            f"{row.issued_on.isoformat()}  {transcripts.credit_text(row.credit):>5}  "
            f"{row.kind:<15} {printable(row.name)}{version}  {row.url}"
            + ("  (suspended: not counted)" if row.suspended else "")
        )
    click.echo(f"Total credit: {transcripts.credit_text(record.total_credit)}")


@click.command("payouts")
@click.option("--start", required=True, type=DAY, help="First day, YYYY-MM-DD.")
@click.option("--end", required=True, type=DAY, help="Last day (included), YYYY-MM-DD.")
@click.option("--reviewer", default=None, help="Only this reviewer's payouts (email).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a header, then one row per payout).")
@instance_option
@one_sentence_errors
def payouts_command(
    start: datetime, end: datetime, reviewer: str | None, as_csv: bool, instance_path: str | None
) -> None:
    """Print the reviewer payouts from --start to --end, with the total per reviewer and overall."""
    svc = _services(instance_path)
    with svc.db.read() as session:
        person = accounts.find_person(session, reviewer) if reviewer else None
        ledger = payouts.ledger(session, start=start.date(), end=end.date(), reviewer=person)
    if as_csv:
        sys.stdout.buffer.write(payouts.ledger_csv(ledger))
        return
    click.echo(f"Payouts from {ledger.start.isoformat()} to {ledger.end.isoformat()}")
    for line in ledger.lines:
        click.echo(
            f"{line.paid_on.isoformat()}  {payouts.dollars(line.amount_cents):>8}  "
            f"{printable(line.reviewer_email):<30} submission {line.submission_id:<6} "
            f"{line.decision:<8} {printable(line.microcredential)}"
        )
    for email, cents in sorted(ledger.totals.items()):
        click.echo(f"Total for {printable(email)}: {payouts.dollars(cents)}")
    click.echo(f"Total: {payouts.dollars(ledger.total_cents)}")


@click.command("retire")
@click.argument("slug")
@click.option("--actor", "actor_email", required=True, help="The staff member retiring it (email).")
@instance_option
@one_sentence_errors
def catalog_retire(slug: str, actor_email: str, instance_path: str | None) -> None:
    """Retire microcredential SLUG: no new submissions; credentials already issued remain valid."""
    svc = _services(instance_path)
    with svc.db.transaction() as session:
        actor = accounts.find_person(session, actor_email)
        catalog_admin.retire(session, actor, slug, now=svc.clock())
    click.echo(f"Retired {slug}; its credentials remain valid.")


@click.command("publish-version")
@click.argument("slug")
@click.option(
    "--changes",
    "changes_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML mapping of the fields that change (name, description, criteria, rubric, ...).",
)
@click.option("--actor", "actor_email", required=True, help="The staff member publishing it (email).")
@instance_option
@one_sentence_errors
def catalog_publish_version(
    slug: str, changes_file: Path, actor_email: str, instance_path: str | None
) -> None:
    """Publish a new version of microcredential SLUG: the current version with the file's changes."""
    changes = load_changes(read_text(str(changes_file)), changes_file.name)
    svc = _services(instance_path)
    with svc.db.transaction() as session:
        actor = accounts.find_person(session, actor_email)
        version = catalog_admin.publish_version(session, actor, slug, changes, now=svc.clock())
        label = version.version
    click.echo(f"Published {slug} version {label}: {svc.urls.achievement(slug, label)}")


COMMANDS = (outbox_group, transcript, payouts_command)
CATALOG_COMMANDS = (catalog_retire, catalog_publish_version)
