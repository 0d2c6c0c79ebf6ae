"""Draw the catalog's badge images: an SVG and a PNG twin for every issuer, microcredential, stack and bundle.

Usage:
    .venv/bin/python catalog/make_images.py [CATALOG.yaml] [--font PATH.ttf]

The catalog defaults to utah-secondary-science.yaml next to this script. Each image is written to the
path named by the entry's ``image`` field (relative to the catalog file); the twin with the other
suffix (.svg or .png) is written next to it with the same stem.

Both files of a pair come from the same list of shapes, so they show the same design. The SVG is
512x512 user units; the PNG is 512x512 RGBA, drawn four times larger with Pillow and scaled down.
Output is deterministic: the same catalog, font file and Pillow version give the same bytes. Text is
set in DejaVu Sans Bold, found under the usual system font folders or given with --font; without it
the PNGs fall back to Pillow's built-in font, which can differ between Pillow builds.
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from PIL import Image, ImageDraw, ImageFont

SIZE = 512
SUPERSAMPLE = 4
LEADING = 1.18
FONT_FAMILY = "'DejaVu Sans', Verdana, Arial, Helvetica, sans-serif"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",  # Fedora
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",  # Arch
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
    "/Library/Fonts/DejaVuSans-Bold.ttf",
)
DEFAULT_CATALOG = Path(__file__).resolve().parent / "utah-secondary-science.yaml"

Point = tuple[float, float]


@dataclass(frozen=True)
class Palette:
    dark: str
    main: str
    tint: str
    ink: str  # text on the tint


TEAL = Palette(dark="#0B4F54", main="#12807F", tint="#E8F5F3", ink="#0A3B3F")
INDIGO = Palette(dark="#2E2A78", main="#4B45C6", tint="#EEEFFC", ink="#231F5C")
CRIMSON = Palette(dark="#6E1A2B", main="#A3263F", tint="#FBEEF0", ink="#4F1220")
FOREST = Palette(dark="#1F4D2B", main="#2F7A43", tint="#EDF6EF", ink="#173A20")
GOLD = Palette(dark="#8A5F06", main="#D19B1C", tint="#FFF9EA", ink="#3D2A03")
NAVY = Palette(dark="#16304F", main="#2B5A8A", tint="#F2F6FA", ink="#12263F")
STACK_PALETTES = (TEAL, INDIGO, CRIMSON, FOREST)


@dataclass(frozen=True)
class RibbonColours:
    band: str
    fold: str
    shade: str
    highlight: str
    ink: str


AMBER_RIBBON = RibbonColours(
    band="#F2B53A", fold="#B9821A", shade="#7A560F", highlight="#F8D27E", ink="#1E2633"
)
NAVY_RIBBON = RibbonColours(
    band="#23395D", fold="#172843", shade="#0C1626", highlight="#3C5A86", ink="#FFF9EA"
)
WHITE = "#FFFFFF"


# --------------------------------------------------------------------------------------------------
# Fonts


def find_font() -> str | None:
    """The path of DejaVu Sans Bold, or None when it is not installed."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = sorted(glob.glob("/usr/share/fonts/**/DejaVuSans-Bold.ttf", recursive=True))
    return found[0] if found else None


class Fonts:
    def __init__(self, path: str | None = None) -> None:
        self.path = path or find_font()
        self._cache: dict[int, Any] = {}

    @property
    def description(self) -> str:
        if self.path:
            return self.path
        return "Pillow's built-in default font (DejaVu Sans Bold not found; PNG bytes may differ by machine)"

    def get(self, size: int) -> Any:
        if size not in self._cache:
            if self.path:
                self._cache[size] = ImageFont.truetype(self.path, size)
            else:
                self._cache[size] = ImageFont.load_default(size=size)
        return self._cache[size]

    def width(self, text: str, size: int) -> float:
        return float(self.get(size).getlength(text))


# --------------------------------------------------------------------------------------------------
# Two canvases with the same drawing calls


def num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def paint(color: str | None) -> str:
    return color if color else "none"


