"""Recipient identity hashing for IdentityObject (DM-7, DM-8, VER-8)."""

from __future__ import annotations

import hashlib
import hmac
import re

from badgeserver.errors import InputError


def identity_hash(identifier: str, salt: str = "", *, algorithm: str = "sha256") -> str:
    """Return `<alg>$<hex>` of UTF-8(identifier + salt), as the IdentityHash type defines (DM-8)."""
    if algorithm not in ("sha256", "md5"):
        raise InputError(f"The identity hash algorithm {algorithm!r} is not sha256 or md5.")
    digest = hashlib.new(algorithm, (identifier + salt).encode("utf-8")).hexdigest()
    return f"{algorithm}${digest}"


_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def is_email(value: str) -> bool:
    """True for a plain address like name@example.org (no display name, no mailto:)."""
    return len(value) <= 254 and _EMAIL.match(value.strip()) is not None


def normalize_email(email: str) -> str:
    """Trim and lower-case an email address for hashing and comparison."""
    return email.strip().lower()


def matches(identity_hash_value: str, identifier: str, salt: str | None) -> bool:
    """True when `identifier` (with `salt`) hashes to `identity_hash_value`; hex in either case."""
    algorithm, sep, expected = identity_hash_value.partition("$")
    if not sep or algorithm not in ("sha256", "md5"):
        return False
    actual = identity_hash(identifier, salt or "", algorithm=algorithm).partition("$")[2]
    return hmac.compare_digest(actual, expected.lower())
