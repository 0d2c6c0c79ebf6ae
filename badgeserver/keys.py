"""Ed25519 key pairs and the on-disk key store (KEY-1, KEY-3); private keys are never shown."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from badgeserver.errors import InputError, KeyMaterialError
from badgeserver.integrity import multikey

KEY_FILE_SUFFIX = ".json"
MAX_KEY_FILE_BYTES = 64 * 1024
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair, or a public key alone when `private_key` is None."""

    private_key: Ed25519PrivateKey | None = field(repr=False, compare=False)
    public_key_bytes: bytes

    def __post_init__(self) -> None:
        if len(self.public_key_bytes) != 32:
            raise KeyMaterialError("An Ed25519 public key is 32 bytes.")

    @property
    def public_key_multibase(self) -> str:
        """Return the Multikey `publicKeyMultibase` (z6Mk...)."""
        return multikey.encode_public_key(self.public_key_bytes)

    @property
    def key_id(self) -> str:
        """Return the short stable name of this key: its public multibase."""
        return self.public_key_multibase

    @property
    def has_private_key(self) -> bool:
        """Return True when this pair can sign."""
        return self.private_key is not None

    def secret_key_multibase(self) -> str:
        """Return the 32-byte-seed `secretKeyMultibase`; for the key store only, never publish."""
        seed = self._private().private_bytes_raw()
        return multikey.encode_secret_key(seed)

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `data`."""
        return self._private().sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Return True if `signature` is a valid Ed25519 signature of `data` by this key."""
        public = Ed25519PublicKey.from_public_bytes(self.public_key_bytes)
        try:
            public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def public_only(self) -> KeyPair:
        """Return a copy holding only the public key."""
        return KeyPair(None, self.public_key_bytes)

    def _private(self) -> Ed25519PrivateKey:
        if self.private_key is None:
            raise KeyMaterialError(f"Key {self.key_id} is public only and cannot sign.")
        return self.private_key

    def __repr__(self) -> str:
        kind = "private" if self.private_key is not None else "public-only"
        return f"KeyPair({self.public_key_multibase}, {kind})"

    __str__ = __repr__


def _from_private(private_key: Ed25519PrivateKey) -> KeyPair:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KeyPair(private_key, raw)


def generate() -> KeyPair:
    """Return a new random Ed25519 key pair."""
    return _from_private(Ed25519PrivateKey.generate())


def from_seed(seed: bytes) -> KeyPair:
    """Return the key pair of a 32-byte Ed25519 seed."""
    if not isinstance(seed, bytes | bytearray) or len(seed) != 32:
        raise KeyMaterialError("An Ed25519 private key seed is 32 bytes.")
    return _from_private(Ed25519PrivateKey.from_private_bytes(bytes(seed)))


def from_secret_key_multibase(value: str) -> KeyPair:
    """Return the key pair of a `secretKeyMultibase` (32-byte seed or 64-byte seed+public)."""
    try:
        seed, embedded_public = multikey.decode_secret_key(value)
    except KeyMaterialError as exc:
        raise KeyMaterialError(exc.message) from None
    pair = from_seed(seed)
    if embedded_public is not None and embedded_public != pair.public_key_bytes:
        raise KeyMaterialError("The 64-byte secret key embeds a public key that does not belong to its seed.")
    return pair


def from_public_key_multibase(value: str) -> KeyPair:
    """Return a public-only key pair from a Multikey `publicKeyMultibase`."""
    return KeyPair(None, multikey.decode_public_key(value))


def default_keys_dir() -> Path:
    """Return `KEYS_DIR` from the environment if set, else `<cwd>/keys`."""
    configured = os.environ.get("KEYS_DIR")
    if configured:
        return Path(configured)
    return Path.cwd() / "keys"