class SvgCanvas:
    def __init__(self, title: str, description: str) -> None:
        self.title = title
        self.description = description
        self.parts: list[str] = []

    def _stroke(self, stroke: str | None, width: float) -> str:
        if not stroke or width <= 0:
            return ""
        return f' stroke="{stroke}" stroke-width="{num(width)}" stroke-linejoin="round"'

    def polygon(
        self, points: Sequence[Point], fill: str | None = None, stroke: str | None = None, width: float = 0
    ) -> None:
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.parts.append(f'<polygon points="{pts}" fill="{paint(fill)}"{self._stroke(stroke, width)}/>')

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
    ) -> None:
        self.parts.append(
            f'<circle cx="{num(cx)}" cy="{num(cy)}" r="{num(r)}" fill="{paint(fill)}"'
            f"{self._stroke(stroke, width)}/>"
        )

    def ellipse(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
    ) -> None:
        self.parts.append(
            f'<ellipse cx="{num(cx)}" cy="{num(cy)}" rx="{num(rx)}" ry="{num(ry)}" fill="{paint(fill)}"'
            f"{self._stroke(stroke, width)}/>"
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
        radius: float = 0,
    ) -> None:
        rx = f' rx="{num(radius)}"' if radius else ""
        self.parts.append(
            f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}"{rx} fill="{paint(fill)}"'
            f"{self._stroke(stroke, width)}/>"
        )

    def line(self, points: Sequence[Point], stroke: str, width: float) -> None:
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{num(width)}"'
            ' stroke-linecap="round" stroke-linejoin="round"/>'
        )

    def text(self, x: float, y: float, text: str, size: float, fill: str) -> None:
        self.parts.append(
            f'<text x="{num(x)}" y="{num(y)}" text-anchor="middle" font-family="{FONT_FAMILY}"'
            f' font-size="{num(size)}" font-weight="bold" fill="{fill}">{escape(text)}</text>'
        )

    def render(self) -> bytes:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}"'
            f' viewBox="0 0 {SIZE} {SIZE}" role="img" aria-labelledby="badge-title badge-desc">\n'
            f'<title id="badge-title">{escape(self.title)}</title>\n'
            f'<desc id="badge-desc">{escape(self.description)}</desc>\n'
        )
        return (head + "\n".join(self.parts) + "\n</svg>\n").encode("utf-8")


class PngCanvas:
    def __init__(self, fonts: Fonts) -> None:
        self.fonts = fonts
        self.scale = SUPERSAMPLE
        self.image = Image.new("RGBA", (SIZE * self.scale, SIZE * self.scale), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * self.scale, y * self.scale) for x, y in points]

    def _w(self, width: float) -> int:
        return max(1, round(width * self.scale))

    def _outline(self, points: Sequence[Point], stroke: str, width: float) -> None:
        closed = list(points) + [points[0], points[1]]
        self.draw.line(self._xy(closed), fill=stroke, width=self._w(width), joint="curve")

    def polygon(
        self, points: Sequence[Point], fill: str | None = None, stroke: str | None = None, width: float = 0
    ) -> None:
        if fill:
            self.draw.polygon(self._xy(points), fill=fill)
        if stroke and width > 0:
            self._outline(points, stroke, width)

    def ellipse(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
    ) -> None:
        s = self.scale
        if fill:
            self.draw.ellipse([(cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s], fill=fill)
        if stroke and width > 0:
            h = width / 2
            box = [(cx - rx - h) * s, (cy - ry - h) * s, (cx + rx + h) * s, (cy + ry + h) * s]
            self.draw.ellipse(box, outline=stroke, width=self._w(width))

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
    ) -> None:
        self.ellipse(cx, cy, r, r, fill, stroke, width)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str | None = None,
        stroke: str | None = None,
        width: float = 0,
        radius: float = 0,
    ) -> None:
        s = self.scale
        if fill:
            self.draw.rounded_rectangle(
                [x * s, y * s, (x + w) * s, (y + h) * s], radius=radius * s, fill=fill
            )
        if stroke and width > 0:
            d = width / 2
            box = [(x - d) * s, (y - d) * s, (x + w + d) * s, (y + h + d) * s]
            self.draw.rounded_rectangle(
                box, radius=(radius + d) * s if radius else 0, outline=stroke, width=self._w(width)
            )

    def line(self, points: Sequence[Point], stroke: str, width: float) -> None:
        self.draw.line(self._xy(points), fill=stroke, width=self._w(width), joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):
            self.ellipse(x, y, r, r, fill=stroke)

    def text(self, x: float, y: float, text: str, size: float, fill: str) -> None:
        font = self.fonts.get(round(size * self.scale))
        self.draw.text((x * self.scale, y * self.scale), text, font=font, fill=fill, anchor="ms")

    def render(self) -> bytes:
        small = self.image.convert("RGBa").resize((SIZE, SIZE), Image.Resampling.LANCZOS).convert("RGBA")
        out = BytesIO()
        small.save(out, format="PNG", optimize=True)
        return out.getvalue()


Canvas = SvgCanvas | PngCanvas


# --------------------------------------------------------------------------------------------------
# Geometry and text layout


