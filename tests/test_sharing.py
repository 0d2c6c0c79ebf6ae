"""The pure sharing core: LinkedIn and share links, the embed snippet and oEmbed sizes, the social card,
QR codes, profile handles and the grouping of a profile by bundle and stack."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from defusedxml import ElementTree
from PIL import Image

from badgeserver.errors import InputError
from badgeserver.program import profiles
from badgeserver.program.catalog import CatalogError, parse_catalog
from badgeserver.program.profiles import BundleDef, Entry, StackDef
from badgeserver.sharing import images, links
from tests.support.mini_catalog import CATALOG, write_mini_catalog

PAGE = "https://badges.example.org/credentials/9ff73d51-5dfe-4c85-8b90-d574029f52e9"
CERT = links.Certification(
    name="Crosscutting Concepts",
    organization_name="Utah State Board of Education",
    organization_id=None,
    issued=date(2026, 1, 5),
    expires=None,
    cert_id="9ff73d51-5dfe-4c85-8b90-d574029f52e9",
    cert_url=PAGE,
)


def query(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qsl(parts.query, keep_blank_values=True)


# --- LinkedIn --------------------------------------------------------------------------------------


def test_linkedin_link_names_the_organization_when_it_has_no_linkedin_id():
    url = links.linkedin_add_url(CERT)
    assert query(url) == (
        "https://www.linkedin.com/profile/add",
        [
            ("startTask", "CERTIFICATION_NAME"),
            ("name", "Crosscutting Concepts"),
            ("organizationName", "Utah State Board of Education"),
            ("issueYear", "2026"),
            ("issueMonth", "1"),
            ("certUrl", PAGE),
            ("certId", "9ff73d51-5dfe-4c85-8b90-d574029f52e9"),
        ],
    )
    assert "+" not in url and "%20" in url  # spaces as %20, never "+"


def test_linkedin_link_uses_the_organization_id_and_the_expiry_when_there_are_some():
    cert = links.Certification(
        name="Zoë’s “STEM & Society”",
        organization_name="Utah State Board of Education",
        organization_id="1337",
        issued=date(2026, 11, 30),
        expires=date(2029, 2, 1),
        cert_id="abc",
        cert_url=PAGE + "?x=1&y=2",
    )
    _, pairs = query(links.linkedin_add_url(cert))
    assert pairs == [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", "Zoë’s “STEM & Society”"),
        ("organizationId", "1337"),
        ("issueYear", "2026"),
        ("issueMonth", "11"),
        ("expirationYear", "2029"),
        ("expirationMonth", "2"),
        ("certUrl", PAGE + "?x=1&y=2"),
        ("certId", "abc"),
    ]
    assert links.linkedin_fields(cert) == [
        ("name", "Name", "Zoë’s “STEM & Society”"),
        ("organization", "Issuing organization", "Utah State Board of Education"),
        ("organization-id", "LinkedIn organization id", "1337"),
        ("issued", "Issue date", "November 2026"),
        ("expires", "Expiration date", "February 2029"),
        ("cert-id", "Credential ID", "abc"),
        ("cert-url", "Credential URL", PAGE + "?x=1&y=2"),
    ]


def test_linkedin_fields_without_expiry_or_id():
    assert [(key, value) for key, _, value in links.linkedin_fields(CERT)] == [
        ("name", "Crosscutting Concepts"),
        ("organization", "Utah State Board of Education"),
        ("issued", "January 2026"),
        ("expires", "Does not expire"),
        ("cert-id", CERT.cert_id),
        ("cert-url", PAGE),
    ]


# --- other networks --------------------------------------------------------------------------------


def test_share_links_carry_the_page_and_the_sentence():
    found = {link.network: link for link in links.share_links(PAGE, "Crosscutting Concepts", "USBE")}
    assert list(found) == ["x", "facebook", "linkedin", "bluesky", "email"]
    text = "I earned “Crosscutting Concepts” from USBE."
    assert query(found["x"].url) == ("https://x.com/intent/tweet", [("text", text), ("url", PAGE)])
    assert query(found["facebook"].url) == ("https://www.facebook.com/sharer/sharer.php", [("u", PAGE)])
    assert query(found["linkedin"].url) == (
        "https://www.linkedin.com/sharing/share-offsite/",
        [("url", PAGE)],
    )
    assert query(found["bluesky"].url) == ("https://bsky.app/intent/compose", [("text", f"{text} {PAGE}")])
    mail = urlsplit(found["email"].url)
    assert mail.scheme == "mailto" and mail.path == ""
    assert parse_qsl(mail.query) == [
        ("subject", "Crosscutting Concepts, from USBE"),
        ("body", f"{text}\n\nSee and verify it: {PAGE}"),
    ]
    assert "+" not in found["email"].url


# --- the embed snippet and oEmbed ------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


HOSTILE = links.Embed(
    page_url=PAGE + '?a="1"&b=<2>',
    image_url=PAGE + ".png",
    achievement='STEM "&" <Society>',
    issuer="Utah <b>State</b>",
    earner="Zoë </a><script>alert(1)</script>",
)


def test_the_embed_snippet_is_one_link_around_the_image_and_escapes_everything():
    snippet = links.embed_html(HOSTILE)
    parsed = _Elements()
    parsed.feed(snippet)
    assert [tag for tag, _ in parsed.elements] == ["a", "img", "br"]
    assert parsed.elements[0][1] == {"href": PAGE + '?a="1"&b=<2>'}
    assert parsed.elements[1][1] == {
        "src": PAGE + ".png",
        "alt": 'STEM "&" <Society> badge',
        "width": "160",
        "height": "160",
    }
    assert "".join(parsed.text) == (
        'STEM "&" <Society>: earned by Zoë </a><script>alert(1)</script>, issued by Utah <b>State</b>'
    )
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert snippet.endswith("</a>") and snippet.count("</a>") == 1


def test_the_oembed_box_escapes_everything_and_holds_one_link():
    html = links.oembed_html(HOSTILE, 160, 220, 160, caption=True)
    parsed = _Elements()
    parsed.feed(html)
    assert [tag for tag, _ in parsed.elements] == ["div", "a", "img", "span"]
    caption = 'STEM "&" <Society>: earned by Zoë </a><script>alert(1)</script>, issued by Utah <b>State</b>'
    assert parsed.elements[1][1] == {"href": PAGE + '?a="1"&b=<2>', "title": caption, "style": "display:block"}
    assert parsed.elements[2][1]["alt"] == 'STEM "&" <Society> badge'
    assert "".join(parsed.text) == caption
    assert "<script>" not in html and html.count("</a>") == 1 and html.endswith("</a></div>")


def test_the_embed_caption_without_a_published_name():
    embed = links.Embed(PAGE, PAGE + ".png", "Crosscutting Concepts", "USBE", None)
    assert links.embed_caption(embed) == "Crosscutting Concepts: issued by USBE"
    assert links.embed_html(embed) == (
        f'<a href="{PAGE}"><img src="{PAGE}.png" alt="Crosscutting Concepts badge" width="160" height="160">'
        "<br>Crosscutting Concepts: issued by USBE</a>"
    )


@pytest.mark.parametrize(
    ("maxwidth", "maxheight", "expected"),
    [
        (None, None, (160, 220, 160, True)),
        (100, None, (100, 100, 100, False)),  # too narrow for a caption
        (500, 500, (160, 220, 160, True)),
        (None, 100, (160, 100, 40, True)),
        (None, 76, (160, 76, 16, True)),
        (None, 75, (75, 75, 75, False)),
        (30, 50, (30, 30, 30, False)),
        (16, 16, (16, 16, 16, False)),
    ],
)
def test_oembed_sizes_stay_within_maxwidth_and_maxheight(maxwidth, maxheight, expected):
    width, height, side, caption = links.oembed_size(maxwidth, maxheight)
    assert (width, height, side, caption) == expected
    assert maxwidth is None or width <= maxwidth
    assert maxheight is None or height <= maxheight


@pytest.mark.parametrize(("maxwidth", "maxheight"), [(15, None), (None, 15), (1, 1), (200, 10)])
def test_oembed_sizes_too_small_for_the_badge_are_refused(maxwidth, maxheight):
    with pytest.raises(links.OEmbedSizeError, match="at least 16 pixels"):
        links.oembed_size(maxwidth, maxheight)


def test_oembed_document_and_its_thumbnail_only_where_it_fits():
    embed = links.Embed(PAGE, PAGE + ".png", "Crosscutting Concepts", "USBE", "Maya Torres")
    thumb = (PAGE + "/card.png", 1200, 630)
    document = links.oembed_document(
        embed, provider_name="Site", provider_url="https://badges.example.org", thumbnail=thumb
    )
    assert document == {
        "version": "1.0",
        "type": "rich",
        "title": "Crosscutting Concepts: earned by Maya Torres, issued by USBE",
        "author_name": "Maya Torres",
        "provider_name": "Site",
        "provider_url": "https://badges.example.org",
        "cache_age": 3600,
        "html": (
            '<div style="width:160px;height:220px;overflow:hidden;font:12px/15px sans-serif;text-align:center">'
            f'<a href="{PAGE}" title="Crosscutting Concepts: earned by Maya Torres, issued by USBE" '
            f'style="display:block"><img src="{PAGE}.png" alt="Crosscutting Concepts badge" width="160" '
            'height="160" style="display:block;margin:0 auto"><span style="display:-webkit-box;'
            '-webkit-box-orient:vertical;-webkit-line-clamp:4;overflow:hidden;max-height:60px">'
            "Crosscutting Concepts: earned by Maya Torres, issued by USBE</span></a></div>"
        ),
        "width": 160,
        "height": 220,
        "thumbnail_url": PAGE + "/card.png",
        "thumbnail_width": 1200,
        "thumbnail_height": 630,
    }
    small = links.oembed_document(
        embed, provider_name="Site", provider_url="https://x", maxwidth=600, thumbnail=thumb
    )
    assert "thumbnail_url" not in small and small["width"] == 160


# --- the social card -------------------------------------------------------------------------------


def _solid_png(colour: tuple[int, int, int], side: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (side, side), (*colour, 255)).save(out, format="PNG")
    return out.getvalue()


CARD = images.Card(
    achievement="Crosscutting Concepts",
    issuer="Utah State Board of Education",
    earner="Zoë O’Brien",
    site="x.org",
)


def test_the_card_is_a_1200_by_630_png_with_the_badge_on_it():
    data = images.render_card(CARD, _solid_png((200, 30, 40)))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as card:
        assert card.format == "PNG" and card.size == (1200, 630) and card.mode == "RGB"
        top = 12 + (630 - 70 - 12 - images.BADGE_SIDE) // 2
        centre = (images.MARGIN + images.BADGE_SIDE // 2, top + images.BADGE_SIDE // 2)
        assert card.getpixel(centre) == (200, 30, 40)
        assert card.getpixel((600, 600)) == images.BAND  # the foot band
    # Deterministic (so its ETag is stable), and it changes with what it shows.
    assert images.render_card(CARD, _solid_png((200, 30, 40))) == data
    other = images.Card(CARD.achievement, CARD.issuer, None, CARD.site)
    assert images.render_card(other, _solid_png((200, 30, 40))) != data


def test_the_card_survives_a_missing_or_broken_badge_and_hostile_text():
    long_name = "Ä" * 500 + "\u202e\x00\n" + " word" * 200
    for badge in (None, b"", b"not a png", _solid_png((1, 2, 3), side=2000)):
        data = images.render_card(images.Card(long_name, long_name, long_name, "x"), badge)
        with Image.open(io.BytesIO(data)) as card:
            assert card.size == (1200, 630)


def test_wrapping_ends_in_an_ellipsis_and_drops_control_characters():
    font = images._font(32)
    lines = images._wrap("alpha beta gamma delta " * 20, font, 300, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)
    assert images._wrap("a\u202eb\x00c\nd", font, 1000, 1) == ["abc d"]


# --- QR codes --------------------------------------------------------------------------------------


def test_the_qr_png_holds_the_modules_of_the_url():
    matrix = images.qr_matrix(PAGE)
    size = len(matrix)
    assert size >= 21 and all(len(row) == size for row in matrix)
    data = images.qr_png(PAGE)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as picture:
        grey = picture.convert("L")
        side = (size + 2 * images.QR_BORDER) * images.QR_BOX
        assert grey.size == (side, side)
        for y in range(size):
            for x in range(size):
                centre = (
                    (x + images.QR_BORDER) * images.QR_BOX + 5,
                    (y + images.QR_BORDER) * images.QR_BOX + 5,
                )
                assert (grey.getpixel(centre) < 128) == matrix[y][x], (x, y)
        assert grey.getpixel((2, 2)) == 255  # the quiet zone is white
    assert images.qr_matrix(PAGE + "x") != matrix


def test_the_qr_svg_holds_the_same_modules_on_white():
    matrix = images.qr_matrix(PAGE)
    size = len(matrix)
    data = images.qr_svg(PAGE)
    root = ElementTree.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    total = size + 2 * images.QR_BORDER
    assert root.get("viewBox") == f"0 0 {total} {total}"
    rect = root.find("{http://www.w3.org/2000/svg}rect")
    assert rect is not None and rect.get("fill") == "white"
    path = root.find("{http://www.w3.org/2000/svg}path")
    dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path.get("d"))}
    expected = {
        (x + images.QR_BORDER, y + images.QR_BORDER) for y in range(size) for x in range(size) if matrix[y][x]
    }
    assert dark == expected


# --- handles ---------------------------------------------------------------------------------------


def test_random_handles_are_long_unguessable_and_valid():
    handles = {profiles.random_handle() for _ in range(200)}
    assert len(handles) == 200
    for handle in handles:
        assert len(handle) == 12 and profiles.HANDLE.match(handle) and not handle.isdigit()
        assert set(handle) <= set(profiles.HANDLE_ALPHABET)


@pytest.mark.parametrize(
    ("given", "kept"), [("maya-torres", "maya-torres"), ("  Maya-Torres ", "maya-torres"), ("a1b", "a1b")]
)
def test_chosen_handles_are_normalized(given, kept):
    assert profiles.check_handle(given) == kept


@pytest.mark.parametrize(
    "given",
    ["ab", "-maya", "maya-", "maya torres", "maya_torres", "maya@example.org", "12345", "é-accent", "a" * 41],
)
def test_bad_handles_are_refused_with_a_sentence(given):
    with pytest.raises(InputError) as caught:
        profiles.check_handle(given)
    assert caught.value.message.endswith(".")


# --- grouping a profile ----------------------------------------------------------------------------


def entry(
    name: str,
    kind: str = "microcredential",
    *,
    micro=None,
    stack=None,
    bundle=None,
    state="valid",
    credit="0.5",
):
    return Entry(
        credential_id=name,
        url=f"https://x/{name}",
        name=name,
        kind=kind,
        version="1" if kind == "microcredential" else None,
        issued_on=date(2026, 1, 5),
        credit=Decimal(credit),
        state=state,
        image_url=None,
        microcredential_id=micro,
        stack_id=stack,
        bundle_id=bundle,
    )


STACKS = [
    StackDef(1, "3D Teaching", "https://x/stacks/3d", (10, 11, 12)),
    StackDef(2, "Methods", "https://x/stacks/methods", (12, 13)),
    StackDef(3, "Loose stack", "https://x/stacks/loose", (14,)),
    StackDef(4, "Empty stack", "https://x/stacks/empty", (15,)),
]
BUNDLES = [
    BundleDef(7, "Secondary Science", "https://x/bundles/sec", (1, 2)),
    BundleDef(8, "Again", "u", (2,)),
]


def test_group_entries_by_bundle_then_stack_then_other():
    a, shared, m13 = entry("a", micro=10), entry("shared", micro=12), entry("m13", micro=13)
    loose, stray = entry("loose", micro=14), entry("stray", micro=99)
    methods = entry("methods", "stack", stack=2, credit="0")
    bundle = entry("bundle", "bundle", bundle=7, credit="1")
    grouping = profiles.group_entries([a, shared, m13, loose, stray, methods, bundle], STACKS, BUNDLES)

    (science,) = grouping.bundles  # "Again" holds only Methods, which Secondary Science took first
    assert science.bundle.name == "Secondary Science" and science.credential == bundle
    assert [(g.stack.name, g.credential, g.entries) for g in science.stacks] == [
        ("3D Teaching", None, (a, shared)),  # a microcredential in two stacks goes under the first
        ("Methods", methods, (m13,)),
    ]
    assert [(g.stack.name, g.entries) for g in grouping.stacks] == [("Loose stack", (loose,))]
    assert grouping.other == (stray,)


def test_group_entries_leaves_out_empty_groups():
    grouping = profiles.group_entries([entry("stray", micro=None)], STACKS, BUNDLES)
    assert grouping.bundles == () and grouping.stacks == ()
    assert [e.name for e in grouping.other] == ["stray"]
    assert profiles.group_entries([], STACKS, BUNDLES) == profiles.Grouping((), (), ())


def test_total_credit_counts_expired_but_not_suspended():
    entries = [
        entry("a", credit="0.5"),
        entry("b", credit="0.5", state="expired"),
        entry("c", credit="0.5", state="suspended"),
        entry("s", "stack", stack=1, credit="1.25"),
    ]
    assert profiles.total_credit(entries) == Decimal("2.25")
    assert profiles.total_credit([]) == Decimal("0")


# --- the catalog's LinkedIn organization id --------------------------------------------------------


def test_the_catalog_reads_an_issuers_linkedin_organization_id(tmp_path):
    path = write_mini_catalog(
        tmp_path,
        CATALOG.replace(
            "    image: images/usbe.svg\n",
            "    image: images/usbe.svg\n    linkedin_organization_id: 1337\n",
            1,
        ),
    )
    catalog = parse_catalog(path.read_text("utf-8"), folder=path.parent)
    assert catalog.issuers[0].linkedin_organization_id == "1337"
    plain = parse_catalog(CATALOG, folder=path.parent)
    assert plain.issuers[0].linkedin_organization_id is None


@pytest.mark.parametrize("value", ["acme", "'12 34'", "'-5'", "123456789012345678901"])
def test_the_catalog_refuses_a_bad_linkedin_organization_id(tmp_path, value):
    text = CATALOG.replace(
        "    image: images/usbe.svg\n",
        f"    image: images/usbe.svg\n    linkedin_organization_id: {value}\n",
        1,
    )
    path = write_mini_catalog(tmp_path, text)
    with pytest.raises(CatalogError, match=r"catalog line 12: issuers\[0\]\.linkedin_organization_id: "):
        parse_catalog(path.read_text("utf-8"), folder=path.parent)
