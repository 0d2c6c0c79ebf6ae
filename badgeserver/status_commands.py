"""Staff commands for credential status and issuer keys: revoke, suspend, reinstate, rotate, reissue."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import select

from badgeserver.cli_support import fail, one_sentence_errors, printable, read_text
from badgeserver.errors import InputError
from badgeserver.program import accounts, key_lifecycle, revocation
from badgeserver.program_commands import _services, instance_option
from badgeserver.store import models as m
from badgeserver.web.services import Services

actor_option = click.option(
    "--actor", "actor_email", required=True, help="The staff member doing it (email)."
)


def _instance(instance_path: str | None) -> Services:
    """The services of an existing instance: a mistyped --instance must not make a new, empty one."""
    folder = Path(instance_path or os.environ.get("BADGESERVER_INSTANCE") or "instance").resolve()
    if not (folder / "badgeserver.toml").is_file() and not (folder / "secret_key").is_file():
        raise InputError(
            f"There is no badgeserver instance at {folder}; give --instance (see badgeserver init)."
        )
    return _services(instance_path)


def _staff(session: object, email: str) -> m.Person:
    person = accounts.find_person(session, email)  # type: ignore[arg-type]
    if not person.is_staff or not person.active:
        raise InputError(f"{email} is not active program staff.")
    return person


def _selection(
    ids: tuple[str, ...], ids_file: str | None, earner: str | None, micro: str | None
) -> revocation.Selection:
    listed = list(ids)
    if ids_file is not None:
        listed += [
            line.strip()
            for line in read_text(ids_file).splitlines()
            if line.strip() and not line.startswith("#")
        ]
    return revocation.Selection(ids=tuple(listed), earner_email=earner, microcredential=micro)


def _status_command(action: str, summary: str) -> click.Command:
    @click.command(action, help=summary)
    @click.argument("credential_ids", nargs=-1)
    @click.option("--ids-file", default=None, help="A file of credential ids, one per line ('-': stdin).")
    @click.option("--earner", default=None, help="Every credential of the earner with this email.")
    @click.option(
        "--microcredential", "micro", default=None, help="Every credential of this microcredential (slug)."
    )
    @click.option("--reason", default=None, help="Why (required to revoke; kept privately, never published).")
    @actor_option
    @instance_option
    @one_sentence_errors
    def command(
        credential_ids: tuple[str, ...],
        ids_file: str | None,
        earner: str | None,
        micro: str | None,
        reason: str | None,
        actor_email: str,
        instance_path: str | None,
    ) -> None:
        svc = _instance(instance_path)
        selection = _selection(credential_ids, ids_file, earner, micro)
        with svc.db.transaction() as session:
            actor = _staff(session, actor_email)
            result = revocation.change_status(
                session,
                svc.issuing,
                svc.clock(),
                action=action,
                selection=selection,
                actor=actor,
                reason=reason,
            )
        past = {"revoke": "Revoked", "suspend": "Suspended", "reinstate": "Reinstated"}[action]
        if not result.changed:
            first, why = result.unchanged[0]
            more = f" (and {len(result.unchanged) - 1} more)" if len(result.unchanged) > 1 else ""
            fail(f"Nothing changed: {first} {why}{more}.")
        for credential_id in result.changed:
            click.echo(f"{past} {credential_id}")
        for credential_id, why in result.unchanged:
            click.echo(f"Unchanged: {credential_id} {why}.")
        lists = len(result.lists_signed)
        click.echo(
            f"{past} {len(result.changed)} credential{'' if len(result.changed) == 1 else 's'}; "
            f"{lists} status list{'' if lists == 1 else 's'} signed again."
        )

    return command


@click.group("credentials")
def credentials_group() -> None:
    """Revoke, suspend or reinstate issued credentials (by id, by earner, by microcredential)."""


for _action, _summary in (
    (
        "revoke",
        "Revoke credentials for good: they fail verification everywhere within the lists' 5-minute lifetime.",
    ),
    ("suspend", "Suspend credentials: they fail verification until reinstated."),
    ("reinstate", "Reinstate suspended credentials: they verify again."),
):
    credentials_group.add_command(_status_command(_action, _summary))


@click.command("rotate")
@click.option("--issuer", "issuer_slug", required=True, help="The issuer (slug) that gets a new key.")
@actor_option
@instance_option
@one_sentence_errors
def keys_rotate(issuer_slug: str, actor_email: str, instance_path: str | None) -> None:
    """Give an issuer a new signing key; its earlier keys are retired and stay published."""
    svc = _instance(instance_path)
    with svc.db.transaction() as session:
        actor = _staff(session, actor_email)
        row = key_lifecycle.rotate(session, svc.issuing, svc.clock(), issuer_slug=issuer_slug, actor=actor)
        name, method = row.key_name, f"{svc.urls.issuer_did(issuer_slug)}#{row.public_key_multibase}"
    click.echo(f"New key {name} signs for {issuer_slug} from now on: {method}")


@click.command("retire")
@click.argument("key_name")
@actor_option
@instance_option
@one_sentence_errors
def keys_retire(key_name: str, actor_email: str, instance_path: str | None) -> None:
    """Stop signing with an issuer key; it stays in the DID document, so what it signed still verifies."""
    svc = _instance(instance_path)
    with svc.db.transaction() as session:
        actor = _staff(session, actor_email)
        replacement = key_lifecycle.retire(session, svc.issuing, svc.clock(), key_name=key_name, actor=actor)
        made = replacement.key_name if replacement is not None else None
    click.echo(f"Retired {key_name}; it signs nothing new and stays published.")
    if made:
        click.echo(f"New key {made} signs from now on.")


@click.command("revoke")
@click.argument("key_name")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@actor_option
@instance_option
@one_sentence_errors
def keys_revoke(key_name: str, reason: str, actor_email: str, instance_path: str | None) -> None:
    """Withdraw a compromised issuer key from the DID document and list every credential it signed."""
    svc = _instance(instance_path)
    with svc.db.transaction() as session:
        actor = _staff(session, actor_email)
        signed = key_lifecycle.revoke(
            session, svc.issuing, svc.clock(), key_name=key_name, reason=reason, actor=actor
        )
        listed = [(row.id, row.kind, printable(row.earner.email)) for row in signed]
        issuer_id = session.scalar(select(m.IssuerKey.issuer_id).where(m.IssuerKey.key_name == key_name))
        active = session.scalar(
            select(m.IssuerKey.key_name)
            .where(m.IssuerKey.issuer_id == issuer_id, m.IssuerKey.state == "active")
            .order_by(m.IssuerKey.id.desc())
        )
    click.echo(f"Revoked {key_name}: it is no longer in the DID document.")
    click.echo(f"Key {active} signs from now on.")
    for credential_id, kind, email in listed:
        click.echo(f"{svc.urls.credential(credential_id)}  {kind:<15} {email}")
    click.echo(
        f"{len(listed)} credential{'' if len(listed) == 1 else 's'} signed by it no longer verify; "
        "`badgeserver reissue` issues them again with the current key."
    )


@click.command("reissue")
@click.option("--key", "key_name", default=None, help="Only the credentials of this revoked key.")
@click.option("--dry-run", is_flag=True, help="List what would be reissued; change nothing.")
@actor_option
@instance_option
@one_sentence_errors
def reissue(key_name: str | None, dry_run: bool, actor_email: str, instance_path: str | None) -> None:
    """Issue again, with the current key, every credential a revoked key signed; the old ones are revoked."""
    svc: Services = _instance(instance_path)
    if dry_run:
        with svc.db.read() as session:
            _staff(session, actor_email)
            pending = [row.id for row in key_lifecycle.to_reissue(session, key_name)]
        for credential_id in pending:
            click.echo(f"Would reissue {credential_id}")
        click.echo(f"{len(pending)} credential{'' if len(pending) == 1 else 's'} to reissue.")
        return
    with svc.db.transaction() as session:
        actor = _staff(session, actor_email)
        done = key_lifecycle.reissue(session, svc.issuing, svc.clock(), key_name=key_name, actor=actor)
    if not done:
        fail("Nothing to reissue: no unrevoked credential was signed by a revoked key.")
    for item in done:
        click.echo(f"Reissued {item.old_id} as {svc.urls.credential(item.new_id)}")
    click.echo(f"Reissued {len(done)} credential{'' if len(done) == 1 else 's'}; the old ones are revoked.")


@click.command("issuers")
@instance_option
@one_sentence_errors
def keys_issuers(instance_path: str | None) -> None:
    """List the issuers' keys: name, state (active, retired, revoked), dates and public key."""
    svc = _instance(instance_path)
    with svc.db.read() as session:
        rows = session.scalars(select(m.IssuerKey).order_by(m.IssuerKey.issuer_id, m.IssuerKey.id)).all()
        for row in rows:
            dates = f"created {row.created_at:%Y-%m-%d}"
            if row.retired_at is not None:
                dates += f", retired {row.retired_at:%Y-%m-%d}"
            if row.revoked_at is not None:
                dates += f", revoked {row.revoked_at:%Y-%m-%d}"
            click.echo(
                f"{row.issuer.slug:<12} {row.key_name:<24} {row.state:<8} {dates}  {row.public_key_multibase}"
            )
    if not rows:
        click.echo("No issuer key yet: the first credential an issuer issues makes one.")


COMMANDS = (credentials_group, reissue)
KEY_COMMANDS = (keys_rotate, keys_retire, keys_revoke, keys_issuers)
