"""Baking and extracting credentials in PNG and SVG images (ob3-requirements §7, BAKE-1..10)."""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import zlib
from xml.etree import ElementTree

import pytest
from PIL import Image, PngImagePlugin

from badgeserver.bakery import (
    MAX_IMAGE_BYTES,
    Extracted,
    bake,
    bake_png,
    bake_svg,
    detect_format,
    extract,
    extract_png,
    extract_svg,
)
from badgeserver.errors import BakeError, InputTooLarge

OB3 = "https://purl.imsglobal.org/ob/v3p0"
SVG_NS = "http://www.w3.org/2000/svg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CREDENTIAL = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB3 + "/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:web:badges.example.org", "name": "Educator® ’quote’"},
        "credentialSubject": {"type": ["AchievementSubject"]},
    },
    ensure_ascii=False,
    indent=2,
)
OTHER_CREDENTIAL = '{"type": ["VerifiableCredential", "OpenBadgeCredential"], "id": "urn:x:2"}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


JWT = ".".join(
    (
        _b64(b'{"alg":"EdDSA","typ":"JWT"}'),
        _b64(json.dumps({"vc": {"name": "Educator®"}}).encode()),
        _b64(bytes(range(64))),
    )
)


# --- image builders -----------------------------------------------------------------------


def make_png(*, mode: str = "RGBA", text: dict[str, str] | None = None) -> bytes:
    """Return a 64x64 PNG with a pattern, written by Pillow."""
    image = Image.new("RGBA", (64, 64))
    image.putdata([(x * 4, y * 4, (x ^ y) * 4, 255 - x) for y in range(64) for x in range(64)])
    if mode == "P":
        image = image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, data) pairs, checking CRCs."""
    assert data[:8] == PNG_SIGNATURE
    result, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        result.append((kind, body))
        pos += 12 + length
    return result


def chunk_bytes(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def assemble(parts: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIGNATURE + b"".join(chunk_bytes(kind, body) for kind, body in parts)


def with_chunk(png: bytes, kind: bytes, body: bytes, *, before: bytes = b"IDAT") -> bytes:
    """Insert a chunk before the first chunk of type `before`."""
    parts = chunks(png)
    index = next(i for i, (k, _) in enumerate(parts) if k == before)
    return assemble(parts[:index] + [(kind, body)] + parts[index:])


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGBA").tobytes()


def svg_doc(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">\n'
    '  <circle cx="32" cy="32" r="30" fill="#0a5"/>\n'
    '  <text x="8" y="36">Badge ’é’</text>\n'
    "</svg>\n"
).encode()
SVG_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    b"<!-- Badge artwork: <svg> in a comment, and a > too -->\n"
    b'<?xml-stylesheet href="badge.css" type="text/css"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
)
SVG_GT_IN_ATTRIBUTE = (
    b"<svg xmlns='http://www.w3.org/2000/svg' data-rule='a > b' "
    b'aria-label="x>y &amp; z"\n     width="10"><g><rect/></g></svg>'
)


def billion_laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE svg [", ' <!ENTITY lol0 "lol">']
    for level in range(1, 10):
        lines.append(f' <!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    lines += ["]>", f'<svg xmlns="{SVG_NS}"><text>&lol9;</text></svg>']
    return "\n".join(lines).encode()


XXE_SVG = (
    b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>'
)
DTD_REFUSED = (
    "The SVG image has a document type declaration, which is refused because it can expand "
    "entities or load external files."
)


# --- BAKE-1: formats ----------------------------------------------------------------------


def test_bake1_detect_format_png_and_svg():
    assert detect_format(make_png()) == "png"
    assert detect_format(SVG) == "svg"
    assert detect_format(SVG_PROLOG) == "svg"
    assert detect_format(b"\xef\xbb\xbf" + SVG) == "svg"
    assert detect_format(billion_laughs()) == "svg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "The file is a JPEG image, not a PNG or SVG image."),
        (
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            "The file is a GIF image, not a PNG or SVG image.",
        ),
        (b"", "The file is empty, so it is not a PNG or SVG image."),
        (bytes(range(256)) * 4, "The file is not a PNG or SVG image."),
        (b"Just some text, not an image.", "The file is not a PNG or SVG image."),
        (b'<?xml version="1.0"?><note><svg/></note>', "The file is not a PNG or SVG image."),
        (b"<svgx xmlns='http://www.w3.org/2000/svg'/>", "The file is not a PNG or SVG image."),
    ],
)
def test_bake1_refuses_other_formats(data, message):
    for call in (detect_format, extract, lambda d: bake(d, CREDENTIAL)):
        with pytest.raises(BakeError) as info:
            call(data)
        assert str(info.value) == message
        assert info.value.code == "bake_failed"


def test_bake1_oversize_input_too_large():
    big_png = make_png() + b"\0" * MAX_IMAGE_BYTES
    big_svg = SVG + b" " * MAX_IMAGE_BYTES
    calls = [detect_format, extract, extract_png, extract_svg]
    calls += [lambda d: bake(d, CREDENTIAL), lambda d: bake_png(d, CREDENTIAL)]
    calls += [lambda d: bake_svg(d, CREDENTIAL)]
    for call in calls:
        for data in (big_png, big_svg):
            with pytest.raises(InputTooLarge) as info:
                call(data)
            assert (
                str(info.value) == f"The image is larger than the limit of {MAX_IMAGE_BYTES} bytes."
            )


def test_bake1_exactly_max_size_is_accepted():
    svg = SVG[:-1] + b" " * (MAX_IMAGE_BYTES - len(SVG)) + b"\n"
    assert len(svg) == MAX_IMAGE_BYTES
    assert detect_format(svg) == "svg"
    assert extract_svg(svg) is None


def test_bake1_dispatch_bakes_both_formats():
    assert extract(bake(make_png(), CREDENTIAL)).location == "png:iTXt:openbadgecredential"
    assert extract(bake(SVG, CREDENTIAL)).location == "svg:openbadges:credential"


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("not json", "The credential to bake is neither JSON nor a compact JWS."),
        ("", "The credential to bake is neither JSON nor a compact JWS."),
        ("a.b", "The credential to bake is neither JSON nor a compact JWS."),
        ("[1, 2]", "The credential to bake is JSON but not a JSON object."),
        ('{"x": "\ud800"}', "The credential to bake is not valid Unicode text."),
    ],
)
def test_bake10_refuses_text_that_is_no_credential(credential, message):
    for image in (make_png(), SVG):
        with pytest.raises(BakeError) as info:
            bake(image, credential)
        assert str(info.value) == message


# --- BAKE-2..BAKE-5: PNG ------------------------------------------------------------------


def test_bake2_png_round_trip_json_is_byte_identical():
    baked = bake_png(make_png(), CREDENTIAL)
    found = extract(baked)
    assert found == Extracted(CREDENTIAL, "json", "png:iTXt:openbadgecredential", "3.0")
    assert found.text.encode("utf-8") == CREDENTIAL.encode("utf-8")
    assert "Educator® ’quote’" in found.text


def test_bake3_png_jwt_round_trip():
    found = extract(bake_png(make_png(), JWT))
    assert found == Extracted(JWT, "jwt", "png:iTXt:openbadgecredential", "3.0")


def test_bake3_itxt_uncompressed_layout():
    baked = bake_png(make_png(), CREDENTIAL)
    itxt = [body for kind, body in chunks(baked) if kind == b"iTXt"]
    assert itxt == [b"openbadgecredential\x00\x00\x00\x00\x00" + CREDENTIAL.encode("utf-8")]
    body = itxt[0]
    keyword, rest = body.split(b"\x00", 1)
    assert keyword == b"openbadgecredential"
    assert rest[0] == 0  # compression flag
    assert rest[1] == 0  # compression method
    language, translated, text = rest[2:].split(b"\x00", 2)
    assert (language, translated) == (b"", b"")
    assert text == CREDENTIAL.encode("utf-8")


def test_bake2_chunk_inserted_right_before_first_idat():
    for png in (make_png(), make_png(mode="P", text={"Title": "Badge"})):
        before = [kind for kind, _ in chunks(png)]
        after = [kind for kind, _ in chunks(bake_png(png, CREDENTIAL))]
        index = before.index(b"IDAT")
        assert after == before[:index] + [b"iTXt"] + before[index:]
    palette = [kind for kind, _ in chunks(bake_png(make_png(mode="P"), CREDENTIAL))]
    assert palette.index(b"PLTE") < palette.index(b"iTXt") == palette.index(b"IDAT") - 1


def test_bake2_before_first_of_several_idat_chunks():
    parts = chunks(make_png())
    index = next(i for i, (kind, _) in enumerate(parts) if kind == b"IDAT")
    data = parts[index][1]
    split = parts[:index] + [(b"IDAT", data[:100]), (b"IDAT", data[100:])] + parts[index + 1 :]
    png = assemble(split)
    baked_kinds = [kind for kind, _ in chunks(bake_png(png, CREDENTIAL))]
    assert baked_kinds[index : index + 3] == [b"iTXt", b"IDAT", b"IDAT"]


def test_bake2_pixels_and_other_chunks_unchanged():
    for png in (make_png(), make_png(mode="P", text={"Title": "Badge", "Author": "School"})):
        baked = bake_png(png, CREDENTIAL)
        assert pixels(baked) == pixels(png)
        kept = [part for part in chunks(baked) if part[0] != b"iTXt"]
        assert kept == chunks(png)
        assert len(baked) == len(png) + 12 + len(b"openbadgecredential") + 5 + len(
            CREDENTIAL.encode("utf-8")
        )


def test_bake4_rebake_replace_leaves_exactly_one_chunk():
    png = make_png()
    once = bake_png(png, CREDENTIAL)
    twice = bake_png(once, OTHER_CREDENTIAL)
    itxt = [body for kind, body in chunks(twice) if kind == b"iTXt"]
    assert itxt == [b"openbadgecredential\x00\x00\x00\x00\x00" + OTHER_CREDENTIAL.encode()]
    assert twice == bake_png(png, OTHER_CREDENTIAL)
    assert extract(twice).text == OTHER_CREDENTIAL


def test_bake4_rebake_without_replace_raises():
    once = bake_png(make_png(), CREDENTIAL)
    with pytest.raises(BakeError) as info:
        bake_png(once, OTHER_CREDENTIAL, replace=False)
    assert str(info.value) == "The PNG image already holds an Open Badges credential."
    assert bake_png(make_png(), CREDENTIAL, replace=False) == once


def test_bake4_replace_removes_every_credential_chunk_wherever_it_is():
    stray = b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(b'{"old": 1}')
    png = with_chunk(make_png(), b"iTXt", stray, before=b"IEND")
    png = with_chunk(png, b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00{}")
    baked = bake_png(png, CREDENTIAL)
    assert [kind for kind, _ in chunks(baked)].count(b"iTXt") == 1
    assert baked == bake_png(make_png(), CREDENTIAL)


def test_bake4_ob2_chunk_is_kept_when_baking_ob3():
    png = with_chunk(make_png(), b"iTXt", b'openbadges\x00\x00\x00\x00\x00{"uid": "1"}')
    baked = bake_png(png, CREDENTIAL)
    assert [kind for kind, _ in chunks(baked)].count(b"iTXt") == 2
    assert extract(baked).ob_version == "3.0"


def test_bake4_two_credential_chunks_are_refused_on_extract():
    jwt_chunk = b"openbadgecredential\x00\x00\x00\x00\x00" + JWT.encode()
    png = with_chunk(make_png(), b"iTXt", jwt_chunk, before=b"IEND")
    png = with_chunk(png, b"iTXt", b'openbadgecredential\x00\x00\x00\x00\x00{"first": 1}')
    with pytest.raises(BakeError, match="^The PNG image holds more than one Open Badges credential.$"):
        extract_png(png)
    # Baking replaces both, leaving exactly one.
    assert extract_png(bake_png(png, CREDENTIAL)) == Extracted(
        CREDENTIAL, "json", "png:iTXt:openbadgecredential", "3.0"
    )


def test_bake6_deep_nesting_bakes_in_linear_time_without_timing():
    # 100,000 nested groups: the scanner must not rescan the ancestors of every tag.
    depth = 100_000
    svg = (
        f'<svg xmlns="{SVG_NS}">'.encode()
        + b"<g>" * depth
        + b"<text>credential</text>"
        + b"</g>" * depth
        + b"</svg>"
    )
    baked = bake_svg(svg, CREDENTIAL)
    assert extract_svg(baked) == Extracted(CREDENTIAL, "json", "svg:openbadges:credential", "3.0")


def test_bake5_compressed_itxt_extract():
    text = CREDENTIAL.encode("utf-8")
    body = b"openbadgecredential\x00\x01\x00en\x00Credential\x00" + zlib.compress(text)
    png = with_chunk(make_png(), b"iTXt", body)
    assert extract(png) == Extracted(CREDENTIAL, "json", "png:iTXt:openbadgecredential", "3.0")


def test_bake5_zlib_bomb_is_refused_fast():
    inflater = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    bomb = b"".join(inflater.compress(block) for _ in range(64)) + inflater.flush()
    assert len(bomb) < 100_000
    png = with_chunk(make_png(), b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00" + bomb)
    started = time.perf_counter()
    with pytest.raises(InputTooLarge) as info:
        extract(png)
    assert time.perf_counter() - started < 2.0
    assert str(info.value) == (
        f"The compressed PNG openbadgecredential text inflates past {MAX_IMAGE_BYTES} bytes."
    )


def test_bake5_corrupt_compressed_itxt():
    png = with_chunk(make_png(), b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00not zlib")
    with pytest.raises(BakeError) as info:
        extract(png)
    assert str(info.value) == "The compressed PNG openbadgecredential text is corrupt."
    cut = zlib.compress(CREDENTIAL.encode())[:-10]
    png = with_chunk(make_png(), b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00" + cut)
    with pytest.raises(BakeError) as info:
        extract(png)
    assert str(info.value) == "The compressed PNG openbadgecredential text is truncated."


def test_bake5_malformed_credential_chunk():
    for body in (b"openbadgecredential\x00\x00", b"openbadgecredential\x00\x02\x00\x00\x00{}"):
        with pytest.raises(BakeError) as info:
            extract(with_chunk(make_png(), b"iTXt", body))
        assert str(info.value) == "The PNG openbadgecredential iTXt chunk is malformed."
    bad_utf8 = b"openbadgecredential\x00\x00\x00\x00\x00\xff\xfe"
    with pytest.raises(BakeError) as info:
        extract(with_chunk(make_png(), b"iTXt", bad_utf8))
    assert str(info.value) == "The PNG openbadgecredential text is not valid UTF-8."


def test_bake5_ob2_openbadges_itxt_and_text():
    assertion = '{"uid": "abc", "recipient": {"identity": "sha256$00"}}'
    itxt = with_chunk(make_png(), b"iTXt", b"openbadges\x00\x00\x00\x00\x00" + assertion.encode())
    assert extract(itxt) == Extracted(assertion, "json", "png:iTXt:openbadges", "2.0")
    text = with_chunk(make_png(), b"tEXt", b"openbadges\x00https://example.org/assertions/1")
    assert extract(text) == Extracted(
        "https://example.org/assertions/1", "url", "png:tEXt:openbadges", "2.0"
    )
    signed = with_chunk(make_png(), b"tEXt", b"openbadges\x00" + JWT.encode())
    assert extract(signed) == Extracted(JWT, "jwt", "png:tEXt:openbadges", "2.0")


def test_bake5_ob3_is_preferred_over_an_earlier_ob2_chunk():
    png = with_chunk(make_png(), b"tEXt", b'openbadges\x00{"uid": "old"}')
    baked = with_chunk(png, b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00{}", before=b"IEND")
    assert extract(baked) == Extracted("{}", "json", "png:iTXt:openbadgecredential", "3.0")


def test_bake5_png_without_credential():
    png = make_png(text={"Comment": "nothing here"})
    assert extract_png(png) is None
    with pytest.raises(BakeError) as info:
        extract(png)
    assert str(info.value) == "The image holds no Open Badges credential."


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p[:-1], "The PNG image is truncated inside a chunk header."),
        (lambda p: p[:-12], "The PNG image is truncated: it has no IEND chunk."),
        (lambda p: p[:100], "The PNG image is truncated inside its IDAT chunk."),
        (lambda p: p[:8], "The PNG image is truncated: it has no IEND chunk."),
        (lambda p: p + b"trailing", "The PNG image has unexpected data after its IEND chunk."),
        (
            lambda p: p[:20] + bytes([p[20] ^ 1]) + p[21:],
            "The PNG image is corrupt: the CRC of its IHDR chunk is wrong.",
        ),
        (
            lambda p: p[:-20] + bytes([p[-20] ^ 1]) + p[-19:],
            "The PNG image is corrupt: the CRC of its IDAT chunk is wrong.",
        ),
        (
            lambda p: p[:12] + b"IH?R" + p[16:],
            "The PNG image is corrupt: a chunk has an invalid length or type.",
        ),
        (
            lambda p: PNG_SIGNATURE + chunk_bytes(b"tEXt", b"a\x00b") + p[8:],
            "The PNG image is corrupt: it does not start with an IHDR chunk.",
        ),
    ],
)
def test_bake2_damaged_png_is_refused(damage, message):
    png = damage(make_png())
    for call in (extract, extract_png, lambda d: bake_png(d, CREDENTIAL)):
        with pytest.raises(BakeError) as info:
            call(png)
        assert str(info.value) == message


def test_bake2_png_without_idat_is_refused():
    png = assemble([part for part in chunks(make_png()) if part[0] != b"IDAT"])
    with pytest.raises(BakeError) as info:
        bake_png(png, CREDENTIAL)
    assert str(info.value) == "The PNG image has no IDAT chunk."


def test_bake2_bake_png_refuses_svg():
    with pytest.raises(BakeError) as info:
        bake_png(SVG, CREDENTIAL)
    assert str(info.value) == "The file is not a PNG image (its signature is missing)."


# --- BAKE-6..BAKE-8: SVG ------------------------------------------------------------------

START_TAG = (
    b'<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
    b'xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
)


def test_bake6_svg_round_trip_json_is_byte_identical():
    baked = bake_svg(SVG, CREDENTIAL)
    found = extract(baked)
    assert found == Extracted(CREDENTIAL, "json", "svg:openbadges:credential", "3.0")
    assert found.text.encode("utf-8") == CREDENTIAL.encode("utf-8")


def test_bake6_svg_exact_output():
    baked = bake_svg(SVG, CREDENTIAL)
    element = (
        b"<openbadges:credential><![CDATA["
        + CREDENTIAL.encode("utf-8")
        + b"]]></openbadges:credential>"
    )
    assert baked == START_TAG + element + SVG[SVG.index(b">") + 1 :]


def test_bake6_namespace_declared_and_credential_is_first_child():
    root = svg_doc(bake_svg(SVG, CREDENTIAL))
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root[0].tag == f"{{{OB3}}}credential"
    assert root[0].attrib == {}
    assert [child.tag for child in root[1:]] == [f"{{{SVG_NS}}}circle", f"{{{SVG_NS}}}text"]
    assert START_TAG in bake_svg(SVG, CREDENTIAL)


def test_bake6_existing_namespace_declaration_is_reused():
    svg = SVG.replace(b"<svg ", f'<svg xmlns:openbadges="{OB3}" '.encode(), 1)
    baked = bake_svg(svg, CREDENTIAL)
    assert baked.count(b"xmlns:openbadges") == 1
    assert baked.startswith(svg[: svg.index(b">") + 1] + b"<openbadges:credential>")


def test_bake6_prefix_bound_elsewhere_is_refused():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        b"<rect/></svg>"
    )
    with pytest.raises(BakeError) as info:
        bake_svg(svg, CREDENTIAL)
    assert str(info.value) == "The SVG image binds the prefix openbadges to another namespace."


def test_bake6_xml_declaration_and_comment_before_svg():
    baked = bake_svg(SVG_PROLOG, CREDENTIAL)
    head = SVG_PROLOG[: SVG_PROLOG.index(b"<svg ")]
    assert baked.startswith(head + b'<svg xmlns:openbadges="' + OB3.encode() + b'" xmlns=')
    assert baked.endswith(b"]]></openbadges:credential><rect/></svg>")
    assert extract(baked).text == CREDENTIAL


def test_bake6_gt_inside_attribute_value():
    baked = bake_svg(SVG_GT_IN_ATTRIBUTE, JWT)
    tag_end = SVG_GT_IN_ATTRIBUTE.index(b'width="10">') + len(b'width="10">')
    expected = (
        b'<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"'
        + SVG_GT_IN_ATTRIBUTE[4:tag_end]
        + f'<openbadges:credential verify="{JWT}"></openbadges:credential>'.encode()
        + SVG_GT_IN_ATTRIBUTE[tag_end:]
    )
    assert baked == expected
    root = svg_doc(baked)
    assert root.get("data-rule") == "a > b"
    assert root.get("aria-label") == "x>y & z"


def test_bake6_self_closing_and_prefixed_root():
    empty = bake_svg(b'<svg xmlns="http://www.w3.org/2000/svg" width="1"/>', CREDENTIAL)
    assert empty == (
        b'<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
        b'xmlns="http://www.w3.org/2000/svg" width="1"><openbadges:credential><![CDATA['
        + CREDENTIAL.encode()
        + b"]]></openbadges:credential></svg>"
    )
    assert extract(empty).text == CREDENTIAL
    prefixed = b'<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:rect/></s:svg>'
    assert detect_format(prefixed) == "svg"
    root = svg_doc(bake_svg(prefixed, JWT))
    assert (root.tag, root[0].tag, root[0].get("verify")) == (
        f"{{{SVG_NS}}}svg",
        f"{{{OB3}}}credential",
        JWT,
    )


def test_bake7_svg_jwt_round_trip_in_verify_attribute():
    baked = bake_svg(SVG, JWT)
    root = svg_doc(baked)
    assert root[0].attrib == {"verify": JWT}
    assert root[0].text is None
    assert f'<openbadges:credential verify="{JWT}"></openbadges:credential>'.encode() in baked
    assert extract(baked) == Extracted(JWT, "jwt", "svg:openbadges:credential", "3.0")


def test_bake7_cdata_end_marker_inside_json_round_trips():
    credential = '{"name": "a ]]> b ]]]]> c", "x": "]]>"}'
    baked = bake_svg(SVG, credential)
    assert extract(baked).text == credential
    assert baked.count(b"<![CDATA[") == 4


def test_bake7_carriage_returns_survive_xml_line_end_normalisation():
    credential = '{\r\n  "name": "Educator® ’quote’"\r\n}'
    baked = bake_svg(SVG, credential)
    assert extract(baked).text == credential


def test_bake8_rebake_replace_leaves_exactly_one_element():
    once = bake_svg(SVG, CREDENTIAL)
    twice = bake_svg(once, OTHER_CREDENTIAL)
    assert twice == bake_svg(SVG, OTHER_CREDENTIAL)
    assert len(list(svg_doc(twice).iter(f"{{{OB3}}}credential"))) == 1
    assert extract(twice).text == OTHER_CREDENTIAL
    assert extract(bake_svg(once, JWT)).text == JWT


def test_bake8_rebake_without_replace_raises():
    once = bake_svg(SVG, CREDENTIAL)
    with pytest.raises(BakeError) as info:
        bake_svg(once, OTHER_CREDENTIAL, replace=False)
    assert str(info.value) == "The SVG image already holds an Open Badges credential."
    assert bake_svg(SVG, CREDENTIAL, replace=False) == once


def test_bake8_replace_finds_credentials_under_any_prefix():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0">'
        b"<rect/><g><ob:credential verify='a.b.c'/></g>"
        b'<cred:credential xmlns:cred="https://purl.imsglobal.org/ob/v3p0"><![CDATA[{}]]>'
        b"<!-- </cred:credential> --></cred:credential>"
        b"<credential><![CDATA[not ours]]></credential></svg>"
    )
    with pytest.raises(BakeError, match="more than one Open Badges credential"):
        extract(svg)
    baked = bake_svg(svg, CREDENTIAL)
    assert baked == (
        b'<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
        b'xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0">'
        b"<openbadges:credential><![CDATA[" + CREDENTIAL.encode() + b"]]></openbadges:credential>"
        b"<rect/><g></g><credential><![CDATA[not ours]]></credential></svg>"
    )
    with pytest.raises(BakeError):
        bake_svg(svg, CREDENTIAL, replace=False)


def test_bake8_two_credential_elements_are_refused_on_extract():
    svg = (
        f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB3}">'
        '<g><openbadges:credential><![CDATA[{"first": 1}]]></openbadges:credential></g>'
        f'<openbadges:credential verify="{JWT}"/></svg>'
    ).encode()
    with pytest.raises(BakeError, match="^The SVG image holds more than one Open Badges credential.$"):
        extract_svg(svg)


def test_bake8_ob2_assertion_extract():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        b'<openbadges:assertion verify="https://example.org/assertions/1">'
        b'<![CDATA[{"uid": "abc"}]]></openbadges:assertion><rect/></svg>'
    )
    assert extract(svg) == Extracted('{"uid": "abc"}', "json", "svg:openbadges:assertion", "2.0")
    hosted = svg.replace(b'<![CDATA[{"uid": "abc"}]]>', b"")
    assert extract(hosted) == Extracted(
        "https://example.org/assertions/1", "url", "svg:openbadges:assertion", "2.0"
    )
    signed = svg.replace(b"https://example.org/assertions/1", JWT.encode())
    assert extract(signed) == Extracted(JWT, "jwt", "svg:openbadges:assertion", "2.0")


def test_bake8_ob3_preferred_over_ob2_and_empty_element_refused():
    both = (
        f'<svg xmlns="{SVG_NS}" xmlns:a="http://openbadges.org" xmlns:b="{OB3}">'
        '<a:assertion><![CDATA[{"uid": 1}]]></a:assertion><b:credential verify="x.y.z"/></svg>'
    ).encode()
    assert extract(both) == Extracted("x.y.z", "jwt", "svg:openbadges:credential", "3.0")
    empty = f'<svg xmlns="{SVG_NS}" xmlns:b="{OB3}"><b:credential>  </b:credential></svg>'
    with pytest.raises(BakeError) as info:
        extract(empty.encode())
    assert str(info.value) == "The SVG credential element is empty."


def test_bake8_svg_without_credential():
    assert extract_svg(SVG) is None
    with pytest.raises(BakeError) as info:
        extract(SVG)
    assert str(info.value) == "The image holds no Open Badges credential."


@pytest.mark.parametrize("call", [extract, extract_svg, lambda d: bake_svg(d, CREDENTIAL)])
def test_bake6_billion_laughs_is_refused_without_expansion(call):
    started = time.perf_counter()
    with pytest.raises(BakeError) as info:
        call(billion_laughs())
    assert time.perf_counter() - started < 1.0
    assert str(info.value) == DTD_REFUSED


@pytest.mark.parametrize("call", [extract, extract_svg, lambda d: bake_svg(d, CREDENTIAL)])
def test_bake6_xxe_is_refused_without_reading_the_file(call):
    for svg in (
        XXE_SVG,
        b'<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="http://www.w3.org/2000/svg"/>',
    ):
        with pytest.raises(BakeError) as info:
            call(svg)
        assert str(info.value) == DTD_REFUSED
        assert "root:" not in str(info.value)


def test_bake6_malformed_and_foreign_xml_are_refused():
    with pytest.raises(BakeError) as info:
        extract(b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>')
    assert str(info.value) == (
        "The SVG image is not well-formed XML (mismatched tag: line 1, column 48)."
    )
    html = b'<svg xmlns="http://www.w3.org/1999/xhtml"><p/></svg>'
    with pytest.raises(BakeError) as info:
        bake_svg(html, CREDENTIAL)
    assert str(info.value) == (
        "The file is XML but not an SVG image (its root element is not <svg>)."
    )
    with pytest.raises(BakeError) as info:
        extract_svg(b"<note><to>Tove</to></note>")
    assert str(info.value) == (
        "The file is XML but not an SVG image (its root element is not <svg>)."
    )


def test_bake6_non_utf8_svg_is_not_baked():
    svg = b'<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg"/>'
    with pytest.raises(BakeError) as info:
        bake_svg(svg, CREDENTIAL)
    assert str(info.value) == (
        "Only UTF-8 SVG images can be baked; this one declares another encoding."
    )
    assert extract_svg(svg) is None


def test_bake1_detection_stays_fast_on_hostile_prologs():
    for data in (b"<!DOCTYPE [" + b"] [" * 300_000, b"<!--" + b"-" * 4_000_000, b" " * 8_000_000):
        started = time.perf_counter()
        with pytest.raises(BakeError) as info:
            detect_format(data)
        assert time.perf_counter() - started < 1.0
        assert str(info.value) == "The file is not a PNG or SVG image."


def test_bake10_oversize_credential_is_refused():
    credential = '{"pad": "' + "x" * MAX_IMAGE_BYTES + '"}'
    for image in (make_png(), SVG):
        with pytest.raises(InputTooLarge) as info:
            bake(image, credential)
        assert str(info.value) == (
            f"The credential is larger than the limit of {MAX_IMAGE_BYTES} bytes."
        )
