"""Multibase (base58btc) and Multikey encoding of Ed25519 keys (KEY-1, KEY-3, SIG-3)."""

from __future__ import annotations

import base58

from badgeserver.errors import KeyMaterialError

# Multicodec headers (varint-encoded): ed25519-pub 0xed, ed25519-priv 0x1300.
ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"


def encode_base58btc(data: bytes) -> str:
    """Return the multibase base58btc form of `data` (`z` + base58btc)."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_base58btc(value: str) -> bytes:
    """Decode a multibase base58btc string; raise KeyMaterialError if it is not one."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise KeyMaterialError("A multibase value must be a base58btc string starting with 'z'.")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise KeyMaterialError("The multibase value is not valid base58btc.") from exc


def encode_public_key(raw: bytes) -> str:
    """Return the Multikey `publicKeyMultibase` (z6Mk...) of a 32-byte Ed25519 public key."""
    if len(raw) != 32:
        raise KeyMaterialError("An Ed25519 public key is 32 bytes.")
    return encode_base58btc(ED25519_PUB_HEADER + raw)


def decode_public_key(value: str) -> bytes:
    """Return the 32 raw bytes of an Ed25519 Multikey; any other header is refused (KEY-1)."""
    data = decode_base58btc(value)
    if data[:2] != ED25519_PUB_HEADER:
        raise KeyMaterialError("The public key is not an Ed25519 Multikey (header 0xed01).")
    if len(data) != 34:
        raise KeyMaterialError("An Ed25519 public key is 32 bytes (invalidPublicKeyLength).")
    return data[2:]


def encode_secret_key(seed: bytes) -> str:
    """Return the `secretKeyMultibase` of a 32-byte Ed25519 seed (0x8026 header)."""
    if len(seed) != 32:
        raise KeyMaterialError("An Ed25519 private key seed is 32 bytes.")
    return encode_base58btc(ED25519_PRIV_HEADER + seed)


def decode_secret_key(value: str) -> tuple[bytes, bytes | None]:
    """Return (seed, public key or None) from a secretKeyMultibase of 32 or 64 bytes (KEY-3)."""
    data = decode_base58btc(value)
    if data[:2] != ED25519_PRIV_HEADER:
        raise KeyMaterialError("The secret key is not an Ed25519 Multikey (header 0x8026).")
    body = data[2:]
    if len(body) == 32:
        return body, None
    if len(body) == 64:
        return body[:32], body[32:]
    raise KeyMaterialError("An Ed25519 secret key is 32 bytes (seed) or 64 bytes (seed + public).")
