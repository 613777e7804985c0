"""Property tests of digest selection + rendering on hostile stories (hypothesis).

For any list of stories — titles, leads and source names full of &, <, >, quotes, emoji,
astral characters, very long strings, many sources, many countries — every message part:
fits Telegram's 4096 limit (visible text after HTML parsing, in UTF-16 units, counted here
independently of bot.digests.render), is HTML the Bot API accepts (only allowed tags, balanced,
entities escaped), is cut only between items, and across the parts every selected story
appears exactly once while the stories left out by the cap are counted in the "+N" line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from bot.digests.render import TELEGRAM_LIMIT, Labels, render_digest
from bot.digests.selection import DigestFilter, select_digest
from bot.digests.slots import zone_for
from bot.domain import Article
from bot.ingest.urlcanon import canonical_url
from tests.support.fakebotapi_objects import check_text

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
TOPICS = ("un", "cis", "sco")
LABELS = {
    "ru": Labels("ru", {"un": "ООН", "cis": "СНГ & Co"}, {"tj": "Таджикистан"}),
    "en": Labels("en", {"un": "UN <United>"}, {}),
}
OUR_TAGS = {"b", "i", "a"}

# Pieces that break naive code: markup, entities (real and fake), surrogate-pair emoji and
# flags, ZWJ sequences, variation selectors, combining marks, RTL, non-BMP letters.
HOSTILE = st.sampled_from(
    [
        "&", "<", ">", '"', "'", "&amp;", "&lt;b&gt;", "<b>", "</i>", "<a href='x'>", "&#0;",
        "&#x1F600;", "&nbsp;", ";", " ", "  ", "\n", "\t", "🇹🇯", "👍🏽", "👨‍👩‍👧", "\u200d",
        "\ufe0f", "e\u0301", "\u202e", "𝕏", "𐍈", "\U0001f600", "…", "—", "Ж", "a", "ю",
    ]
)  # fmt: skip
COUNTRIES = st.sampled_from(
    ["tj", "by", "kz", "ru", "xx", "us", "cn", "in", "fr", "de", "uz", "kg"]
)
TEXT_CHAR = st.characters(exclude_categories=("Cs",))  # lone surrogates cannot reach us


def hostile_text(max_pieces: int) -> st.SearchStrategy[str]:
    piece = st.one_of(HOSTILE, st.text(TEXT_CHAR, min_size=1, max_size=4))
    short = st.lists(piece, max_size=max_pieces).map("".join)
    # a repeated piece makes long strings cheaply: 2000 "&" or 700 flags
    long = st.tuples(piece, st.integers(100, 2000)).map(lambda pair: pair[0] * pair[1])
    return st.one_of(short, short, long)


@st.composite
def story_lists(draw) -> list[Article]:
    count = draw(st.integers(1, 40))
    articles = []
    for n in range(1, count + 1):
        # stored URLs went through canonical_url: "&" and "'" survive, the rest is %-encoded
        url = canonical_url(
            f"https://example.org/{n}"
            + draw(
                st.one_of(
                    st.just(""),
                    hostile_text(6).map(lambda query: "?q=" + query),
                    st.integers(1, 369).map(lambda k: "?" + "a=1&" * k),  # up to URL_LIMIT
                )
            )
        )
        articles.append(
            Article(
                id=n,
                feed_id=1,
                key=f"k{n}",
                url=url,
                title=draw(hostile_text(30)),
                summary="",
                lead=draw(hostile_text(40)),
                image_url=None,
                source=draw(hostile_text(8)),
                published_at=NOW - timedelta(minutes=draw(st.integers(0, 5000))),
                fetched_at=NOW,
                backfill=False,
                topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
                countries=tuple(draw(st.lists(COUNTRIES, max_size=12, unique=True))),
                cluster_id=draw(st.one_of(st.none(), st.integers(1, 6))),
            )
        )
    return articles


class _Parts(HTMLParser):
    """Our own reading of a part: tags in use, visible text, and the links (one per item)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in OUR_TAGS, tag
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
            self.hrefs.append(dict(attrs)["href"])
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data):
        self.text.append(data)


def read(fragment: str) -> _Parts:
    parser = _Parts()
    parser.feed(fragment)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def story_of(article: Article) -> tuple:
    return ("c", article.cluster_id) if article.cluster_id is not None else ("a", article.id)


@given(
    articles=story_lists(),
    lang=st.sampled_from(sorted(LABELS)),
    zone=st.sampled_from(["Europe/Moscow", "Asia/Dushanbe", "UTC", "America/St_Johns"]),
    cap=st.integers(1, 30),
    # digest titles are ours ("Latest news"): one line, but escaped like anything else
    title=st.one_of(
        st.none(), st.lists(HOSTILE, max_size=8).map(" ".join).map(str.split).map(" ".join)
    ),
)
def test_every_part_fits_parses_and_loses_no_story(articles, lang, zone, cap, title):
    digest = select_digest(
        articles,
        DigestFilter((), (), everything=True),
        after_id=0,
        topic_order=("cis", "un"),
        cap=cap,
    )
    parts = render_digest(digest, labels=LABELS[lang], zone=zone_for(zone), now=NOW, title=title)
    assert parts, "a digest with stories renders at least one message"
    hrefs: list[str] = []
    for part in parts:
        assert check_text(part, "HTML") is None, check_text(part, "HTML")
        parsed = read(part)
        assert utf16_units("".join(parsed.text)) <= TELEGRAM_LIMIT
        # the raw HTML fits too, but for one item whose escaping alone outgrows it
        assert len(part) <= TELEGRAM_LIMIT or part.count("▪️ <b>") == 1
        hrefs += parsed.hrefs
        # cut only between items: each block between blank lines is whole markup, and an
        # item block always carries its title line and its meta line
        for block in part.split("\n\n"):
            read(block)
            if block.startswith("▪️"):
                lines = block.split("\n")
                assert lines[0].startswith("▪️ <b>") and lines[0].endswith("</b>")
                assert lines[-1].startswith("<i>") and lines[-1].endswith("</i>")
    items = sum(part.count("▪️ <b>") for part in parts)
    stories = {story_of(a) for a in articles}
    assert items == digest.shown == min(cap, len(stories))
    assert digest.shown + digest.more == len(stories)
    # every shown story is linked once (the long-URL stories may go unlinked, never twice)
    shown_ids = [
        int(m.group(1)) for h in hrefs if (m := re.match(r"https://example\.org/(\d+)", h))
    ]
    assert len(shown_ids) == len(set(shown_ids))
    by_id = {a.id: a for a in articles}
    assert len({story_of(by_id[i]) for i in shown_ids}) == len(shown_ids)
    footers = [p for p in parts if re.search(r"\+\d+ (ещё|more) — /latest$", p)]
    if digest.more:
        assert footers == [parts[-1]]
        assert parts[-1].endswith(f"+{digest.more} {'ещё' if lang == 'ru' else 'more'} — /latest")
    else:
        assert footers == []
