"""Pictures: the official result, the "I voted" card and the admins' statistics chart.

No Telegram here, and no gettext: the handlers pass every word already translated and every figure
already formatted, so a picture says exactly what its caption says (the caption carries the facts;
the picture is never their only carrier). Drawing is CPU work (Pillow): ``PictureService.png`` runs
it in a thread and keeps the result per key (the handlers' keys name the content version or the
day, and the language), and remembers Telegram's ``file_id`` of a picture once uploaded.

The font is DejaVu Sans, shipped in ``bot/assets/fonts`` with its licence: it carries the Kazakh
letters ә ғ қ ң ө ұ ү һ і, Cyrillic and Latin."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
CACHE_LIMIT = 256

INK = (33, 37, 41)
MUTED = (96, 104, 112)
TRACK = (228, 231, 235)
BAR = (58, 110, 165)  # one colour for every bar: no option is set apart
PAPER = (255, 255, 255)
CARD = (243, 246, 250)

Font = ImageFont.FreeTypeFont


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int, max_lines: int = 3) -> list[str]:
    """Words to lines no wider than ``width``; the last line is cut with "…" when too many."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if not current or draw.textlength(trial, font=face) <= width:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=face) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


# --- the official result ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str  # "Turnout", "«Yes, I accept»"
    share: float  # 0..1, the bar's length
    figure: str  # "73.12% · 9,127,192", as the caption says it


@dataclass(frozen=True)
class BarsPicture:
    title: str
    subtitle: str
    bars: Sequence[Bar]
    footer: str  # the source


RESULTS_SIZE = (1000, 560)


def draw_results(picture: BarsPicture) -> bytes:
    """Turnout and every option drawn exactly alike: the same row, bar, colour and figure style."""
    width, min_height = RESULTS_SIZE
    margin = 56
    inner = width - 2 * margin
    image = Image.new("RGB", (width, 300 + len(picture.bars) * 112 + 80), PAPER)  # cropped to fit below
    draw = ImageDraw.Draw(image)
    y = 40
    for line in _wrap(draw, picture.title, font(32, bold=True), inner, max_lines=2):
        draw.text((margin, y), line, font=font(32, bold=True), fill=INK)
        y += 42
    for line in _wrap(draw, picture.subtitle, font(22), inner, max_lines=2):
        draw.text((margin, y), line, font=font(22), fill=MUTED)
        y += 30
    y += 22
    label_font, figure_font = font(26, bold=True), font(24)
    for bar in picture.bars:
        figure_width = int(draw.textlength(bar.figure, font=figure_font))
        label = _wrap(draw, bar.label, label_font, inner - figure_width - 24, max_lines=1)[0]
        draw.text((margin, y), label, font=label_font, fill=INK)
        draw.text((width - margin - figure_width, y + 2), bar.figure, font=figure_font, fill=INK)
        y += 40
        draw.rounded_rectangle((margin, y, width - margin, y + 34), radius=8, fill=TRACK)
        filled = round(inner * min(max(bar.share, 0.0), 1.0))
        if filled > 0:
            draw.rounded_rectangle((margin, y, margin + max(filled, 16), y + 34), radius=8, fill=BAR)
        y += 72
    for line in _wrap(draw, picture.footer, font(18), inner, max_lines=2):
        draw.text((margin, y), line, font=font(18), fill=MUTED)
        y += 24
    return _png(image.crop((0, 0, width, max(min_height, y + 24))))


# --- "I voted" ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VotedCard:
    headline: str  # "I voted"
    title: str  # the campaign's title
    day: str  # "15 March 2026"
    place: str  # "Almaty"


CARD_SIZE = (1000, 560)
CARD_TEXT_LEFT = 400
HEADLINE_SIZES = (64, 56, 48, 42, 36)


def headline_layout(draw: ImageDraw.ImageDraw, text: str, width: int) -> tuple[int, list[str]]:
    """The largest headline size at which ``text`` fits ``width`` in at most two lines, no word cut
    ("Я проголосовал(а)" is one long word in Russian); the smallest size otherwise."""
    for size in HEADLINE_SIZES:
        face = font(size, bold=True)
        lines = _wrap(draw, text, face, width, max_lines=2)
        if all(draw.textlength(line, font=face) <= width for line in lines) and " ".join(lines) == " ".join(
            text.split()
        ):
            return size, lines
    size = HEADLINE_SIZES[-1]
    return size, _wrap(draw, text, font(size, bold=True), width, max_lines=2)


