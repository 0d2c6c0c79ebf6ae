"""Settings: defaults, the instance folder's badgeserver.toml, then BADGESERVER_* variables; read once."""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from badgeserver.errors import InputError

ENV_PREFIX = "BADGESERVER_"


@dataclass(frozen=True)
class Settings:
    """Everything the app and the CLI need to know about their deployment."""

    instance_path: Path
    base_url: str
    database_url: str
    keys_dir: Path
    secret_key: str
    allow_http_hosts: frozenset[str]
    status_list_size: int = 131_072
    max_upload_bytes: int = 8 * 1024 * 1024
    session_hours: int = 12  # a sign-in lasts at most this long
    proxy_hops: int = 0  # trusted reverse proxies in front (X-Forwarded-For/-Proto), for sign-in throttling
    reviewer_share_percent: int = 50  # the reviewer's share of each review fee
    max_evidence_bytes: int = 10 * 1024 * 1024  # the largest evidence file an educator may upload
    smtp_host: str | None = None  # notifications go to the log when unset
    smtp_port: int = 25
    smtp_from: str = "badgeserver@localhost"
    # Which status entries new credentials carry: "revocation" (OB 3.0's single credentialStatus
    # object) or "revocation+suspension" (a VCDM 2.0 array, so credentials can also be suspended).
    credential_status: str = "revocation"

    @property
    def host(self) -> str:
        """The host (and port) of BASE_URL: badgeserver's own origin."""
        return urlsplit(self.base_url).netloc


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(
            f"BASE_URL {value!r} is not an http(s) URL of a site (like https://badges.example.org)."
        )
    return value.rstrip("/")


def _secret(instance: Path) -> str:
    """A random secret kept in the instance folder, made once."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text("utf-8").strip()
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the settings: defaults < instance/badgeserver.toml < environment < `overrides`."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    instance = Path(
        overrides.get("instance_path") or env.get(f"{ENV_PREFIX}INSTANCE") or Path.cwd() / "instance"
    ).resolve()
    values: dict[str, Any] = {}
    config_file = instance / "badgeserver.toml"
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text("utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{config_file} is not valid TOML ({exc}).") from exc
    for key in (
        *("base_url", "database_url", "keys_dir", "secret_key", "allow_http_hosts"),
        *("session_hours", "proxy_hops"),  # the account settings
        *("reviewer_share_percent", "max_evidence_bytes", "smtp_host", "smtp_port", "smtp_from"),
        "credential_status",
    ):
        env_value = env.get(f"{ENV_PREFIX}{key.upper()}")
        if env_value:
            values[key] = env_value
    if "database_url" not in values and env.get("DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    if "keys_dir" not in values and env.get("KEYS_DIR"):
        values["keys_dir"] = env["KEYS_DIR"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    base_url = _check_base_url(str(values.get("base_url", "http://localhost:5000")))
    hosts = values.get("allow_http_hosts", "")
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    settings = Settings(
        instance_path=instance,
        base_url=base_url,
        database_url=str(values.get("database_url") or f"sqlite:///{instance / 'badgeserver.db'}"),
        keys_dir=Path(values.get("keys_dir") or Path.cwd() / "keys").resolve(),
        secret_key=str(values.get("secret_key") or _secret(instance)),
        allow_http_hosts=frozenset(hosts),
    )
    return _program_settings(settings, values)


CREDENTIAL_STATUS_CHOICES = ("revocation", "revocation+suspension")

# Whole-number settings and their ranges, checked the same way wherever they come from.
WHOLE_NUMBERS = (
    ("session_hours", 1, 24 * 30),
    ("proxy_hops", 0, 5),
    ("reviewer_share_percent", 0, 100),
    ("max_evidence_bytes", 1, 100 * 1024 * 1024),
    ("smtp_port", 1, 65535),
    ("status_list_size", 131_072, 8 * 131_072),
)


def _program_settings(settings: Settings, values: dict[str, Any]) -> Settings:
    """The whole-number settings (checked against WHOLE_NUMBERS) and SMTP_HOST/SMTP_FROM."""
    changes: dict[str, Any] = {}
    for key, low, high in WHOLE_NUMBERS:
        raw = values.get(key)
        if raw is None or raw == "":
            continue
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = low - 1
        if not low <= number <= high:
            raise InputError(f"{key.upper()} must be a whole number from {low} to {high}, not {raw!r}.")
        changes[key] = number
    for key in ("smtp_host", "smtp_from"):
        if values.get(key):
            changes[key] = str(values[key]).strip()
    status = values.get("credential_status")
    if status is not None:
        if status not in CREDENTIAL_STATUS_CHOICES:
            raise InputError(
                f"CREDENTIAL_STATUS must be one of {', '.join(CREDENTIAL_STATUS_CHOICES)}, not {status!r}."
            )
        changes["credential_status"] = status
    return replace(settings, **changes) if changes else settings
