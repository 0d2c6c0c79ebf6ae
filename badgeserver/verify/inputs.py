"""Turn what a person hands in (bytes of JSON, a JWT, a baked PNG or SVG) into a credential (VER-0)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from badgeserver import bakery
from badgeserver.errors import BakeError, InputError, InputTooLarge

MAX_JSON_BYTES = 1024 * 1024
MAX_DEPTH = 64


@dataclass(frozen=True)
class ParsedInput:
    """A credential read from input: the kind of input, the JSON, and the raw text."""

    kind: str
    credential: dict[str, Any]
    text: str
    proof_format: str  # "embedded" (Data Integrity) or "jwt"


def check_depth(text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before parsing it."""
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputTooLarge(f"The JSON is nested deeper than {MAX_DEPTH} levels.")
        elif char in "]}":
            depth -= 1


def parse_json(text: str) -> dict[str, Any]:
    """Parse credential JSON text with size and depth limits; InputError if it is not one object."""
    if len(text.encode("utf-8")) > MAX_JSON_BYTES:
        raise InputTooLarge(f"The credential is larger than {MAX_JSON_BYTES // 1024} KiB.")
    check_depth(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"The input is not valid JSON ({exc.msg} at line {exc.lineno}).") from exc
    except (ValueError, RecursionError) as exc:
        raise InputError("The input is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise InputError("The input is JSON but not a credential object.")
    return value


def _b64url_json(part: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InputError("The JWT is not made of base64url-encoded JSON parts.") from exc
    if not isinstance(value, dict):
        raise InputError("A JWT part is not a JSON object.")
    return value


def parse_jwt(text: str) -> dict[str, Any]:
    """Read the credential inside a compact JWS (the payload itself, or its `vc` claim, JWT-4)."""
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise InputError("The input is not a compact JWS (three dot-separated parts).")
    payload = _b64url_json(parts[1])
    credential = payload.get("vc", payload)
    if not isinstance(credential, dict):
        raise InputError("The JWT's payload holds no credential object.")
    return credential


def _looks_like_jwt(text: str) -> bool:
    stripped = text.strip()
    return stripped.count(".") == 2 and not stripped.startswith(("{", "<"))


def read_text(text: str, kind: str = "json") -> ParsedInput:
    """Read credential text: JSON or a compact JWS."""
    if _looks_like_jwt(text):
        return ParsedInput("jwt" if kind == "json" else kind, parse_jwt(text), text.strip(), "jwt")
    return ParsedInput(kind, parse_json(text), text, "embedded")


def read_bytes(data: bytes) -> ParsedInput:
    """Read any input: a baked PNG or SVG, JSON, or a JWT; InputError with one sentence if unusable."""
    if not data:
        raise InputError("The input is empty.")
    if len(data) > bakery.MAX_IMAGE_BYTES:
        raise InputTooLarge("The input is larger than badgeserver accepts.")
    if data.startswith(b"\x89PNG") or _is_svg(data):
        try:
            extracted = bakery.extract(data)
        except BakeError as exc:
            raise InputError(exc.message) from exc
        kind = bakery.detect_format(data)
        return read_text(extracted.text, kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        other = bakery.other_image_type(data)
        if other is not None:
            raise InputError(f"The input is a {other} image; only PNG and SVG images carry badges.") from None
        raise InputError("The input is not a PNG or SVG image, nor UTF-8 JSON or a JWT.") from None
    if text.lstrip().startswith("<"):
        raise InputError("The input is XML or HTML but not an SVG image.")
    return read_text(text)


def _is_svg(data: bytes) -> bool:
    try:
        return bakery.detect_format(data) == "svg"
    except BakeError:
        return False