def check_key_name(name: str) -> str:
    """Return `name` if it is a safe key name (`[A-Za-z0-9_.-]{1,64}`, no leading dot)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.startswith("."):
        raise KeyMaterialError(
            "A key name is 1 to 64 letters, digits, '_', '.' or '-', and does not start with '.'."
        )
    return name


def _iso_utc(now: datetime) -> str:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError("The key creation time must be timezone-aware.")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KeyStore:
    """Key files `<name>.json` (Multikey, secret included) in one directory, mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r})"

    def path(self, name: str) -> Path:
        """Return the file path of key `name`."""
        return self.directory / (check_key_name(name) + KEY_FILE_SUFFIX)

    def exists(self, name: str) -> bool:
        """Return True if a key file named `name` exists."""
        return os.path.lexists(self.path(name))

    def generate(self, name: str, *, now: datetime) -> KeyPair:
        """Create and store a new key pair under `name`; an existing name is never overwritten."""
        return self.add(name, generate(), now=now)

    def add(self, name: str, pair: KeyPair, *, now: datetime) -> KeyPair:
        """Store an existing private key pair under `name`, never overwriting a stored key."""
        target = self.path(name)
        if not pair.has_private_key:
            raise KeyMaterialError(f"Key '{name}' cannot be stored without its private key.")
        record = {
            "type": "Multikey",
            "publicKeyMultibase": pair.public_key_multibase,
            "secretKeyMultibase": pair.secret_key_multibase(),
            "created": _iso_utc(now),
        }
        self._ensure_directory()
        if os.path.lexists(target):
            raise KeyMaterialError(f"Key '{name}' already exists in {self.directory}.")
        self._write_new(target, json.dumps(record, indent=2).encode("utf-8") + b"\n", name)
        return pair

    def load(self, name: str) -> KeyPair:
        """Return the key pair stored under `name`."""
        return self._read(name)[1]

    def list(self) -> list[str]:
        """Return the sorted names of the stored keys."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyMaterialError(f"Cannot list the key directory {self.directory}.") from exc
        names = []
        for entry in entries:
            if not entry.endswith(KEY_FILE_SUFFIX):
                continue
            stem = entry[: -len(KEY_FILE_SUFFIX)]
            if _NAME_RE.fullmatch(stem) and not stem.startswith("."):
                names.append(stem)
        return sorted(names)

    def public_info(self, name: str) -> dict[str, Any]:
        """Return the public description of key `name` (never its secret)."""
        record, pair = self._read(name)
        return {
            "name": name,
            "type": "Multikey",
            "publicKeyMultibase": pair.public_key_multibase,
            "created": record.get("created"),
        }

    def _ensure_directory(self) -> None:
        if self.directory.is_dir():
            # A checked-out keys/ folder arrives 0755; private keys live only in a 0700 folder.
            mode = stat.S_IMODE(self.directory.stat().st_mode)
            if mode & 0o077:
                try:
                    os.chmod(self.directory, mode & 0o700)
                except OSError as exc:
                    raise KeyMaterialError(
                        f"Cannot make the key directory {self.directory} private."
                    ) from exc
            return
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise KeyMaterialError(f"Cannot create the key directory {self.directory}.") from exc

    def _write_new(self, target: Path, data: bytes, name: str) -> None:
        temp = self.directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(temp, flags, 0o600)
        except OSError as exc:
            raise KeyMaterialError(f"Cannot write key '{name}' in {self.directory}.") from exc
        try:
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o600)
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._publish(temp, target, name)
        except OSError as exc:
            raise KeyMaterialError(f"Cannot write key '{name}' in {self.directory}.") from exc
        finally:
            if os.path.lexists(temp):
                os.unlink(temp)

    def _publish(self, temp: Path, target: Path, name: str) -> None:
        # A hard link refuses an existing target atomically; os.replace is the fallback
        # for file systems without hard links.
        try:
            os.link(temp, target)
        except FileExistsError as exc:
            raise KeyMaterialError(f"Key '{name}' already exists in {self.directory}.") from exc
        except OSError:
            if os.path.lexists(target):
                raise KeyMaterialError(f"Key '{name}' already exists in {self.directory}.") from None
            os.replace(temp, target)

    def _read(self, name: str) -> tuple[dict[str, Any], KeyPair]:
        target = self.path(name)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(target, flags)
        except FileNotFoundError:
            raise KeyMaterialError(f"No key named '{name}' in {self.directory}.") from None
        except OSError as exc:
            raise KeyMaterialError(f"Cannot open key file {target}.") from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise KeyMaterialError(f"Key file {target} is not a regular file.")
            if os.name == "posix" and info.st_mode & 0o077:
                raise KeyMaterialError(
                    f"Key file {target} is accessible by group or others "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {target}"
                )
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise KeyMaterialError(f"Cannot read key file {target}.") from exc
        finally:
            os.close(fd)
        return _parse_key_file(data, target)


def _parse_key_file(data: bytes, target: Path) -> tuple[dict[str, Any], KeyPair]:
    corrupt = f"Key file {target} is corrupt"
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyMaterialError(f"{corrupt}: it is too large.")
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeyMaterialError(f"{corrupt}: it is not JSON.") from None
    if not isinstance(record, dict) or record.get("type") != "Multikey":
        raise KeyMaterialError(f"{corrupt}: it is not a Multikey object.")
    public = record.get("publicKeyMultibase")
    secret = record.get("secretKeyMultibase")
    if not isinstance(public, str):
        raise KeyMaterialError(f"{corrupt}: publicKeyMultibase is missing.")
    try:
        if secret is None:
            return record, from_public_key_multibase(public)
        if not isinstance(secret, str):
            raise KeyMaterialError("secretKeyMultibase is not a string.")
        pair = from_secret_key_multibase(secret)
        if pair.public_key_multibase != public:
            raise KeyMaterialError("its public key does not belong to its secret key.")
    except KeyMaterialError as exc:
        raise KeyMaterialError(f"{corrupt}: {exc.message}") from None
    return record, pair
