"""The social card (a 1200x630 PNG for Open Graph and Twitter cards) and QR codes: bytes in, bytes out."""

from __future__ import annotations

import functools
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

FONTS = Path(__file__).parent / "fonts"
CARD_SIZE = (1200, 630)  # what Facebook, LinkedIn and X show largest (1.91:1)
CARD_VERSION = "1"  # part of the card's ETag: bump when the drawing changes
BADGE_SIDE = 420
MARGIN = 60
BAND = (15, 61, 94)  # the site's band colour (#0f3d5e)
INK = (27, 31, 36)
MUTED = (74, 85, 96)
PAPER = (255, 255, 255)
QR_BOX = 10  # pixels per QR module in the PNG
QR_BORDER = 4  # the quiet zone, in modules (ISO/IEC 18004 asks for 4)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Card:
    """What the social card shows."""

    achievement: str
    issuer: str
    earner: str | None  # the name the earner published; None: kept private
    site: str  # the site's host, at the foot of the card


@functools.lru_cache(maxsize=16)
def _font(size: int, *, bold: bool = False) -> Font:
    # A font shipped with badgeserver (fonts/README.md): the card looks the same on every machine.
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size)


def _printable(text: str) -> str:
    """Control and format characters dropped, so a name cannot smuggle layout into the card."""
    cleaned = "".join(
        " " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(cleaned.split())


def _wrap(text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to `width` pixels; the last line ends in an ellipsis when text is left over."""
    lines: list[str] = []
    current = ""
    words = _printable(text).split(" ")
    for n, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = " ".join(words[n:])
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines or (len(lines) == max_lines and font.getlength(lines[-1]) > width):
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return lines


def _badge(badge_png: bytes | None) -> Image.Image | None:
    if not badge_png:
        return None
    try:
        with Image.open(io.BytesIO(badge_png)) as source:
            badge = source.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    badge.thumbnail((BADGE_SIDE, BADGE_SIDE), Image.Resampling.LANCZOS)
    return badge


def render_card(card: Card, badge_png: bytes | None) -> bytes:
    """The card as PNG bytes: the badge on the left; achievement, earner and issuer on the right."""
    image = Image.new("RGB", CARD_SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    foot = 70
    draw.rectangle((0, height - foot, width, height), fill=BAND)
    draw.rectangle((0, 0, width, 12), fill=BAND)
    badge = _badge(badge_png)
    top = 12 + (height - foot - 12 - BADGE_SIDE) // 2
    if badge is not None:
        left = MARGIN + (BADGE_SIDE - badge.width) // 2
        image.paste(badge, (left, top + (BADGE_SIDE - badge.height) // 2), badge)
    else:
        draw.ellipse((MARGIN, top, MARGIN + BADGE_SIDE, top + BADGE_SIDE), outline=BAND, width=12)
    x = MARGIN + BADGE_SIDE + 50
    text_width = width - x - MARGIN
    y = 70
    label = _font(24, bold=True)
    draw.text((x, y), "OPEN BADGES CREDENTIAL", font=label, fill=MUTED)
    y += 50
    title = _font(50, bold=True)
    for line in _wrap(card.achievement, title, text_width, 3):
        draw.text((x, y), line, font=title, fill=INK)
        y += 62
    y += 20
    body = _font(32)
    earned = f"Earned by {card.earner}" if card.earner else "Earned by an educator (name kept private)"
    for line in _wrap(earned, body, text_width, 2):
        draw.text((x, y), line, font=body, fill=INK)
        y += 42
    y += 8
    for line in _wrap(f"Issued by {card.issuer}", body, text_width, 2):
        draw.text((x, y), line, font=body, fill=MUTED)
        y += 42
    footer = _font(28)
    draw.text(
        (MARGIN, height - foot + 20),
        _wrap(f"Verify it at {card.site}", footer, width - 2 * MARGIN, 1)[0],
        font=footer,
        fill=PAPER,
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _qr(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=QR_BOX, border=QR_BORDER)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules for `text`, without the quiet zone (True: dark)."""
    rows = _qr(text).get_matrix()
    return [list(row[QR_BORDER:-QR_BORDER]) for row in rows[QR_BORDER:-QR_BORDER]]


def qr_png(text: str) -> bytes:
    """A QR code of `text` as a black-on-white PNG, 10 pixels a module, with the quiet zone."""
    picture = _qr(text).make_image(image_factory=PilImage)
    out = io.BytesIO()
    picture.save(out)
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    """A QR code of `text` as an SVG (one path on a white background), with the quiet zone."""
    picture = _qr(text).make_image(image_factory=SvgPathFillImage)
    data: bytes = picture.to_string(encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + data
