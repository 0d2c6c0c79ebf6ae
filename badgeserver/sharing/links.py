"""Share links, the LinkedIn "Add to profile" link, the embed snippet and the oEmbed answer: pure strings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import escape

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
EMBED_SIDE = 160  # the badge's side in the embed snippet, in CSS pixels
CAPTION_LINE = 15  # the caption's line height in CSS pixels (12 px text)
CAPTION_LINES = 4  # an oEmbed caption longer than this ends in an ellipsis
EMBED_TEXT_HEIGHT = CAPTION_LINE * CAPTION_LINES  # room for the caption under the badge
MIN_EMBED_SIDE = 16
MIN_CAPTION_WIDTH = 120  # narrower than this, the caption would wrap into a column of words
OEMBED_CACHE_SECONDS = 3600  # an hour: a revocation reaches embedding sites soon


@dataclass(frozen=True)
class Certification:
    """What LinkedIn's "Add license or certification" form asks for, taken from one credential."""

    name: str
    organization_name: str
    organization_id: str | None
    issued: date
    expires: date | None
    cert_id: str
    cert_url: str


@dataclass(frozen=True)
class ShareLink:
    """A link that shares the page on one network (or by email)."""

    network: str
    label: str
    url: str


def _query(pairs: list[tuple[str, str]]) -> str:
    # Spaces as %20, not "+": mail clients and some networks show a literal "+".
    return urlencode(pairs, quote_via=quote)


def linkedin_add_url(cert: Certification) -> str:
    """LinkedIn's "Add to profile" link with every certification field filled in.

    The organization is named by its LinkedIn id when the issuer has one (the profile then shows the
    organization's logo), else by its name.
    """
    pairs = [("startTask", "CERTIFICATION_NAME"), ("name", cert.name)]
    if cert.organization_id:
        pairs.append(("organizationId", cert.organization_id))
    else:
        pairs.append(("organizationName", cert.organization_name))
    pairs += [("issueYear", str(cert.issued.year)), ("issueMonth", str(cert.issued.month))]
    if cert.expires is not None:
        pairs += [("expirationYear", str(cert.expires.year)), ("expirationMonth", str(cert.expires.month))]
    pairs += [("certUrl", cert.cert_url), ("certId", cert.cert_id)]
    return f"{LINKEDIN_ADD}?{_query(pairs)}"


def month_year(day: date) -> str:
    """A date as LinkedIn's form shows it: "January 2026"."""
    return day.strftime("%B %Y")


def linkedin_fields(cert: Certification) -> list[tuple[str, str, str]]:
    """The same fields as text to copy by hand: (field id, label as LinkedIn's form names it, value)."""
    fields = [
        ("name", "Name", cert.name),
        ("organization", "Issuing organization", cert.organization_name),
    ]
    if cert.organization_id:
        fields.append(("organization-id", "LinkedIn organization id", cert.organization_id))
    fields.append(("issued", "Issue date", month_year(cert.issued)))
    fields.append(
        ("expires", "Expiration date", month_year(cert.expires) if cert.expires else "Does not expire")
    )
    fields += [("cert-id", "Credential ID", cert.cert_id), ("cert-url", "Credential URL", cert.cert_url)]
    return fields


def share_text(achievement: str, issuer: str) -> str:
    """The sentence a share starts with."""
    return f"I earned “{achievement}” from {issuer}."


def share_links(page_url: str, achievement: str, issuer: str) -> list[ShareLink]:
    """Links that share the credential's page on other networks and by email."""
    text = share_text(achievement, issuer)
    return [
        ShareLink(
            "x", "Share on X", f"https://x.com/intent/tweet?{_query([('text', text), ('url', page_url)])}"
        ),
        ShareLink(
            "facebook",
            "Share on Facebook",
            f"https://www.facebook.com/sharer/sharer.php?{_query([('u', page_url)])}",
        ),
        ShareLink(
            "linkedin",
            "Post on LinkedIn",
            f"https://www.linkedin.com/sharing/share-offsite/?{_query([('url', page_url)])}",
        ),
        ShareLink(
            "bluesky",
            "Share on Bluesky",
            f"https://bsky.app/intent/compose?{_query([('text', f'{text} {page_url}')])}",
        ),
        ShareLink(
            "email",
            "Send by email",
            "mailto:?"
            + _query(
                [
                    ("subject", f"{achievement}, from {issuer}"),
                    ("body", f"{text}\n\nSee and verify it: {page_url}"),
                ]
            ),
        ),
    ]


@dataclass(frozen=True)
class Embed:
    """What the embed snippet shows: the page, a stable image of the badge, and who issued it to whom."""

    page_url: str
    image_url: str
    achievement: str
    issuer: str
    earner: str | None


