"""The badgeserver command line: keys, issue, bake, extract, verify. Effects live here, not in the core."""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from badgeserver import __version__, bakery, did, keys
from badgeserver.cli_support import (
    EXIT_NOT_VERIFIED,
    EXIT_UNUSABLE,
    EXIT_VERIFIED,
    fail,
    one_sentence_errors,
    printable,
    read_file,
    read_text,
    write_file,
)
from badgeserver.errors import BadgeServerError, FetchError, InputError
from badgeserver.fetch import Fetcher
from badgeserver.identity import is_email
from badgeserver.issuer.build import Award, IssuerProfile, Recipient, build_credential
from badgeserver.issuer.sign import sign_credential
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify import inputs
from badgeserver.verify.pipeline import Verifier
from badgeserver.verify.report import Report


def _keystore(keys_dir: str | None) -> keys.KeyStore:
    return keys.KeyStore(Path(keys_dir) if keys_dir else keys.default_keys_dir())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="badgeserver")
def main() -> None:
    """Issue, bake and verify Open Badges 3.0 credentials."""


@main.group("keys")
def keys_group() -> None:
    """Signing keys: key files (generate, list, show) and issuers' keys (rotate, retire, revoke)."""


keys_dir_option = click.option(
    "--keys-dir", envvar="KEYS_DIR", default=None, help="Key folder (default: ./keys or KEYS_DIR)."
)


@keys_group.command("generate")
@click.argument("name")
@keys_dir_option
@one_sentence_errors
def keys_generate(name: str, keys_dir: str | None) -> None:
    """Generate a new Ed25519 key NAME (the private file is mode 0600)."""
    pair = _keystore(keys_dir).generate(name, now=datetime.now(UTC))
    click.echo(f"Generated key {name}: {pair.public_key_multibase}")
    click.echo(f"did:key  {did.did_key_from_public_key(pair.public_key_bytes)}")


@keys_group.command("list")
@keys_dir_option
@one_sentence_errors
def keys_list(keys_dir: str | None) -> None:
    """List the keys and their public multibase values."""
    store = _keystore(keys_dir)
    for name in store.list():
        try:
            click.echo(f"{name}\t{store.public_info(name)['publicKeyMultibase']}")
        except BadgeServerError as exc:
            click.echo(f"{name}\t(unusable: {exc.message})")


@keys_group.command("show")
@click.argument("name")
@keys_dir_option
@one_sentence_errors
def keys_show(name: str, keys_dir: str | None) -> None:
    """Show the public half of key NAME and its did:key document."""
    pair = _keystore(keys_dir).load(name)
    document = did.did_key_document(did.did_key_from_public_key(pair.public_key_bytes))
    click.echo(json.dumps(document, indent=2))


def _load_achievement(path: str) -> dict[str, Any]:
    achievement = inputs.parse_json(read_text(path))
    for field in ("id", "name", "description", "criteria"):
        if field not in achievement:
            raise InputError(f"The achievement file {path} has no {field!r}.")
    achievement.setdefault("type", ["Achievement"])
    return achievement


def _check_issuer(issuer: str, did_key: str) -> None:
    """Refuse an issuer id that the signing key cannot belong to (KEY-5)."""
    if issuer.startswith("did:key:"):
        if issuer != did_key:
            raise InputError("--issuer-id is a did:key of another key; use the signing key's own did:key.")
        return
    if not issuer.startswith("did:web:"):
        raise InputError(
            "--issuer-id must be a did:web identifier (or leave it out to use the key's did:key)."
        )
    did.did_web_to_url(issuer)  # refuses IP addresses and malformed identifiers


def _parse_when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(f"{option} is not an ISO 8601 date-time badgeserver can use.") from None


@main.command("issue")
@click.argument("achievement_file")
@click.option("--recipient", "email", required=True, help="The earner's email (stored hashed).")
@click.option("--name", "recipient_name", default=None, help="The earner's name, published.")
@click.option("--key", "key_name", required=True, help="Name of the signing key in the keys folder.")
@click.option("--issuer-name", required=True, help="The issuing organization's name.")
@click.option("--issuer-url", default=None, help="The issuing organization's web site.")
@click.option("--issuer-id", default=None, help="Issuer DID (default: the key's did:key).")
@click.option("--id", "credential_id", default=None, help="Credential id (default: a urn:uuid).")
@click.option("--valid-until", default=None, help="Expiry date-time (ISO 8601).")
@click.option("-o", "--output", default="-", help="Where to write the signed JSON (default stdout).")
@keys_dir_option
@one_sentence_errors
def issue(
    achievement_file: str,
    email: str,
    recipient_name: str | None,
    key_name: str,
    issuer_name: str,
    issuer_url: str | None,
    issuer_id: str | None,
    credential_id: str | None,
    valid_until: str | None,
    output: str,
    keys_dir: str | None,
) -> None:
    """Issue a signed OpenBadgeCredential for ACHIEVEMENT_FILE (an OB 3.0 Achievement in JSON)."""
    if not is_email(email):
        raise InputError(f"{printable(email)!r} is not an email address.")
    if not issuer_name.strip():
        raise InputError("--issuer-name must not be empty.")
    achievement = _load_achievement(achievement_file)
    pair = _keystore(keys_dir).load(key_name)
    if pair.private_key is None:
        raise InputError(f"The key {key_name} has no private half and cannot sign.")
    did_key = did.did_key_from_public_key(pair.public_key_bytes)
    issuer = issuer_id or did_key
    _check_issuer(issuer, did_key)
    verification_method = (
        f"{did_key}#{pair.public_key_multibase}" if issuer == did_key else f"{issuer}#{pair.key_id}"
    )
    now = datetime.now(UTC)
    unsigned = build_credential(
        IssuerProfile(id=issuer, name=issuer_name, url=issuer_url),
        achievement,
        Recipient(email=email, salt=secrets.token_hex(8), name=recipient_name),
        Award(
            credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
            valid_from=now,
            valid_until=_parse_when(valid_until, "--valid-until"),
        ),
    )
    signed = sign_credential(
        unsigned,
        private_key=pair.private_key,
        verification_method=verification_method,
        now=now,
        canonicalizer=Canonicalizer(),
    )
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    write_file(output, text.encode("utf-8"))
    if output != "-":
        click.echo(f"Issued {signed['id']} to {output}", err=True)


