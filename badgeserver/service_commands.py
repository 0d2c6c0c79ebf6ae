"""Commands that run the service: init, catalog import, demo, serve."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from badgeserver import bakery, create_app
from badgeserver.cli_support import one_sentence_errors
from badgeserver.errors import InputError
from badgeserver.program import accounts
from badgeserver.program.catalog import load_catalog
from badgeserver.program.catalog_import import import_catalog
from badgeserver.program.demo import DemoAward, run_demo
from badgeserver.program_commands import CATALOG_COMMANDS
from badgeserver.resources import DEMO_CATALOG, catalog_dir
from badgeserver.store import models as m
from badgeserver.store.migrate import upgrade
from badgeserver.web.services import Services, services

instance_option = click.option(
    "--instance",
    "instance_path",
    default=None,
    help="Instance folder (default: ./instance or BADGESERVER_INSTANCE).",
)


def _services(**overrides: Any) -> Services:
    app = create_app({k: v for k, v in overrides.items() if v is not None})
    return services(app)


@click.command("init")
@instance_option
@one_sentence_errors
def init(instance_path: str | None) -> None:
    """Create the instance folder and migrate its database to the current schema."""
    svc = _services(instance_path=instance_path)
    upgrade(svc.db.engine)
    click.echo(f"Instance {svc.settings.instance_path} is ready ({_safe_url(svc.settings.database_url)}).")


@click.group("catalog")
def catalog_group() -> None:
    """Manage the microcredential catalog."""


@catalog_group.command("import")
@click.argument("catalog_file", type=click.Path(dir_okay=False, path_type=Path))
@instance_option
@one_sentence_errors
def catalog_import(catalog_file: Path, instance_path: str | None) -> None:
    """Import CATALOG_FILE (YAML); a bad file is refused, naming the field and line, and nothing changes."""
    catalog = load_catalog(catalog_file)
    svc = _services(instance_path=instance_path)
    upgrade(svc.db.engine)
    with svc.db.transaction() as session:
        summary = import_catalog(session, catalog, now=svc.clock())
    click.echo(
        f"Imported {catalog_file.name}: {len(summary.created)} created, "
        f"{len(summary.updated)} updated, {len(summary.unchanged)} unchanged."
    )


for _command in CATALOG_COMMANDS:  # retire, publish-version
    catalog_group.add_command(_command)


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


def _write_outputs(svc: Services, awards: list[DemoAward], out: Path) -> list[dict[str, Any]]:
    """Write each credential's JSON, baked PNG and baked SVG; verify both images."""
    out.mkdir(parents=True, exist_ok=True)
    verifier = svc.verifier()
    rows = []
    with svc.db.read() as session:
        for award in awards:
            credential = session.get(m.Credential, award.credential_id)
            owner: Any = None
            if credential is not None and credential.version is not None:
                owner, slug = credential.version, credential.version.microcredential.slug
            elif credential is not None and credential.kind in ("stack", "bundle"):
                model: Any = m.Stack if credential.kind == "stack" else m.Bundle
                owner = session.get(model, credential.stack_id or credential.bundle_id)
                slug = owner.slug if owner is not None else ""
            if credential is None or owner is None:
                raise InputError(f"The demo credential {award.credential_id} is missing.")
            # Named by achievement and credential, never by earner: some keep their name private.
            stem = f"{slug}--{award.credential_id[:8]}"
            (out / f"{stem}.json").write_text(credential.signed_json + "\n", "utf-8")
            verdicts = []
            for extension, image_id in (("png", owner.image_png_id), ("svg", owner.image_svg_id)):
                image = session.get(m.Image, image_id)
                if image is None:
                    raise InputError(f"The image of {stem} is missing.")
                baked = bakery.bake(image.data, credential.signed_json)
                (out / f"{stem}.{extension}").write_bytes(baked)
                verdicts.append(verifier.verify_bytes(baked).verified)
            rows.append(
                {
                    "award": award,
                    "url": svc.urls.credential(award.credential_id),
                    "verified": all(verdicts),
                    "stem": stem,
                }
            )
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    click.echo("")
    click.echo(f"{'Earner':<20} {'Credential':<38} {'Kind':<15} {'Tries':>5}  {'Verified':<8}  URL")
    for row in rows:
        award: DemoAward = row["award"]
        mark = "yes" if row["verified"] else "NO"
        tries = str(award.attempts) if award.kind == "microcredential" else "-"
        click.echo(
            f"{award.earner[:20]:<20} {award.microcredential[:38]:<38} {award.kind:<15} {tries:>5}  "
            f"{mark:<8}  {row['url']}"
        )


