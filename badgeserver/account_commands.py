"""Commands for people and API tokens: people add/list, tokens create/list/revoke."""

from __future__ import annotations

import sys
from typing import Any

import click

from badgeserver import create_app
from badgeserver.cli_support import one_sentence_errors, printable
from badgeserver.errors import InputError
from badgeserver.program import accounts
from badgeserver.store.migrate import upgrade
from badgeserver.web.services import Services, services

instance_option = click.option(
    "--instance",
    "instance_path",
    default=None,
    help="Instance folder (default: ./instance or BADGESERVER_INSTANCE).",
)


def _services(instance_path: str | None) -> Services:
    """The instance's services, its database migrated to the current schema."""
    svc = services(create_app({"instance_path": instance_path} if instance_path else None))
    upgrade(svc.db.engine)
    return svc


def _read_password() -> str:
    """The first line of standard input, without its line ending."""
    if sys.stdin is None:
        raise InputError("--password-stdin was given, but there is no standard input.")
    line = sys.stdin.readline(1024)
    password = line.rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin was given, but standard input held no password.")
    return password


@click.group("people")
def people_group() -> None:
    """Manage educators, reviewers and program staff."""


@people_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--reviewer", is_flag=True, help="Make them a reviewer.")
@click.option("--staff", is_flag=True, help="Make them program staff (every page and scope).")
@click.option("--password-stdin", is_flag=True, help="Read an initial password from the first line of stdin.")
@instance_option
@one_sentence_errors
def people_add(
    email: str, name: str, reviewer: bool, staff: bool, password_stdin: bool, instance_path: str | None
) -> None:
    """Add a person; without --password-stdin they cannot sign in until staff set a password."""
    password = _read_password() if password_stdin else None
    svc = _services(instance_path)
    with svc.db.transaction() as session:
        person = accounts.add_person(
            session,
            None,
            email=email,
            name=name,
            reviewer=reviewer,
            staff=staff,
            password=password,
            now=svc.clock(),
        )
        role = accounts.role_of(person)
    click.echo(f"Added {printable(person.email)} ({role}, id {person.id}).")


@people_group.command("list")
@instance_option
@one_sentence_errors
def people_list(instance_path: str | None) -> None:
    """List everyone: id, email, role, whether they can sign in, name."""
    svc = _services(instance_path)
    offset, rows = 0, []
    with svc.db.read() as session:
        while batch := accounts.list_people(session, limit=500, offset=offset):
            rows.extend(batch)
            offset += len(batch)
    for person in rows:
        state = "inactive" if not person.active else ("password" if person.password_hash else "no-password")
        click.echo(
            f"{person.id:>6}  {printable(person.email):<40} {accounts.role_of(person):<9} "
            f"{state:<12} {printable(person.name)}"
        )


@click.group("tokens")
def tokens_group() -> None:
    """Create, list and revoke API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What will use the token.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"A scope (repeat for more): {', '.join(accounts.SCOPES)}.",
)
@instance_option
@one_sentence_errors
def tokens_create(email: str, name: str, scopes: tuple[str, ...], instance_path: str | None) -> None:
    """Create a token for EMAIL and print it once (only its SHA-256 is kept)."""
    svc = _services(instance_path)
    with svc.db.transaction() as session:
        person = accounts.find_person(session, email)
        token, plaintext = accounts.create_token(session, person, name, scopes, now=svc.clock())
        summary = f"Token {token.id} ({', '.join(token.scopes)}) for {person.email}"
    click.echo(f"{printable(summary)}; it is shown only this once:", err=True)
    click.echo(plaintext)


@tokens_group.command("list")
@click.argument("email")
@instance_option
@one_sentence_errors
def tokens_list(email: str, instance_path: str | None) -> None:
    """List EMAIL's tokens: id, state, scopes, name."""
    svc = _services(instance_path)
    rows: list[dict[str, Any]] = []
    with svc.db.read() as session:
        person = accounts.find_person(session, email)
        for token in accounts.tokens_of(session, person):
            state = "revoked" if token.revoked_at else "active"
            rows.append(
                {"id": token.id, "state": state, "scopes": ",".join(token.scopes), "name": token.name}
            )
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['state']:<8} {row['scopes']:<50} {printable(row['name'])}")


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1))
@instance_option
@one_sentence_errors
def tokens_revoke(token_id: int, instance_path: str | None) -> None:
    """Revoke token TOKEN_ID (see `tokens list EMAIL`)."""
    svc = _services(instance_path)
    with svc.db.transaction() as session:
        token = accounts.revoke_token(session, None, token_id, now=svc.clock())
        name = token.name
    click.echo(f"Revoked token {token_id} ({printable(name)}).")


COMMANDS = (people_group, tokens_group)