def draw_voted(card: VotedCard) -> bytes:
    """A neutral card to share: a ballot going into a box, the campaign and its voting day; no
    option, no mark on the ballot."""
    width, height = CARD_SIZE
    image = Image.new("RGB", (width, height), CARD)
    draw = ImageDraw.Draw(image)
    # the ballot box
    box = (84, 250, 344, 470)
    draw.rounded_rectangle(box, radius=14, fill=BAR)
    draw.rectangle((164, 242, 264, 258), fill=INK)  # the slot
    draw.rectangle((174, 150, 254, 250), fill=PAPER, outline=INK, width=4)  # a folded ballot, blank
    draw.line((186, 176, 242, 176), fill=TRACK, width=6)
    draw.line((186, 196, 242, 196), fill=TRACK, width=6)
    left, inner = CARD_TEXT_LEFT, width - CARD_TEXT_LEFT - 56
    y = 120
    size, lines = headline_layout(draw, card.headline, inner)
    for line in lines:
        draw.text((left, y), line, font=font(size, bold=True), fill=INK)
        y += round(size * 1.22)
    y += 14
    for line in _wrap(draw, card.title, font(28), inner, max_lines=4):
        draw.text((left, y), line, font=font(28), fill=INK)
        y += 38
    y += 14
    draw.text((left, y), f"{card.day} · {card.place}", font=font(26, bold=True), fill=MUTED)
    return _png(image)


# --- the admins' chart --------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    title: str  # "Subscribers", "Messages delivered per day"
    values: Sequence[int]
    peak: str  # "highest: 29", translated


@dataclass(frozen=True)
class Chart:
    title: str
    first_day: str  # labels under the first and last bar
    last_day: str
    series: Sequence[Series]  # one panel each, the same days


CHART_SIZE = (1000, 640)


def draw_chart(chart: Chart) -> bytes:
    width, height = CHART_SIZE
    margin = 56
    image = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(image)
    draw.text((margin, 28), chart.title, font=font(28, bold=True), fill=INK)
    panels = max(len(chart.series), 1)
    top = 86
    panel_height = (height - top - 20) // panels
    small = font(16)
    for index, series in enumerate(chart.series):
        y0 = top + index * panel_height
        peak = max(series.values, default=0)
        draw.text((margin, y0), series.title, font=font(20, bold=True), fill=INK)
        draw.text((width - margin, y0), series.peak, font=small, fill=MUTED, anchor="ra")
        plot_top, plot_bottom = y0 + 34, y0 + panel_height - 40
        draw.line((margin, plot_bottom, width - margin, plot_bottom), fill=MUTED, width=1)
        count = max(len(series.values), 1)
        step = (width - 2 * margin) / count
        for day, value in enumerate(series.values):
            if value <= 0 or peak <= 0:
                continue
            bar_height = max(2, round((plot_bottom - plot_top) * value / peak))
            x0 = margin + day * step + 2
            draw.rectangle((x0, plot_bottom - bar_height, x0 + step - 4, plot_bottom), fill=BAR)
        draw.text((margin, plot_bottom + 6), chart.first_day, font=small, fill=MUTED)
        draw.text((width - margin, plot_bottom + 6), chart.last_day, font=small, fill=MUTED, anchor="ra")
    return _png(image)


# --- drawing off the event loop, once per key ---------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """What to send: Telegram's ``file_id`` when this picture was uploaded before, else the PNG."""

    key: Hashable
    png: bytes
    caption: str = ""  # the caption it was drawn with (kept with it)
    file_id: str | None = None


class PictureService:
    """Draws in a worker thread and keeps each picture (and its ``file_id``) under its key. Keys
    name everything a picture depends on (content version or day, language), so an old key is
    simply never asked again; the cache is bounded and emptied when the content is reloaded."""

    def __init__(self) -> None:
        self._png: dict[Hashable, tuple[bytes, str]] = {}
        self._file_ids: dict[Hashable, str] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def clear(self, *_args: object) -> None:
        self._png.clear()
        self._file_ids.clear()

    def peek(self, key: Hashable) -> Picture | None:
        """The picture under ``key`` if it was drawn already."""
        drawn = self._png.get(key)
        return None if drawn is None else Picture(key, drawn[0], drawn[1], self._file_ids.get(key))

    async def get(self, key: Hashable, draw: Callable[[], bytes], caption: str = "") -> Picture:
        """The picture under ``key``, drawn in a worker thread the first time (with ``caption``)."""
        if key not in self._png:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:  # two residents asking at once: drawn once
                if key not in self._png:
                    png = await asyncio.to_thread(draw)
                    if len(self._png) >= CACHE_LIMIT:
                        self.clear()
                    self._png[key] = (png, caption)
            self._locks.pop(key, None)
        picture = self.peek(key)
        assert picture is not None
        return picture

    def uploaded(self, key: Hashable, file_id: str) -> None:
        """Telegram keeps the picture: send its ``file_id`` from now on."""
        if key in self._png:
            self._file_ids[key] = file_id

    def forget_upload(self, key: Hashable) -> None:
        self._file_ids.pop(key, None)