@click.command("demo")
@click.option(
    "--instance",
    "instance_path",
    default="demo-instance",
    show_default=True,
    help="Demo instance folder (recreated).",
)
@click.option(
    "--out",
    "out_dir",
    default="demo-output",
    show_default=True,
    help="Where to write credentials and baked images.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--serve/--no-serve", default=True, help="Serve the demo after running it.")
@one_sentence_errors
def demo(instance_path: str, out_dir: str, host: str, port: int, workers: int, serve: bool) -> None:
    """Run the main job on the bundled catalog: review, issue, bake, verify, then serve."""
    if serve:
        _check_port_free(host, port)
    instance = Path(instance_path).resolve()
    if instance.exists():
        if not (instance / "demo.db").exists() and any(instance.iterdir()):
            raise InputError(f"{instance} exists and is not a demo instance; choose another --instance.")
        shutil.rmtree(instance)
    out = Path(out_dir).resolve()
    shutil.rmtree(out, ignore_errors=True)
    settings = {
        "instance_path": str(instance),
        "database_url": f"sqlite:///{instance / 'demo.db'}",
        "keys_dir": str(instance / "keys"),
        "base_url": f"http://localhost:{port}",
    }
    svc = _services(**settings)
    # A demo run with BADGESERVER_CREDENTIAL_STATUS keeps that choice for every later command.
    settings["credential_status"] = svc.settings.credential_status
    upgrade(svc.db.engine)
    # The demo database holds names and emails: keep the folder to its owner.
    instance.chmod(0o700)
    # Written down so every other command finds the demo with --instance demo-instance.
    (instance / "badgeserver.toml").write_text(
        "".join(
            f"{key} = {json.dumps(value)}\n" for key, value in settings.items() if key != "instance_path"
        ),
        "utf-8",
    )
    catalog = load_catalog(catalog_dir() / DEMO_CATALOG)
    click.echo(
        f"Catalog: {catalog.program_name}: {len(catalog.microcredentials)} microcredentials, "
        f"{len(catalog.stacks)} stacks, {len(catalog.bundles)} bundle(s)."
    )
    with svc.db.transaction() as session:
        awards = run_demo(session, catalog, svc.issuing, lambda: datetime.now(UTC))
        sign_ins = accounts.demo_passwords(session, svc.clock())
    rows = _write_outputs(svc, awards, out)
    (out / "summary.json").write_text(
        json.dumps(
            [
                {
                    "earner": r["award"].earner,
                    "microcredential": r["award"].microcredential,
                    "url": r["url"],
                    "files": [f"{r['stem']}.{x}" for x in ("json", "png", "svg")],
                    "verified": r["verified"],
                }
                for r in rows
            ],
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        "utf-8",
    )
    _print_table(rows)
    click.echo(f"\nWrote {len(rows)} credentials (JSON, baked PNG, baked SVG) to {out}")
    if not all(r["verified"] for r in rows):
        raise InputError("A demo credential did not verify.")
    click.echo(f"\nSign in at http://localhost:{port}/login with password {accounts.DEMO_PASSWORD!r} as:")
    for email, role in sign_ins:
        click.echo(f"  {role:<9} {email}")
    with svc.db.read() as session:
        handles = session.scalars(
            select(m.Person.profile_handle).where(m.Person.profile_public.is_(True)).order_by(m.Person.id)
        ).all()
    click.echo("\nPublic profiles: " + "  ".join(svc.urls.base + f"/earners/{h}" for h in handles))
    if serve:
        click.echo(
            f"Serving on http://localhost:{port} (Ctrl-C to stop). Verify page: http://localhost:{port}/verify"
        )
        run_gunicorn(settings, host=host, port=port, workers=workers)


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port in use before anything is reset (a demo may already be serving there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise InputError(
                f"Port {port} is in use; stop the other server (or demo) or choose another with --port."
            ) from None


def run_gunicorn(settings: Mapping[str, Any], *, host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (never the Flask development server)."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # Threaded workers: one slow client holds a thread, not a whole worker.
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self) -> Any:
            return create_app(settings)

    _Server().run()


@click.command("serve")
@instance_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes."
)
@one_sentence_errors
def serve(instance_path: str | None, host: str, port: int, workers: int) -> None:
    """Serve badgeserver with gunicorn; the database is migrated first."""
    _check_port_free(host, port)
    svc = _services(instance_path=instance_path)
    upgrade(svc.db.engine)
    svc.db.dispose()
    settings = {"instance_path": str(svc.settings.instance_path)}
    click.echo(f"Serving {svc.settings.base_url} on {host}:{port} with {workers} worker(s).")
    run_gunicorn(settings, host=host, port=port, workers=workers)


COMMANDS = (init, catalog_group, demo, serve)
