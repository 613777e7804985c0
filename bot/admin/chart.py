"""Stacked bar charts as PNG bytes, in pure Python (zlib + struct), for /stats.

No plotting library: the bot draws rectangles on an RGB canvas and writes digits with a 3×5
pixel font; series names go in the photo caption next to their colour (see PALETTE's emoji).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

Color = tuple[int, int, int]

# (colour, the emoji square that stands for it in a caption legend)
PALETTE: tuple[tuple[Color, str], ...] = (
    ((52, 120, 198), "🟦"),
    ((214, 69, 65), "🟥"),
    ((76, 163, 84), "🟩"),
    ((236, 180, 40), "🟨"),
    ((142, 84, 179), "🟪"),
    ((240, 128, 40), "🟧"),
    ((130, 90, 60), "🟫"),
    ((40, 40, 40), "⬛"),
)
WHITE: Color = (255, 255, 255)
AXIS: Color = (90, 90, 90)
GRID: Color = (225, 225, 225)

_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", "-": "000000111000000", ".": "000000000000010",
    ":": "000010000010000", "/": "001001010100100", " ": "000000000000000",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


class Canvas:
    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill [x0, x1) × [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 2) -> None:
        for ch in text:
            glyph = _FONT.get(ch)
            if glyph is not None:
                for i, bit in enumerate(glyph):
                    if bit == "1":
                        px, py = x + (i % 3) * scale, y + (i // 3) * scale
                        self.rect(px, py, px + scale, py + scale, color)
            x += 4 * scale

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 4 * scale


def stacked_bar_chart(
    labels: Sequence[str], series: Sequence[Series], *, width: int = 800, height: int = 400
) -> bytes:
    """PNG of one stacked bar per label; series i gets PALETTE[i % len(PALETTE)]."""
    n = len(labels)
    if any(len(s.values) != n for s in series):
        raise ValueError("every series needs one value per label")
    totals = [sum(max(s.values[i], 0) for s in series) for i in range(n)]
    top = max(totals, default=0) or 1
    canvas = Canvas(width, height)
    left, right, upper, lower = 8 + text_width(f"{top:g}"), 10, 24, 24
    plot_w, plot_h = width - left - right, height - upper - lower
    base = upper + plot_h
    for fraction in (0.5, 1.0):  # grid lines and their values
        y = base - round(plot_h * fraction)
        canvas.rect(left, y, left + plot_w, y + 1, GRID)
        canvas.text(4, y - 5, _number(top * fraction), AXIS)
    slot = plot_w / max(n, 1)
    bar = max(1, int(slot * 0.7))
    every = max(1, -(-text_width("00-00") // max(int(slot), 1)))  # skip labels that would overlap
    for i in range(n):
        x = left + int(i * slot + (slot - bar) / 2)
        y = base
        for k, s in enumerate(series):
            h = round(plot_h * max(s.values[i], 0) / top)
            canvas.rect(x, y - h, x + bar, y, PALETTE[k % len(PALETTE)][0])
            y -= h
        if totals[i] and text_width(_number(totals[i])) <= slot:
            value = _number(totals[i])
            canvas.text(x + (bar - text_width(value)) // 2, y - 14, value, AXIS)
        if i % every == 0:
            label = labels[i][: max(1, int(slot * every) // 8)]
            canvas.text(x + (bar - text_width(label)) // 2, base + 8, label, AXIS)
    canvas.rect(left, base, left + plot_w, base + 1, AXIS)
    canvas.rect(left, upper, left + 1, base, AXIS)
    return canvas.png()


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def legend(series: Sequence[Series]) -> str:
    """Caption lines "🟦 name" in the same colour order as the chart."""
    return "\n".join(f"{PALETTE[k % len(PALETTE)][1]} {s.name}" for k, s in enumerate(series))
