"""Bitstring Status List encoding: GZIP + base64url multibase, bit 0 leftmost (STAT-4, STAT-6)."""

from __future__ import annotations

import base64
import struct
import zlib

from badgeserver.errors import InputError, InputTooLarge

MIN_ENTRIES = 131_072  # 16 KiB uncompressed (STAT-4)
MAX_DECODED_BYTES = 16 * 1024 * 1024
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


def encode(bits: bytes) -> str:
    """Return the `encodedList` of an uncompressed bitstring: `u` + base64url-no-pad(GZIP)."""
    # A fixed GZIP header (no name, mtime 0, XFL 0, OS 3) and deflate level 6, as the common
    # JavaScript implementations write it, so equal bitstrings give byte-equal lists.
    deflater = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = deflater.compress(bytes(bits)) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(bits), len(bits) & 0xFFFFFFFF)
    compressed = _GZIP_HEADER + raw + trailer
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """Return the uncompressed bitstring of an `encodedList`; InputError if it is malformed."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise InputError("The encodedList is not a multibase base64url string starting with 'u'.")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError) as exc:
        raise InputError("The encodedList is not valid base64url.") from exc
    try:
        # wbits 16+MAX_WBITS reads the GZIP container; the cap defeats decompression bombs.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise InputError("The encodedList is not GZIP-compressed.") from exc
    if inflater.unconsumed_tail:
        raise InputTooLarge("The decoded status list is larger than badgeserver accepts.")
    return bits


def empty(entries: int = MIN_ENTRIES) -> bytearray:
    """Return an all-zero bitstring of `entries` bits (rounded up to whole bytes)."""
    return bytearray((entries + 7) // 8)


def get_bit(bits: bytes, index: int) -> int:
    """Return bit `index` (0 is the most significant bit of byte 0)."""
    if index < 0 or index >= len(bits) * 8:
        raise IndexError(index)
    return (bits[index // 8] >> (7 - index % 8)) & 1


def set_bit(bits: bytearray, index: int, value: int) -> None:
    """Set bit `index` to `value` (0 or 1) in place."""
    if index < 0 or index >= len(bits) * 8:
        raise IndexError(index)
    mask = 1 << (7 - index % 8)
    if value:
        bits[index // 8] |= mask
    else:
        bits[index // 8] &= ~mask & 0xFF
