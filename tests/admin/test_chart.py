"""The pure-Python PNG bar chart: a valid PNG (chunks, CRCs, size) that shows its bars."""

from __future__ import annotations

import struct
import zlib

import pytest

from bot.admin.chart import PALETTE, Canvas, Series, legend, stacked_bar_chart


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB pixels) of an 8-bit RGB PNG with filter 0 rows; checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2)
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = width * 3 + 1
    assert len(raw) == stride * height
    assert all(raw[y * stride] == 0 for y in range(height))
    pixels = b"".join(raw[y * stride + 1 : (y + 1) * stride] for y in range(height))
    return width, height, pixels


def colors(pixels: bytes) -> set[tuple[int, int, int]]:
    return {tuple(pixels[i : i + 3]) for i in range(0, len(pixels), 3)}


def test_stacked_chart_draws_each_series_colour():
    png = stacked_bar_chart(
        ["03-01", "03-02", "03-03"],
        [Series("cis", [5, 0, 12]), Series("un", [1, 2, 3])],
        width=300,
        height=200,
    )
    width, height, pixels = decode_png(png)
    assert (width, height) == (300, 200)
    found = colors(pixels)
    assert PALETTE[0][0] in found and PALETTE[1][0] in found
    assert PALETTE[2][0] not in found


@pytest.mark.parametrize("labels", [[], ["x"], [f"{d:02d}" for d in range(60)]])
def test_degenerate_and_dense_inputs_still_render(labels):
    png = stacked_bar_chart(labels, [Series("a", [0] * len(labels))], width=200, height=100)
    assert decode_png(png)[:2] == (200, 100)


def test_series_length_must_match_labels():
    with pytest.raises(ValueError):
        stacked_bar_chart(["a", "b"], [Series("x", [1])])


def test_canvas_clips_rectangles_and_legend_matches_palette():
    canvas = Canvas(4, 4)
    canvas.rect(-5, -5, 2, 2, (1, 2, 3))
    _, _, pixels = decode_png(canvas.png())
    assert pixels[:3] == bytes((1, 2, 3)) and pixels[3 * 3 : 3 * 4] == b"\xff\xff\xff"
    assert legend([Series("cis", []), Series("un", [])]) == "🟦 cis\n🟥 un"