@main.command("bake")
@click.argument("credential_file")
@click.argument("image_file")
@click.option("-o", "--output", required=True, help="Where to write the baked image.")
@click.option("--no-replace", is_flag=True, help="Refuse an image that already holds a credential.")
@one_sentence_errors
def bake(credential_file: str, image_file: str, output: str, no_replace: bool) -> None:
    """Bake the credential in CREDENTIAL_FILE into a PNG or SVG IMAGE_FILE."""
    text = read_text(credential_file)
    parsed = inputs.read_text(text)  # refuse anything that is not credential JSON or a JWT
    if "@context" not in parsed.credential or "credentialSubject" not in parsed.credential:
        raise InputError(f"{credential_file} does not hold a credential (no @context or credentialSubject).")
    image = read_file(image_file)
    kind = bakery.detect_format(image)
    baked = bakery.bake(image, text.strip(), replace=not no_replace)
    if len(baked) > bakery.MAX_IMAGE_BYTES:
        raise InputError("The baked image would be larger than badgeserver accepts; nothing was written.")
    write_file(output, baked)
    click.echo(f"Baked into {output} ({kind.upper()}, {len(baked)} bytes)", err=True)


@main.command("extract")
@click.argument("image_file")
@click.option("-o", "--output", default="-", help="Where to write the credential (default stdout).")
@one_sentence_errors
def extract(image_file: str, output: str) -> None:
    """Print the credential baked into a PNG or SVG image."""
    found = bakery.extract(read_file(image_file))
    write_file(output, (found.text + ("\n" if not found.text.endswith("\n") else "")).encode("utf-8"))


def _print_report(report: Report) -> None:
    summary = report.credential or {}
    if summary:
        issuer = summary.get("issuer") or {}
        # Everything here comes from the credential: make control characters visible.
        click.echo(f"Credential  {printable(summary.get('id'))}")
        click.echo(f"Achievement {printable(summary.get('achievement') or summary.get('name'))}")
        click.echo(f"Issuer      {printable(issuer.get('name') or '')} ({printable(issuer.get('id'))})")
        click.echo(f"Valid from  {printable(summary.get('validFrom'))}")
        if summary.get("validUntil"):
            click.echo(f"Valid until {printable(summary.get('validUntil'))}")
        click.echo("")
    symbols = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "warning": "WARN", "skipped": "SKIP"}
    for check in report.checks:
        click.echo(f"  {symbols[check.status]:<5} {check.id:<20} {printable(check.message)}")
    click.echo("")
    verdict = "VERIFIED" if report.verified else "NOT VERIFIED"
    click.echo(f"{verdict}: {printable(report.headline())}")


@main.command("verify")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--recipient", default=None, help="Check the credential was issued to this email.")
@click.option("--offline", is_flag=True, help="Fetch nothing (did:web keys and status lists give errors).")
@click.option(
    "--allow-http",
    multiple=True,
    metavar="HOST:PORT",
    help="Also fetch over plain http from this host (a local badgeserver).",
)
@one_sentence_errors
def verify(
    file: str, as_json: bool, recipient: str | None, offline: bool, allow_http: tuple[str, ...]
) -> None:
    """Verify a credential: JSON, a JWT, or a baked PNG or SVG. Exit 0 verified, 1 not, 2 unusable."""
    if recipient is not None and not is_email(recipient):
        raise InputError(f"--recipient {printable(recipient)!r} is not an email address.")
    data = read_file(file)
    fetcher = Fetcher(allow_http_hosts=frozenset(allow_http))
    verifier = Verifier(
        fetch_json=_offline_fetch if offline else fetcher.get_json,
        clock=lambda: datetime.now(UTC),
        http_hosts=frozenset(allow_http),
    )
    report = verifier.verify_bytes(data, recipient=recipient)
    unusable = report.status_of("input.parse") == "failed"
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        if unusable:
            fail(report.headline())
    elif unusable:
        fail(report.headline())
    else:
        _print_report(report)
    if unusable:
        sys.exit(EXIT_UNUSABLE)
    sys.exit(EXIT_VERIFIED if report.verified else EXIT_NOT_VERIFIED)


def _offline_fetch(url: str) -> dict[str, Any]:
    raise FetchError(f"Could not fetch {url}: badgeserver is running offline.")


def _register_service_commands() -> None:
    from badgeserver.account_commands import COMMANDS as ACCOUNT_COMMANDS
    from badgeserver.program_commands import COMMANDS as PROGRAM_COMMANDS
    from badgeserver.service_commands import COMMANDS
    from badgeserver.status_commands import COMMANDS as STATUS_COMMANDS
    from badgeserver.status_commands import KEY_COMMANDS

    for command in (*COMMANDS, *ACCOUNT_COMMANDS, *PROGRAM_COMMANDS, *STATUS_COMMANDS):
        main.add_command(command)
    for command in KEY_COMMANDS:
        keys_group.add_command(command)


_register_service_commands()
