"""Rendering: escaping, truncation, emoji, the 4096 limit and splitting between items."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.digests.render import (
    TELEGRAM_LIMIT,
    CountryNames,
    Labels,
    render_digest,
    shorten,
    telegram_length,
)
from bot.digests.selection import DigestFilter, select_digest
from bot.digests.slots import zone_for
from bot.domain import Article
from tests.support.fakebotapi_objects import check_text

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ZONE = zone_for("Europe/Moscow")
RU = Labels("ru", {"un": "ООН", "cis": "СНГ"}, {"tj": "Таджикистан", "by": "Беларусь"})
EN = Labels("en", {"un": "UN", "cis": "CIS"}, {"tj": "Tajikistan"})
ALLOWED_TAGS = {"b", "i", "a", "code"}


def art(
    n: int,
    *,
    title=None,
    lead=None,
    topics=("un",),
    countries=("tj",),
    url=None,
    source="BelTA",
    cluster=None,
) -> Article:
    return Article(
        id=n,
        feed_id=1,
        key=f"k{n}",
        url=url or f"https://example.org/{n}?a=1&b=2",
        title=title or f"Заголовок {n}",
        summary="",
        lead=lead if lead is not None else f"Лид {n}.",
        image_url=None,
        source=source,
        published_at=NOW - timedelta(minutes=n),
        fetched_at=NOW,
        backfill=False,
        topics=topics,
        countries=countries,
        cluster_id=cluster,
    )


def render(articles, labels=RU, **kw):
    digest = select_digest(
        articles, DigestFilter((), ()), after_id=0, topic_order=("cis", "un"), **kw
    )
    return render_digest(digest, labels=labels, zone=ZONE, now=NOW)


class TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED_TAGS, tag
        if tag == "a":
            assert [k for k, _ in attrs] == ["href"]
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag


def check_html(part: str) -> None:
    checker = TagChecker()
    checker.feed(part)
    checker.close()
    assert checker.stack == []
    assert len(part) <= TELEGRAM_LIMIT and telegram_length(part) <= TELEGRAM_LIMIT


def test_basic_item_layout():
    [part] = render(
        [
            art(1),
            art(2, topics=("cis",), cluster=3),
            art(3, source="Kabar", cluster=3, topics=("cis",), countries=("by", "xx")),
        ]
    )
    check_html(part)
    assert part.startswith("📰 <b>Дайджест</b> · 01.06.2025")
    assert part.index("<b>СНГ</b>") < part.index("<b>ООН</b>")
    assert '<a href="https://example.org/1?a=1&amp;b=2">Заголовок 1</a>' in part
    assert "<i>BelTA · 14:59 · Таджикистан</i>" in part  # Moscow local time
    assert "Беларусь, XX" in part  # unknown country: its code
    assert "<i>также: BelTA</i>" in part  # article 3 (Kabar) is the first report of cluster 3
    check_html(render([art(1)], labels=EN)[0])
    assert "📰 <b>Digest</b>" in render([art(1)], labels=EN)[0]


def test_external_strings_are_escaped():
    evil = '<script>alert("x")</script> & <b>bold</b>'
    [part] = render(
        [art(1, title=evil, lead=evil, source="<i>Src</i>", url='https://e.org/"><script>')]
    )
    check_html(part)
    assert "<script>" not in part and "&lt;script&gt;" in part
    assert "&lt;i&gt;Src&lt;/i&gt;" in part
    assert 'href="https://e.org/&quot;&gt;&lt;script&gt;"' in part


def test_non_http_url_is_not_linked():
    [part] = render([art(1, url="javascript:alert(1)")])
    assert "<a " not in part


def test_long_lead_truncated_at_word_boundary():
    lead = ("слово " * 1000).strip()  # ~6000 chars
    [part] = render([art(1, lead=lead)])
    check_html(part)
    line = next(x for x in part.split("\n") if x.startswith("слово"))
    assert line.endswith("слово…") and len(line) <= 300


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("one two three four", 10, "one two…"),
        ("abcdefghijklmnop", 10, "abcdefghi…"),
        ("  spaced \n  out  ", 20, "spaced out"),
        ("aaaa 👍🏽👍🏽👍🏽👍🏽", 8, "aaaa 👍🏽…"),
    ],
)
def test_shorten(text, limit, expected):
    assert shorten(text, limit) == expected


def test_emoji_counted_in_utf16():
    assert telegram_length("<b>👍</b> &amp;") == 4  # surrogate pair = 2, space, &
    emoji_title = "🇹🇯" * 140
    parts = render([art(n, title=emoji_title, lead="🙂" * 290) for n in range(1, 40)])
    assert len(parts) > 1
    for part in parts:
        check_html(part)
        assert "\ud83c" not in part  # no lone surrogates in Python text


def test_many_items_split_between_items_only():
    articles = [
        art(n, lead="Длинный лид. " * 30, topics=("un",) if n % 3 else ("cis",))
        for n in range(1, 26)
    ]
    parts = render(articles)
    assert len(parts) >= 3
    items_seen = 0
    for part in parts:
        check_html(part)
        items_seen += part.count("▪️")
        # every item block is whole: title line, lead, meta line
        for block in re.split(r"\n\n", part):
            if block.startswith("▪️"):
                assert block.count("\n") >= 2
    assert items_seen == 25
    assert "(продолжение)" in "".join(parts[1:])


def test_cap_footer_and_empty_digest():
    parts = render([art(n) for n in range(1, 31)], cap=25)
    assert parts[-1].endswith("+5 ещё — /latest")
    assert render([]) == []


def test_country_names_adapter():
    names = CountryNames(lambda iso2, lang: {"tj": "Tajikistan"}[iso2], "en")
    assert names.get("tj") == "Tajikistan" and names.get("zz") is None
    digest = select_digest([art(1, countries=("tj", "zz"))], DigestFilter((), ()), after_id=0)
    [part] = render_digest(digest, labels=Labels("en", {}, names), zone=ZONE, now=NOW)
    assert "Tajikistan, ZZ" in part


def test_item_whose_escaping_outgrows_the_raw_limit_goes_alone():
    # found by the property tests: "&" in a 1.5k URL and quotes in the title escape to 5-6
    # characters each; such an item used to raise and stall the whole digest tick
    url = "https://example.org/1?" + "a=1&" * 369
    hostile = art(1, url=url, title='"' * 300, lead="&" * 300, source="&" * 60)
    parts = render([art(2), hostile, art(3)])
    assert sum(part.count("▪️") for part in parts) == 3
    big = [part for part in parts if len(part) > TELEGRAM_LIMIT]
    assert len(big) == 1 and big[0].count("▪️") == 1
    for part in parts:
        assert telegram_length(part) <= TELEGRAM_LIMIT
        assert check_text(part, "HTML") is None


@pytest.mark.parametrize(
    ("text", "fits_one_message"),
    [
        ("x" * 4096, True),
        ("x" * 4097, False),
        ("😀" * 2048, True),  # 4096 UTF-16 units
        ("😀" * 2049, False),  # 2049 characters, but 4098 units as Telegram counts them
        ("<b>" + "x" * 4089 + "</b>", True),  # 4096 characters of HTML
        ("<b>" + "x" * 4090 + "</b>", False),  # 4090 visible, but the HTML is kept ≤ 4096 too
        ("&amp;" * 1000, False),  # 1000 visible characters in 5000 of HTML
    ],
)
def test_fits_is_telegrams_limit_on_both_counts(text, fits_one_message):
    from bot.digests.render import fits

    assert fits(text) is fits_one_message
    if fits_one_message:
        assert check_text(text, "HTML") is None


def test_pack_uses_as_few_messages_as_fit():
    from bot.digests.render import pack

    blocks = [f"<b>{n}</b> " + "ы" * 990 for n in range(10)]  # ~1000 characters each
    parts = pack(blocks, "<b>Header</b>")
    # 999 characters of HTML a block: the header and four fit (4017), a fifth would not (5018)
    assert [p.count("ы" * 990) for p in parts] == [4, 4, 2]
    assert parts[0].startswith("<b>Header</b>\n\n<b>0</b>") and "Header" not in parts[1]
    assert all(check_text(p, "HTML") is None for p in parts)
    assert pack(blocks[:2], "H") == ["H\n\n" + blocks[0] + "\n\n" + blocks[1]]