def hexagon(cx: float, cy: float, r: float) -> list[Point]:
    """A pointy-top regular hexagon."""
    return [
        (cx + r * math.cos(math.radians(-90 + 60 * k)), cy + r * math.sin(math.radians(-90 + 60 * k)))
        for k in range(6)
    ]


def wrap(
    name: str, fonts: Fonts, max_width: float, sizes: Sequence[int], max_height: float = math.inf
) -> tuple[list[str], int]:
    """Split a name over 2-4 balanced lines at the largest size that fits the box."""
    words = name.split()
    best: tuple[list[str], int] | None = None
    for size in sizes:
        for count in range(2, 5):
            if count > len(words):
                break
            lines = _balanced(words, count, functools.partial(fonts.width, size=size))
            fits_height = count * size * LEADING <= max_height
            if fits_height and max(fonts.width(line, size) for line in lines) <= max_width:
                return lines, size
            best = (lines, size)
    if best is None:  # a single word
        return [name], sizes[-1]
    return best


def _balanced(words: list[str], count: int, width: Callable[[str], float]) -> list[str]:
    """The split of words into `count` lines with the narrowest widest line (ties: earlier breaks)."""
    n = len(words)
    best_lines: list[str] = []
    best_width = math.inf

    def walk(start: int, left: int, acc: list[str]) -> None:
        nonlocal best_lines, best_width
        if left == 1:
            lines = acc + [" ".join(words[start:])]
            widest = max(width(line) for line in lines)
            if widest < best_width - 1e-9:
                best_lines, best_width = lines, widest
            return
        for end in range(start + 1, n - left + 2):
            walk(end, left - 1, acc + [" ".join(words[start:end])])

    walk(0, count, [])
    return best_lines


def text_block(c: Canvas, lines: list[str], size: int, cx: float, cy: float, fill: str) -> None:
    """Centered lines whose block is vertically centered on cy (cap-height centered)."""
    step = size * LEADING
    first = cy - step * (len(lines) - 1) / 2 + size * 0.36
    for i, line in enumerate(lines):
        c.text(cx, first + i * step, line, size, fill)


def ribbon(
    c: Canvas, cy: float, half: float, label: str, colours: RibbonColours = AMBER_RIBBON, size: int = 24
) -> None:
    """A banner across the badge with folded tails; cy is its middle, half its half-width."""
    top, bottom = cy - 24, cy + 24
    tail_top, tail_bottom = top + 14, bottom + 14
    for sign in (-1, 1):
        inner = 256 + sign * (half - 14)
        outer = 256 + sign * (half + 40)
        notch = 256 + sign * (half + 22)
        c.polygon(
            [
                (inner, tail_top),
                (outer, tail_top),
                (notch, (tail_top + tail_bottom) / 2),
                (outer, tail_bottom),
                (inner, tail_bottom),
            ],
            fill=colours.fold,
        )
        edge = 256 + sign * half
        c.polygon(
            [(edge, bottom), (edge - sign * 14, bottom), (edge - sign * 14, tail_bottom)], fill=colours.shade
        )
    c.rect(256 - half, top, 2 * half, bottom - top, fill=colours.band)
    c.line([(256 - half + 8, top + 5), (256 + half - 8, top + 5)], stroke=colours.highlight, width=2)
    c.text(256, cy + size * 0.36, label, size, colours.ink)


# --------------------------------------------------------------------------------------------------
# Motifs: drawn in a unit box around (cx, cy), scaled by s


Motif = Callable[[Canvas, float, float, float, str, str], None]


def _p(cx: float, cy: float, s: float, pts: Sequence[Point]) -> list[Point]:
    return [(cx + x * s, cy + y * s) for x, y in pts]


