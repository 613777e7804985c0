"""OPML import/export: nested outlines, titles kept, bad URLs skipped, unsafe or broken XML refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.ingest.opml import (
    MAX_OPML_BYTES,
    MAX_OUTLINES,
    ExportFeed,
    OpmlError,
    build_opml,
    parse_opml,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by another reader -->
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="Agencies">
    <outline type="rss" text="Ховар" title="Khovar (custom)" xmlUrl="https://khovar.tj/rus/feed/"/>
    <outline type="rss" text="BelTA" xmlURL="https://www.belta.by/rss"/>
  </outline>
  <outline type="rss" text="dup" xmlUrl="https://khovar.tj/rus/feed/"/>
  <outline type="rss" text="local" xmlUrl="file:///etc/passwd"/>
  <outline type="rss" text="[CDATA] ok"><![CDATA[ignored]]></outline>
</body></opml>
""".encode()


def test_parse_flattens_categories_keeps_titles_and_skips_bad_urls():
    result = parse_opml(GOOD)
    assert [(f.url, f.title) for f in result.feeds] == [
        ("https://khovar.tj/rus/feed/", "Khovar (custom)"),
        ("https://www.belta.by/rss", "BelTA"),
    ]
    assert len(result.skipped) == 1 and result.skipped[0][0] == "file:///etc/passwd"
    assert "scheme" in result.skipped[0][1]


def test_windows_1251_and_utf16_files_decode():
    cp = '<?xml version="1.0" encoding="windows-1251"?><opml><body><outline title="Кабар" xmlUrl="http://kabar.kg/rss"/></body></opml>'
    assert parse_opml(cp.encode("cp1251")).feeds[0].title == "Кабар"
    u16 = '<?xml version="1.0" encoding="UTF-16"?><opml><body><outline text="ООН" xmlUrl="http://un.org/rss"/></body></opml>'
    assert parse_opml(u16.encode("utf-16")).feeds[0].title == "ООН"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<opml><body><outline title="&lol2;" xmlUrl="http://a/"/></body></opml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<opml><body><outline title="&x;" xmlUrl="http://a/"/></body></opml>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (BILLION_LAUGHS, "DOCTYPE"),
        (XXE, "DOCTYPE"),
        ("<!doctype opml><opml/>".encode("utf-16"), "DOCTYPE"),
        (b"<opml><body><outline xmlUrl='http://a/'></body>", "not well-formed"),
        (b"<rss><channel/></rss>", "not an OPML"),
        (b"<opml><body><outline text='only a category'/></body></opml>", "no feeds"),
        (b"<opml>" + b" " * MAX_OPML_BYTES + b"</opml>", "larger than"),
        (b"\x00<\x00o\x00p\x00m\x00l\x00/\x00>", "encoding"),
    ],
)
def test_refusals(data, reason):
    with pytest.raises(OpmlError, match=reason):
        parse_opml(data)


def test_export_round_trips_custom_titles():
    feeds = [
        ExportFeed("https://khovar.tj/rus/feed/", "Khovar & Co", "https://khovar.tj/"),
        ExportFeed("https://www.belta.by/rss", 'BelTA "RU"'),
    ]
    data = build_opml(feeds, title="diplodigest", now=NOW)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"Sat, 01 Mar 2025 12:00:00" in data
    back = parse_opml(data)
    assert [(f.url, f.title) for f in back.feeds] == [(f.url, f.title) for f in feeds]


def _outlines(n: int, categories: int = 0) -> bytes:
    cats = "".join(f"<outline text='category {i}'/>" for i in range(categories))
    feeds = "".join(
        f"<outline text='f{i}' xmlUrl='https://feeds{i}.example/rss'/>"
        for i in range(n - categories)
    )
    return f"<opml version='2.0'><head><title>t</title></head><body>{cats}{feeds}</body></opml>".encode()


def test_exactly_max_outlines_are_accepted_categories_included():
    assert len(parse_opml(_outlines(MAX_OUTLINES)).feeds) == MAX_OUTLINES
    assert len(parse_opml(_outlines(MAX_OUTLINES, categories=10)).feeds) == MAX_OUTLINES - 10


def test_one_outline_over_the_limit_is_refused_with_counts():
    with pytest.raises(OpmlError) as caught:
        parse_opml(_outlines(MAX_OUTLINES + 1, categories=1))
    assert str(caught.value) == (
        f"{MAX_OUTLINES + 1} outlines, more than the limit of {MAX_OUTLINES}: "
        "split the file and import the parts one by one"
    )
