"""Bake Open Badges credentials into PNG and SVG images and extract them again (BAKE-1..BAKE-10)."""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET

from badgeserver.errors import BakeError, InputTooLarge

MAX_IMAGE_BYTES = 8 * 1024 * 1024

OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_NAMESPACE = "http://openbadges.org"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
PNG_KEYWORD = b"openbadgecredential"
PNG_KEYWORD_OB2 = b"openbadges"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_OB3_CREDENTIAL = f"{{{OB3_NAMESPACE}}}credential"
_OB2_ASSERTION = f"{{{OB2_NAMESPACE}}}assertion"
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[[^\]]*\])*>", re.S)
_SVG_ROOT = re.compile(rb"<(?:[^\s<>/:=]+:)?svg[\s/>]")
_START_TAG = re.compile(rb"""<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>""")
_ATTRIBUTE = re.compile(rb"""([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""")
_ENCODING = re.compile(rb"""(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_SNIFF = ((b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))


@dataclass(frozen=True)
class Extracted:
    """A credential found in a baked image, with where it was found."""

    text: str
    kind: str  # "json" | "jwt" | "url" (OB 2.0 hosted assertions)
    location: str
    ob_version: str


def _check_size(data: bytes) -> None:
    """Refuse an image larger than MAX_IMAGE_BYTES."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InputTooLarge(f"The image is larger than the limit of {MAX_IMAGE_BYTES} bytes.")


def _payload(credential: str) -> tuple[bytes, str]:
    """Return the UTF-8 bytes and kind of a credential to bake; refuse anything else."""
    try:
        raw = credential.encode("utf-8")
    except (AttributeError, UnicodeEncodeError) as exc:
        raise BakeError("The credential to bake is not valid Unicode text.") from exc
    if len(raw) > MAX_IMAGE_BYTES:
        raise InputTooLarge(f"The credential is larger than the limit of {MAX_IMAGE_BYTES} bytes.")
    if _JWS.fullmatch(credential):
        return raw, "jwt"
    try:
        document = json.loads(credential)
    except (ValueError, RecursionError) as exc:
        raise BakeError("The credential to bake is neither JSON nor a compact JWS.") from exc
    if not isinstance(document, dict):
        raise BakeError("The credential to bake is JSON but not a JSON object.")
    return raw, "json"


def _kind(text: str) -> str:
    """Classify extracted text as a compact JWS, a URL or JSON."""
    value = text.strip()
    if _JWS.fullmatch(value):
        return "jwt"
    if value.startswith(("https://", "http://")) and not any(c.isspace() for c in value):
        return "url"
    return "json"


def other_image_type(data: bytes) -> str | None:
    """The name of a common image format that cannot carry a badge (JPEG, GIF, ...), or None."""
    return next((name for magic, name in _SNIFF if data.startswith(magic)), None)


def detect_format(data: bytes) -> str:
    """Return "png" or "svg" for a bakeable image; raise BakeError for anything else (BAKE-1)."""
    _check_size(data)
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while (item := _PROLOG_ITEM.match(data, pos)) is not None and item.end() > pos:
        pos = item.end()
    if _SVG_ROOT.match(data, pos):
        return "svg"
    if not data:
        raise BakeError("The file is empty, so it is not a PNG or SVG image.")
    for magic, name in _SNIFF:
        if data.startswith(magic):
            raise BakeError(f"The file is a {name} image, not a PNG or SVG image.")
    raise BakeError("The file is not a PNG or SVG image.")


def bake(image: bytes, credential: str, *, replace: bool = True) -> bytes:
    """Bake `credential` into a PNG or SVG image, whichever `image` is."""
    if detect_format(image) == "png":
        return bake_png(image, credential, replace=replace)
    return bake_svg(image, credential, replace=replace)


def extract(image: bytes) -> Extracted:
    """Return the credential baked into a PNG or SVG image; raise BakeError if there is none."""
    found = extract_png(image) if detect_format(image) == "png" else extract_svg(image)
    if found is None:
        raise BakeError("The image holds no Open Badges credential.")
    return found


# --- PNG (BAKE-2..BAKE-5) ---------------------------------------------------------------


class _Chunk(NamedTuple):
    """One PNG chunk, located by byte offsets in the file."""

    kind: bytes
    start: int  # offset of the length field
    data_start: int
    end: int  # offset just after the CRC


def _png_chunks(data: bytes) -> list[_Chunk]:
    """Walk and check every chunk of a PNG (length, type, CRC); refuse a damaged file."""
    if not data.startswith(_PNG_SIGNATURE):
        raise BakeError("The file is not a PNG image (its signature is missing).")
    chunks: list[_Chunk] = []
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise BakeError("The PNG image is truncated inside a chunk header.")
        length, kind = struct.unpack_from(">I4s", data, pos)
        if length > 0x7FFFFFFF or not kind.isalpha() or not kind.isascii():
            raise BakeError("The PNG image is corrupt: a chunk has an invalid length or type.")
        data_start = pos + 8
        end = data_start + length + 4
        if end > len(data):
            raise BakeError(f"The PNG image is truncated inside its {kind.decode()} chunk.")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise BakeError(f"The PNG image is corrupt: the CRC of its {kind.decode()} chunk is wrong.")
        if not chunks and kind != b"IHDR":
            raise BakeError("The PNG image is corrupt: it does not start with an IHDR chunk.")
        chunks.append(_Chunk(kind, pos, data_start, end))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[-1].kind != b"IEND":
        raise BakeError("The PNG image is truncated: it has no IEND chunk.")
    if pos != len(data):
        raise BakeError("The PNG image has unexpected data after its IEND chunk.")
    return chunks


def _keyword(data: bytes, chunk: _Chunk) -> bytes:
    """Return the keyword of a tEXt or iTXt chunk (the bytes before the first NUL)."""
    nul = data.find(b"\0", chunk.data_start, chunk.end - 4)
    return data[chunk.data_start : nul] if nul >= 0 else b""


def _itxt_text(body: bytes, keyword: bytes) -> str:
    """Decode the text of an iTXt chunk body, inflating it (with a size cap) if compressed."""
    rest = body[len(keyword) + 1 :]
    if len(rest) < 2:
        raise BakeError(f"The PNG {keyword.decode()} iTXt chunk is malformed.")
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3 or flag not in (0, 1) or method != 0:
        raise BakeError(f"The PNG {keyword.decode()} iTXt chunk is malformed.")
    text = parts[2]
    if flag == 1:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_IMAGE_BYTES + 1)
        except zlib.error as exc:
            raise BakeError(f"The compressed PNG {keyword.decode()} text is corrupt.") from exc
        if len(text) > MAX_IMAGE_BYTES or inflater.unconsumed_tail:
            raise InputTooLarge(
                f"The compressed PNG {keyword.decode()} text inflates past {MAX_IMAGE_BYTES} bytes."
            )
        if not inflater.eof:
            raise BakeError(f"The compressed PNG {keyword.decode()} text is truncated.")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BakeError(f"The PNG {keyword.decode()} text is not valid UTF-8.") from exc