def motif_flask(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.1 * s
    c.polygon(_p(cx, cy, s, [(-0.45, 0.2), (0.45, 0.2), (0.72, 0.74), (-0.72, 0.74)]), fill=fg)
    c.polygon(
        _p(
            cx, cy, s, [(-0.2, -0.78), (0.2, -0.78), (0.2, -0.22), (0.72, 0.74), (-0.72, 0.74), (-0.2, -0.22)]
        ),
        stroke=fg,
        width=w,
    )
    c.line(_p(cx, cy, s, [(-0.34, -0.8), (0.34, -0.8)]), stroke=fg, width=w)
    c.circle(cx + 0.08 * s, cy - 0.02 * s, 0.08 * s, fill=fg)
    c.circle(cx - 0.1 * s, cy + 0.36 * s, 0.07 * s, fill=bg)
    c.circle(cx + 0.2 * s, cy + 0.5 * s, 0.05 * s, fill=bg)


def motif_cross(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.1 * s
    c.line(_p(cx, cy, s, [(-0.66, -0.66), (0.66, 0.66)]), stroke=fg, width=w)
    c.line(_p(cx, cy, s, [(0.66, -0.66), (-0.66, 0.66)]), stroke=fg, width=w)
    for x, y in ((-0.66, -0.66), (0.66, -0.66), (0.66, 0.66), (-0.66, 0.66)):
        c.circle(cx + x * s, cy + y * s, 0.17 * s, fill=fg)
    c.circle(cx, cy, 0.26 * s, fill=bg, stroke=fg, width=w)
    c.circle(cx, cy, 0.09 * s, fill=fg)


def motif_bars(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    for x, top in ((-0.66, 0.22), (-0.16, -0.18), (0.34, -0.58)):
        c.rect(cx + x * s, cy + top * s, 0.34 * s, (0.7 - top) * s, fill=fg, radius=0.05 * s)
    c.line(_p(cx, cy, s, [(-0.82, 0.76), (0.82, 0.76)]), stroke=fg, width=0.09 * s)
    trend = [(-0.49, 0.02), (0.01, -0.38), (0.51, -0.78)]
    c.line(_p(cx, cy, s, trend), stroke=bg, width=0.07 * s)
    for x, y in trend:
        c.circle(cx + x * s, cy + y * s, 0.1 * s, fill=bg, stroke=fg, width=0.05 * s)


def motif_atom(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.08 * s
    c.ellipse(cx, cy, 0.86 * s, 0.34 * s, stroke=fg, width=w)
    c.ellipse(cx, cy, 0.34 * s, 0.86 * s, stroke=fg, width=w)
    c.circle(cx, cy, 0.2 * s, fill=fg)
    c.circle(cx + 0.86 * s, cy, 0.11 * s, fill=fg)
    c.circle(cx, cy - 0.86 * s, 0.11 * s, fill=fg)


def motif_sun(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    c.circle(cx, cy, 0.36 * s, fill=fg)
    c.circle(cx - 0.1 * s, cy - 0.1 * s, 0.1 * s, fill=bg)
    for k in range(8):
        a = math.radians(45 * k)
        c.line(
            [
                (cx + 0.54 * s * math.cos(a), cy + 0.54 * s * math.sin(a)),
                (cx + 0.84 * s * math.cos(a), cy + 0.84 * s * math.sin(a)),
            ],
            stroke=fg,
            width=0.11 * s,
        )


def motif_balance(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.09 * s
    c.line(_p(cx, cy, s, [(0, -0.56), (0, 0.66)]), stroke=fg, width=w)
    c.line(_p(cx, cy, s, [(-0.4, 0.72), (0.4, 0.72)]), stroke=fg, width=0.12 * s)
    c.line(_p(cx, cy, s, [(-0.76, -0.46), (0.76, -0.46)]), stroke=fg, width=w)
    c.circle(cx, cy - 0.6 * s, 0.12 * s, fill=fg)
    for sign in (-1, 1):
        x = 0.76 * sign
        c.line(_p(cx, cy, s, [(x - 0.22, 0.1), (x, -0.46), (x + 0.22, 0.1)]), stroke=fg, width=0.05 * s)
        c.polygon(
            _p(cx, cy, s, [(x - 0.3, 0.1), (x + 0.3, 0.1), (x + 0.18, 0.26), (x - 0.18, 0.26)]), fill=fg
        )


def motif_globe(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.08 * s
    c.circle(cx, cy, 0.8 * s, stroke=fg, width=w)
    c.ellipse(cx, cy, 0.34 * s, 0.8 * s, stroke=fg, width=w)
    c.line(_p(cx, cy, s, [(-0.8, 0), (0.8, 0)]), stroke=fg, width=w)
    for y in (-0.42, 0.42):
        half = math.sqrt(0.8**2 - y**2)
        c.line(_p(cx, cy, s, [(-half, y), (half, y)]), stroke=fg, width=0.06 * s)


def motif_cube(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.08 * s
    top, ur, lr, bottom, ll, ul = (
        (0, -0.84),
        (0.74, -0.42),
        (0.74, 0.42),
        (0, 0.84),
        (-0.74, 0.42),
        (-0.74, -0.42),
    )
    centre = (0, 0)
    c.polygon(_p(cx, cy, s, [top, ur, centre, ul]), fill=fg)
    c.polygon(_p(cx, cy, s, [top, ur, lr, bottom, ll, ul]), stroke=fg, width=w)
    c.line(_p(cx, cy, s, [centre, bottom]), stroke=fg, width=w)
    c.line(_p(cx, cy, s, [(0.18, 0.3), (0.32, 0.46), (0.58, 0.1)]), stroke=fg, width=0.09 * s)


def motif_bulb(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    c.circle(cx, cy - 0.2 * s, 0.52 * s, fill=fg)
    c.polygon(_p(cx, cy, s, [(-0.3, 0.16), (0.3, 0.16), (0.24, 0.46), (-0.24, 0.46)]), fill=fg)
    c.rect(cx - 0.24 * s, cy + 0.52 * s, 0.48 * s, 0.12 * s, fill=fg, radius=0.05 * s)
    c.rect(cx - 0.16 * s, cy + 0.7 * s, 0.32 * s, 0.12 * s, fill=fg, radius=0.05 * s)
    c.line(
        _p(cx, cy, s, [(-0.2, -0.2), (-0.1, 0.0), (0.0, -0.2), (0.1, 0.0), (0.2, -0.2)]),
        stroke=bg,
        width=0.07 * s,
    )
    c.line(_p(cx, cy, s, [(-0.1, 0.0), (-0.1, 0.3)]), stroke=bg, width=0.06 * s)
    c.line(_p(cx, cy, s, [(0.1, 0.0), (0.1, 0.3)]), stroke=bg, width=0.06 * s)


def motif_cycle(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    r = 0.64
    c.circle(cx, cy, r * s, stroke=fg, width=0.08 * s)
    for k in range(4):
        a = math.radians(-90 + 90 * k)
        c.circle(cx + r * s * math.cos(a), cy + r * s * math.sin(a), 0.17 * s, fill=fg)
        b = math.radians(-45 + 90 * k)
        px, py = r * math.cos(b), r * math.sin(b)
        tx, ty = -math.sin(b), math.cos(b)
        nx, ny = math.cos(b), math.sin(b)
        tip = (px + tx * 0.17, py + ty * 0.17)
        left = (px - tx * 0.08 + nx * 0.15, py - ty * 0.08 + ny * 0.15)
        right = (px - tx * 0.08 - nx * 0.15, py - ty * 0.08 - ny * 0.15)
        c.polygon(_p(cx, cy, s, [tip, left, right]), fill=fg)
    c.circle(cx, cy, 0.16 * s, fill=fg)


def motif_people(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    for x in (-0.5, 0.5):
        c.circle(cx + x * s, cy - 0.22 * s, 0.17 * s, fill=fg)
        c.rect(cx + (x - 0.3) * s, cy + 0.02 * s, 0.6 * s, 0.6 * s, fill=fg, radius=0.24 * s)
    c.circle(cx, cy - 0.38 * s, 0.24 * s, fill=fg, stroke=bg, width=0.08 * s)
    c.rect(
        cx - 0.38 * s, cy - 0.06 * s, 0.76 * s, 0.78 * s, fill=fg, stroke=bg, width=0.08 * s, radius=0.3 * s
    )


def motif_book(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    for sign in (-1, 1):
        c.polygon(
            _p(
                cx,
                cy,
                s,
                [(0.04 * sign, -0.46), (0.86 * sign, -0.66), (0.86 * sign, 0.56), (0.04 * sign, 0.76)],
            ),
            fill=fg,
        )
        for i in range(3):
            y0 = -0.3 + 0.3 * i
            c.line(_p(cx, cy, s, [(0.2 * sign, y0), (0.7 * sign, y0 - 0.12)]), stroke=bg, width=0.07 * s)


def motif_bubbles(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    c.polygon(_p(cx, cy, s, [(-0.62, -0.14), (-0.34, -0.14), (-0.72, 0.12)]), fill=fg)
    c.rect(cx - 0.9 * s, cy - 0.8 * s, 1.12 * s, 0.7 * s, fill=fg, radius=0.2 * s)
    for x in (-0.6, -0.34, -0.08):
        c.circle(cx + x * s, cy - 0.45 * s, 0.07 * s, fill=bg)
    c.rect(cx - 0.2 * s, cy - 0.14 * s, 1.1 * s, 0.7 * s, fill=bg, stroke=fg, width=0.08 * s, radius=0.2 * s)
    c.polygon(_p(cx, cy, s, [(0.48, 0.6), (0.74, 0.6), (0.82, 0.84)]), fill=fg)
    c.line(_p(cx, cy, s, [(0.04, 0.1), (0.66, 0.1)]), stroke=fg, width=0.07 * s)
    c.line(_p(cx, cy, s, [(0.04, 0.3), (0.46, 0.3)]), stroke=fg, width=0.07 * s)


def motif_grid(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    w = 0.08 * s
    cells = ((-0.82, -0.82), (0.06, -0.82), (-0.82, 0.06), (0.06, 0.06))
    for x, y in cells:
        c.rect(cx + x * s, cy + y * s, 0.76 * s, 0.76 * s, fill=fg, radius=0.14 * s)
    (ax, ay), (bx, by), (dx, dy), (ex, ey) = ((x + 0.38, y + 0.38) for x, y in cells)
    c.line(_p(cx, cy, s, [(ax - 0.2, ay), (ax + 0.2, ay)]), stroke=bg, width=w)
    c.line(_p(cx, cy, s, [(ax, ay - 0.2), (ax, ay + 0.2)]), stroke=bg, width=w)
    c.line(_p(cx, cy, s, [(bx - 0.15, by - 0.15), (bx + 0.15, by + 0.15)]), stroke=bg, width=w)
    c.line(_p(cx, cy, s, [(bx + 0.15, by - 0.15), (bx - 0.15, by + 0.15)]), stroke=bg, width=w)
    for i, length in enumerate((0.4, 0.4, 0.26)):
        y = dy - 0.16 + 0.16 * i
        c.line(_p(cx, cy, s, [(dx - 0.2, y), (dx - 0.2 + length, y)]), stroke=bg, width=0.06 * s)
    c.line(
        _p(cx, cy, s, [(ex - 0.06, ey - 0.18), (ex - 0.22, ey), (ex - 0.06, ey + 0.18)]), stroke=bg, width=w
    )
    c.line(
        _p(cx, cy, s, [(ex + 0.06, ey - 0.18), (ex + 0.22, ey), (ex + 0.06, ey + 0.18)]), stroke=bg, width=w
    )


def motif_network(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    nodes = [
        (0.74 * math.cos(math.radians(-90 + 72 * k)), 0.74 * math.sin(math.radians(-90 + 72 * k)))
        for k in range(5)
    ]
    c.polygon(_p(cx, cy, s, nodes), stroke=fg, width=0.06 * s)
    for x, y in nodes:
        c.line(_p(cx, cy, s, [(0, 0), (x, y)]), stroke=fg, width=0.07 * s)
    for x, y in nodes:
        c.circle(cx + x * s, cy + y * s, 0.16 * s, fill=fg)
    c.circle(cx, cy, 0.24 * s, fill=fg, stroke=bg, width=0.06 * s)


def motif_venn(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    centres = ((0, -0.3), (-0.34, 0.28), (0.34, 0.28))
    for x, y in centres:
        c.circle(cx + x * s, cy + y * s, 0.48 * s, stroke=fg, width=0.09 * s)
    c.circle(cx, cy + 0.08 * s, 0.12 * s, fill=fg)


def motif_steps(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    path = [(-0.8, 0.66), (-0.3, 0.66), (-0.3, 0.16), (0.2, 0.16), (0.2, -0.34), (0.7, -0.34)]
    c.polygon(_p(cx, cy, s, path + [(0.7, 0.66)]), fill=fg)
    c.line(_p(cx, cy, s, [(0.7, -0.34), (0.7, -0.86)]), stroke=fg, width=0.07 * s)
    c.polygon(_p(cx, cy, s, [(0.7, -0.86), (0.34, -0.72), (0.7, -0.58)]), fill=fg)
    for x, y in ((-0.55, 0.66), (-0.05, 0.16), (0.45, -0.34)):
        c.circle(cx + x * s, cy + (y + 0.2) * s, 0.08 * s, fill=bg)


def motif_honeycomb(c: Canvas, cx: float, cy: float, s: float, fg: str, bg: str) -> None:
    r = 0.3
    step = r * math.sqrt(3) + 0.04
    cells = [(0.0, 0.0)] + [
        (step * math.cos(math.radians(60 * k)), step * math.sin(math.radians(60 * k))) for k in range(6)
    ]
    for i, (x, y) in enumerate(cells):
        c.polygon(hexagon(cx + x * s, cy + y * s, r * s), fill=GOLD.main if i == 0 else fg)


MOTIFS: dict[str, Motif] = {
    "nature-of-science-and-engineering": motif_flask,
    "crosscutting-concepts": motif_cross,
    "science-and-engineering-practices": motif_bars,
    "disciplinary-core-ideas": motif_atom,
    "phenomenon-based-teaching-and-learning": motif_sun,
    "equity-and-accessibility": motif_balance,
    "stem-and-society": motif_globe,
    "3d-science-assessments": motif_cube,
    "student-sensemaking": motif_bulb,
    "instructional-models": motif_cycle,
    "knowledge-of-students-and-the-learning-environment": motif_people,
    "curriculum-creation-review-and-adoption": motif_book,
    "student-discourse-collaboration-and-consensus": motif_bubbles,
    "integration-with-math-ela-and-other-stem-disciplines": motif_grid,
    "professional-collaboration-and-ongoing-learning": motif_network,
    "three-dimensional-teaching-and-learning": motif_venn,
    "science-teaching-methods": motif_steps,
}
FALLBACK_MOTIFS: tuple[Motif, ...] = (
    motif_flask,
    motif_cross,
    motif_bars,
    motif_atom,
    motif_sun,
    motif_globe,
    motif_cube,
    motif_bulb,
    motif_cycle,
    motif_book,
    motif_grid,
    motif_network,
)


def motif_for(slug: str) -> Motif:
    if slug in MOTIFS:
        return MOTIFS[slug]
    index = int.from_bytes(hashlib.sha256(slug.encode()).digest()[:4], "big") % len(FALLBACK_MOTIFS)
    return FALLBACK_MOTIFS[index]


# --------------------------------------------------------------------------------------------------
# Badge designs


def credit_label(credit: Any) -> str:
    value = float(credit)
    return f"{value:g} CREDITS" if value > 1 else f"{value:g} CREDIT"


def hex_badge(
    c: Canvas,
    fonts: Fonts,
    *,
    name: str,
    slug: str,
    palette: Palette,
    label: str,
    issuer_mark: str,
    cy: float = 256,
    r: float = 246,
) -> None:
    k = r / 246
    c.polygon(hexagon(256, cy, r), fill=palette.dark)
    c.polygon(hexagon(256, cy, r - 18 * k), fill=palette.tint)
    c.polygon(hexagon(256, cy, r - 28 * k), stroke=palette.main, width=2)
    motif_y = cy - 126 * k
    c.circle(256, motif_y, 58 * k, fill=palette.main, stroke=palette.dark, width=4)
    motif_for(slug)(c, 256, motif_y, 34 * k, WHITE, palette.main)
    lines, size = wrap(name, fonts, 344 * k, (34, 32, 30, 28, 26, 24), max_height=130 * k)
    text_block(c, lines, size, 256, cy + 11 * k, palette.ink)
    ribbon(c, cy + 120 * k, 178, label)
    c.text(256, cy + 196 * k, issuer_mark, 19 * k, palette.dark)


def microcredential_badge(
    c: Canvas, fonts: Fonts, entry: dict[str, Any], palette: Palette, mark: str
) -> None:
    hex_badge(
        c,
        fonts,
        name=entry["name"],
        slug=entry["slug"],
        palette=palette,
        label=credit_label(entry.get("credit", 0.5)),
        issuer_mark=mark,
    )


def stack_badge(c: Canvas, fonts: Fonts, entry: dict[str, Any], palette: Palette, mark: str) -> None:
    r, cy = 228.0, 270.0
    c.polygon(hexagon(256, cy - 24, r), fill=palette.tint, stroke=palette.main, width=3)
    c.polygon(hexagon(256, cy - 12, r), fill=palette.main)
    hex_badge(
        c,
        fonts,
        name=entry["name"],
        slug=entry["slug"],
        palette=palette,
        label="STACK",
        issuer_mark=mark,
        cy=cy,
        r=r,
    )


def bundle_badge(
    c: Canvas, fonts: Fonts, entry: dict[str, Any], stack_palettes: list[Palette], mark: str
) -> None:
    c.circle(256, 256, 246, fill=GOLD.dark)
    c.circle(256, 256, 236, fill=GOLD.main)
    for k in range(36):
        a = math.radians(10 * k)
        c.circle(256 + 241 * math.cos(a), 256 + 241 * math.sin(a), 2.2, fill=GOLD.tint)
    c.circle(256, 256, 214, fill=GOLD.tint)
    c.circle(256, 256, 204, stroke=GOLD.main, width=2)
    colours = stack_palettes or [TEAL, INDIGO]
    n = len(colours)
    for i, pal in enumerate(colours):
        x = 256 + (i - (n - 1) / 2) * 82
        c.polygon(hexagon(x, 130, 44), fill=pal.main, stroke=pal.dark, width=4)
        c.polygon(hexagon(x, 130, 24), stroke=WHITE, width=5)
    lines, size = wrap(entry["name"], fonts, 300, (40, 36, 34, 32, 30, 28), max_height=130)
    text_block(c, lines, size, 256, 264, GOLD.ink)
    ribbon(c, 366, 170, "BUNDLE", NAVY_RIBBON)
    c.text(256, 446, mark, 19, GOLD.dark)


def issuer_badge(c: Canvas, fonts: Fonts, entry: dict[str, Any]) -> None:
    c.circle(256, 256, 246, fill=NAVY.dark)
    c.circle(256, 256, 226, fill=NAVY.tint)
    c.circle(256, 256, 214, stroke=NAVY.main, width=2)
    motif_honeycomb(c, 256, 132, 62, NAVY.main, NAVY.tint)
    c.text(256, 282, entry["slug"].upper(), 60, NAVY.dark)
    lines, size = wrap(entry["name"], fonts, 300, (28, 26, 24, 22))
    step = size * 1.18
    for i, line in enumerate(lines):
        c.text(256, 330 + i * step, line, size, NAVY.ink)


# --------------------------------------------------------------------------------------------------
# Driver


def both(fonts: Fonts, title: str, description: str, draw: Callable[[Canvas], None]) -> tuple[bytes, bytes]:
    svg = SvgCanvas(title, description)
    draw(svg)
    png = PngCanvas(fonts)
    draw(png)
    return svg.render(), png.render()


def write_pair(base: Path, image: str, svg: bytes, png: bytes) -> list[Path]:
    target = (base / image).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, data in ((".svg", svg), (".png", png)):
        path = target.with_suffix(suffix)
        path.write_bytes(data)
        written.append(path)
    return written


def build(catalog_path: Path, font: str | None = None) -> list[Path]:
    catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    base = catalog_path.parent
    fonts = Fonts(font)
    print(f"font: {fonts.description}")
    issuers = {i["slug"]: i for i in catalog.get("issuers", [])}
    stacks = catalog.get("stacks", [])
    stack_palette = {s["slug"]: STACK_PALETTES[i % len(STACK_PALETTES)] for i, s in enumerate(stacks)}
    mc_palette: dict[str, Palette] = {}
    for s in stacks:
        for slug in s.get("microcredentials", []):
            mc_palette.setdefault(slug, stack_palette[s["slug"]])

    def mark(entry: dict[str, Any]) -> str:
        return str(entry.get("issuer", "")).upper()

    def issuer_name(entry: dict[str, Any]) -> str:
        issuer = issuers.get(entry.get("issuer", ""), {})
        return str(issuer.get("name", entry.get("issuer", "")))

    written: list[Path] = []
    for issuer in issuers.values():
        svg, png = both(
            fonts,
            f"{issuer['name']} emblem",
            f"Emblem of {issuer['name']}.",
            functools.partial(issuer_badge, fonts=fonts, entry=issuer),
        )
        written += write_pair(base, issuer["image"], svg, png)
    for mc in catalog.get("microcredentials", []):
        palette = mc_palette.get(mc["slug"], NAVY)
        svg, png = both(
            fonts,
            f"{mc['name']} microcredential badge",
            f"Hexagonal badge for the {mc['name']} microcredential"
            f" ({credit_label(mc.get('credit', 0.5)).lower()}), issued by {issuer_name(mc)}.",
            functools.partial(microcredential_badge, fonts=fonts, entry=mc, palette=palette, mark=mark(mc)),
        )
        written += write_pair(base, mc["image"], svg, png)
    for st in stacks:
        palette = stack_palette[st["slug"]]
        svg, png = both(
            fonts,
            f"{st['name']} stack badge",
            f"Stacked hexagonal badge for the {st['name']} stack, issued by {issuer_name(st)}.",
            functools.partial(stack_badge, fonts=fonts, entry=st, palette=palette, mark=mark(st)),
        )
        written += write_pair(base, st["image"], svg, png)
    for bundle in catalog.get("bundles", []):
        palettes = [stack_palette[s] for s in bundle.get("stacks", []) if s in stack_palette]
        svg, png = both(
            fonts,
            f"{bundle['name']} bundle badge",
            f"Round gold-ringed badge for the {bundle['name']} bundle, issued by {issuer_name(bundle)}.",
            functools.partial(
                bundle_badge, fonts=fonts, entry=bundle, stack_palettes=palettes, mark=mark(bundle)
            ),
        )
        written += write_pair(base, bundle["image"], svg, png)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", nargs="?", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--font", help="TrueType font for the PNGs (default: DejaVu Sans Bold, searched for)")
    args = parser.parse_args(argv)
    if args.font and not Path(args.font).is_file():
        parser.error(f"font not found: {args.font}")
    written = build(args.catalog.resolve(), args.font)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