def embed_caption(embed: Embed) -> str:
    """The line of text under the embedded badge."""
    earned = f"earned by {embed.earner}, " if embed.earner else ""
    return f"{embed.achievement}: {earned}issued by {embed.issuer}"


def _badge_image(embed: Embed, side: int, style: str = "") -> str:
    """The badge's <img>, `side` pixels square, with its alt text (and an inline style attribute)."""
    return (
        f'<img src="{escape(embed.image_url)}" alt="{escape(embed.achievement)} badge" '
        f'width="{int(side)}" height="{int(side)}"{style}>'
    )


def embed_html(embed: Embed) -> str:
    """The copy-and-paste HTML: a link to the page around the badge image, and a line of text.

    Plain HTML that needs no script and no style sheet; every value is escaped for an attribute or text.
    """
    image = _badge_image(embed, EMBED_SIDE)
    return f'<a href="{escape(embed.page_url)}">{image}<br>{escape(embed_caption(embed))}</a>'


def oembed_html(embed: Embed, width: int, height: int, side: int, *, caption: bool) -> str:
    """The embed in a box of exactly width x height: the badge, then at most four lines of caption.

    Inline styles only (an embedding site has none of ours): the image is a block, so no baseline gap
    adds to the height, and a caption too long for four lines is cut at a line's end with an ellipsis
    (the whole caption stays in the link's title)."""
    image = _badge_image(embed, side, ' style="display:block;margin:0 auto"')
    words = escape(embed_caption(embed))
    text = (
        '<span style="display:-webkit-box;-webkit-box-orient:vertical;'
        f'-webkit-line-clamp:{CAPTION_LINES};overflow:hidden;max-height:{EMBED_TEXT_HEIGHT}px">'
        f"{words}</span>"
        if caption
        else ""
    )
    return (
        f'<div style="width:{int(width)}px;height:{int(height)}px;overflow:hidden;'
        f'font:12px/{CAPTION_LINE}px sans-serif;text-align:center">'
        f'<a href="{escape(embed.page_url)}" title="{words}" style="display:block">{image}{text}</a></div>'
    )


class OEmbedSizeError(ValueError):
    """maxwidth and maxheight leave no room for the badge."""


def oembed_size(maxwidth: int | None, maxheight: int | None) -> tuple[int, int, int, bool]:
    """The embed's (width, height, badge side, with caption) within maxwidth and maxheight."""
    width_room = EMBED_SIDE if maxwidth is None else min(EMBED_SIDE, maxwidth)
    height_room = None if maxheight is None else maxheight
    with_caption = width_room >= MIN_CAPTION_WIDTH and (
        height_room is None or height_room - EMBED_TEXT_HEIGHT >= MIN_EMBED_SIDE
    )
    side = width_room
    if height_room is not None:
        side = min(side, height_room - EMBED_TEXT_HEIGHT if with_caption else height_room)
    if side < MIN_EMBED_SIDE:
        raise OEmbedSizeError(
            f"maxwidth and maxheight must leave at least {MIN_EMBED_SIDE} pixels for the badge."
        )
    height = side + EMBED_TEXT_HEIGHT if with_caption else side
    # With a caption the box is as wide as the room (the text needs it); without, as wide as the badge.
    return (width_room if with_caption else side), height, side, with_caption


def oembed_document(
    embed: Embed,
    *,
    provider_name: str,
    provider_url: str,
    maxwidth: int | None = None,
    maxheight: int | None = None,
    thumbnail: tuple[str, int, int] | None = None,
) -> dict[str, Any]:
    """The oEmbed 1.0 answer (type "rich") for a credential page; a thumbnail only where it fits."""
    width, height, side, with_caption = oembed_size(maxwidth, maxheight)
    document: dict[str, Any] = {
        "version": "1.0",
        "type": "rich",
        "title": embed_caption(embed),
        "provider_name": provider_name,
        "provider_url": provider_url,
        "cache_age": OEMBED_CACHE_SECONDS,
        # A box of exactly the declared size: a long caption ends in an ellipsis, never spills out.
        "html": oembed_html(embed, width, height, side, caption=with_caption),
        "width": width,
        "height": height,
    }
    if embed.earner:
        document["author_name"] = embed.earner
    if thumbnail is not None:
        url, thumb_width, thumb_height = thumbnail
        fits = (maxwidth is None or thumb_width <= maxwidth) and (
            maxheight is None or thumb_height <= maxheight
        )
        if fits:
            document |= {
                "thumbnail_url": url,
                "thumbnail_width": thumb_width,
                "thumbnail_height": thumb_height,
            }
    return document