def _itxt_chunk(keyword: bytes, text: bytes) -> bytes:
    """Build an uncompressed iTXt chunk with empty language tag and translated keyword."""
    body = b"iTXt" + keyword + b"\0\0\0\0\0" + text  # BAKE-3: flag 0, method 0, "", ""
    return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))


def bake_png(image: bytes, credential: str, *, replace: bool = True) -> bytes:
    """Splice one `openbadgecredential` iTXt chunk in before the first IDAT (BAKE-2..4)."""
    _check_size(image)
    text, _ = _payload(credential)
    chunks = _png_chunks(image)
    existing = {c for c in chunks if c.kind == b"iTXt" and _keyword(image, c) == PNG_KEYWORD}
    if existing and not replace:  # BAKE-4: at most one credential chunk
        raise BakeError("The PNG image already holds an Open Badges credential.")
    first_idat = next((c for c in chunks if c.kind == b"IDAT"), None)
    if first_idat is None:
        raise BakeError("The PNG image has no IDAT chunk.")
    out = bytearray(_PNG_SIGNATURE)
    for chunk in chunks:
        if chunk is first_idat:
            out += _itxt_chunk(PNG_KEYWORD, text)
        if chunk not in existing:
            out += image[chunk.start : chunk.end]
    return bytes(out)


def extract_png(image: bytes) -> Extracted | None:
    """Return the first `openbadgecredential` iTXt text, else OB 2.0 `openbadges` (BAKE-5)."""
    _check_size(image)
    fallback: Extracted | None = None
    found: Extracted | None = None
    for chunk in _png_chunks(image):
        if chunk.kind not in (b"iTXt", b"tEXt"):
            continue
        keyword = _keyword(image, chunk)
        body = image[chunk.data_start : chunk.end - 4]
        if chunk.kind == b"iTXt" and keyword == PNG_KEYWORD:
            # BAKE-4: at most one credential chunk; a badge holding two is ambiguous.
            if found is not None:
                raise BakeError("The PNG image holds more than one Open Badges credential.")
            text = _itxt_text(body, keyword)
            found = Extracted(text, _kind(text), "png:iTXt:openbadgecredential", "3.0")
            continue
        if keyword == PNG_KEYWORD_OB2 and fallback is None:
            if chunk.kind == b"iTXt":
                text = _itxt_text(body, keyword)
            else:
                text = body[len(keyword) + 1 :].decode("latin-1")
            location = f"png:{chunk.kind.decode()}:openbadges"
            fallback = Extracted(text, _kind(text), location, "2.0")
    return found or fallback


# --- SVG (BAKE-6..BAKE-8) ---------------------------------------------------------------


def _parse_svg(data: bytes) -> Element:
    """Parse an SVG with DTDs, entities and external references refused; return its root."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as exc:
        raise BakeError(
            "The SVG image has a document type declaration, which is refused because it can "
            "expand entities or load external files."
        ) from exc
    except defusedxml.EntitiesForbidden as exc:
        raise BakeError("The SVG image declares XML entities, which are refused.") from exc
    except defusedxml.DefusedXmlException as exc:
        raise BakeError("The SVG image refers to external resources, which is refused.") from exc
    except SafeET.ParseError as exc:
        raise BakeError(f"The SVG image is not well-formed XML ({exc}).") from exc
    if root.tag not in (f"{{{SVG_NAMESPACE}}}svg", "svg"):
        raise BakeError("The file is XML but not an SVG image (its root element is not <svg>).")
    return root


class _Tag(NamedTuple):
    """One XML start tag with its byte range and the namespaces in scope."""

    name: bytes
    start: int
    end: int
    empty: bool
    nsmap: dict[bytes, str]


def _scan_svg(data: bytes) -> tuple[_Tag, list[tuple[int, int]]]:
    """Find the root start tag and the byte ranges of outermost OB 3.0 credential elements."""
    root: _Tag | None = None
    found: list[tuple[int, int]] = []
    stack: list[tuple[_Tag, bool]] = []
    open_credentials = 0  # credential elements among the open ancestors
    pos = 0
    while (lt := data.find(b"<", pos)) >= 0:
        for opener, closer in ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>")):
            if data.startswith(opener, lt):
                pos = data.index(closer, lt + len(opener)) + len(closer)
                break
        else:
            if data.startswith(b"</", lt):
                pos = data.index(b">", lt) + 1
                tag, is_credential = stack.pop()
                if is_credential:
                    open_credentials -= 1
                    found.append((tag.start, pos))
                continue
            match = _START_TAG.match(data, lt)
            if match is None:
                raise BakeError("The SVG image has a start tag that cannot be read.")
            # Children share their parent's namespace map unless they declare their own,
            # so deep nesting costs linear time.
            nsmap = stack[-1][0].nsmap if stack else {}
            declared = {
                name[6:]: html.unescape(value[1:-1].decode("utf-8"))
                for name, value in _ATTRIBUTE.findall(match.group(2))
                if name == b"xmlns" or name.startswith(b"xmlns:")
            }
            if declared:
                nsmap = {**nsmap, **declared}
            name = match.group(1)
            prefix, _, local = name.rpartition(b":")
            tag = _Tag(name, lt, match.end(), match.group(3) == b"/", nsmap)
            is_credential = (
                open_credentials == 0 and local == b"credential" and nsmap.get(prefix) == OB3_NAMESPACE
            )
            if root is None:
                root = tag
                if data.find(b"credential", tag.end) < 0:
                    break  # no element below the root can be a credential
            if tag.empty and is_credential:
                found.append((lt, tag.end))
            elif not tag.empty:
                stack.append((tag, is_credential))
                open_credentials += is_credential
            pos = tag.end
    if root is None:
        raise BakeError("The SVG image has no root element.")
    return root, found


def _cdata(text: str) -> str:
    """Wrap text in CDATA sections, splitting at `]]>` and keeping carriage returns (BAKE-7)."""
    sections = ("<![CDATA[" + part.replace("]]>", "]]]]><![CDATA[>") + "]]>" for part in text.split("\r"))
    return "&#13;".join(sections)


def bake_svg(image: bytes, credential: str, *, replace: bool = True) -> bytes:
    """Insert `<openbadges:credential>` as the first child of the root `<svg>` (BAKE-6..8)."""
    _check_size(image)
    _, kind = _payload(credential)
    encoding = _ENCODING.match(image)
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise BakeError("Only UTF-8 SVG images can be baked; this one declares another encoding.")
    _parse_svg(image)
    root, existing = _scan_svg(image)
    if existing and not replace:  # BAKE-8: exactly one credential element
        raise BakeError("The SVG image already holds an Open Badges credential.")
    bound = root.nsmap.get(b"openbadges")
    if bound not in (None, OB3_NAMESPACE):
        raise BakeError("The SVG image binds the prefix openbadges to another namespace.")
    if kind == "jwt":
        element = f'<openbadges:credential verify="{credential}"></openbadges:credential>'
    else:
        element = f"<openbadges:credential>{_cdata(credential)}</openbadges:credential>"
    name_end = root.start + 1 + len(root.name)
    declaration = b"" if bound else f' xmlns:openbadges="{OB3_NAMESPACE}"'.encode()
    tag_end = root.end - 2 if root.empty else root.end - 1
    body = bytearray()
    pos = root.end
    for start, end in existing:
        body += image[pos:start]
        pos = end
    body += image[pos:]
    closing = b"</" + root.name + b">" if root.empty else b""
    start_tag = image[:name_end] + declaration + image[name_end:tag_end] + b">"
    result = start_tag + element.encode("utf-8") + closing + bytes(body)
    _check_baked_svg(result, credential)
    return result


def _check_baked_svg(result: bytes, credential: str) -> None:
    """Re-parse a baked SVG and confirm it holds exactly the credential as the first child."""
    root = _parse_svg(result)
    elements = list(root.iter(_OB3_CREDENTIAL))
    if len(elements) != 1 or root[0] is not elements[0]:
        raise BakeError("The SVG image could not be baked without changing its structure.")
    if _svg_extracted(elements[0], "3.0").text != credential:
        raise BakeError("The SVG image could not be baked without changing its structure.")


def _svg_extracted(element: Element, ob_version: str) -> Extracted:
    """Read a credential (OB 3.0) or assertion (OB 2.0) element: `verify` JWS, else content."""
    location = "svg:openbadges:credential" if ob_version == "3.0" else "svg:openbadges:assertion"
    verify = element.get("verify")
    content = element.text or ""
    if verify is not None and (_kind(verify) == "jwt" or not content.strip()):
        return Extracted(verify, _kind(verify), location, ob_version)
    if not content.strip():
        raise BakeError(f"The SVG {location.split(':')[-1]} element is empty.")
    return Extracted(content, _kind(content), location, ob_version)


def extract_svg(image: bytes) -> Extracted | None:
    """Return the first OB 3.0 credential element, else an OB 2.0 assertion (BAKE-8)."""
    _check_size(image)
    root = _parse_svg(image)
    for tag, ob_version in ((_OB3_CREDENTIAL, "3.0"), (_OB2_ASSERTION, "2.0")):
        elements = root.iter(tag)
        element = next(elements, None)
        if element is not None:
            # BAKE-8: exactly one credential element; a badge holding two is ambiguous.
            if next(elements, None) is not None:
                raise BakeError("The SVG image holds more than one Open Badges credential.")
            return _svg_extracted(element, ob_version)
    return None
