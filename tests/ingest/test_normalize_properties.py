"""Property tests of text cleaning and entry normalization on hostile input (hypothesis).

Whatever a feed sends — broken or doubly escaped markup, control characters, astral
characters, absurd dates, junk links — normalization never raises, yields one-line titles
and plain text without control characters or leftover tags, respects its length bounds, and
is stable: the same entry gives the same key, and cleaning clean text changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.lead import extract_lead
from bot.ingest.normalize import (
    FUTURE_TOLERANCE,
    LEAD_MAX,
    OLDEST_PLAUSIBLE,
    SUMMARY_MAX,
    TITLE_MAX,
    normalize_entry,
)
from bot.ingest.textclean import one_line, plain_text, truncate_words
from bot.ingest.urlcanon import canonical_url

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEED = "https://feed.example/rss"

MARKUP = st.sampled_from(
    [
        "<p>", "</p>", "<br/>", "<b>", "</b>", "<i", "<a href='x'>", "</a>", "<script>", "</script>",
        "<style>p{}</style>", "<!--", "-->", "<![CDATA[", "]]>", "<?xml?>", "<!DOCTYPE x>",
        "&amp;", "&lt;", "&gt;", "&amp;lt;b&amp;gt;", "&lt;p&gt;", "&nbsp;", "&#0;", "&#1;",
        "&#x85;", "&#xD800;", "&#1114112;", "&bogus;", "&", "<", ">", "a < b", "x<5",
        "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u00ad", "\u200b", "\ufeff", "\ufffe",
        "\r\n", "\r", "\t", "\u2028", "\u2029", "\v", "\f", " ", "\n\n",
        "🇹🇯", "👨‍👩‍👧", "𝕏", "e\u0301", "ДУШАНБЕ, 21.02.2025 /НИАТ «Ховар»/. ", "Текст.", "Mr. X",
    ]
)  # fmt: skip
TEXT_CHAR = st.characters(exclude_categories=("Cs",))
HOSTILE = st.lists(st.one_of(MARKUP, st.text(TEXT_CHAR, min_size=1, max_size=5)), max_size=40).map(
    "".join
)
LONG = st.tuples(
    st.one_of(MARKUP, st.text(TEXT_CHAR, min_size=1, max_size=3)), st.integers(50, 3000)
)
HOSTILE_OR_LONG = st.one_of(HOSTILE, HOSTILE, LONG.map(lambda pair: pair[0] * pair[1]))
# Telegram would show these as boxes or reorder nothing visible: none may survive cleaning
_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u200b\ufeff\ufffe\r\u2028\u2029]")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")


def assert_clean(text: str, *, newlines: bool) -> None:
    assert not _FORBIDDEN.search(text), repr(text)
    assert text == text.strip()
    assert "  " not in text and "\n\n" not in text and " \n" not in text and "\n " not in text
    if not newlines:
        assert "\n" not in text
    # category Cc is exactly the control characters; only "\n" may stay
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in text)


@given(HOSTILE_OR_LONG)
def test_plain_text_is_clean_and_clean_text_is_a_fixed_point(html_text):
    text = plain_text(html_text)
    assert_clean(text, newlines=True)
    if "&" not in text and "<" not in text:
        assert plain_text(text) == text
    assert one_line(text) == one_line(one_line(text))
    assert_clean(one_line(text), newlines=False)


@given(HOSTILE)
def test_escaped_markup_never_reaches_the_reader_as_a_tag(html_text):
    # a tag in the source, or escaped once (the common double-escaping of feeds), is removed
    assert not _TAG.search(plain_text(html_text.replace("&amp;", "")))


@given(HOSTILE_OR_LONG, st.integers(1, 400))
def test_truncate_words_is_bounded_and_idempotent(text, limit):
    cut = truncate_words(text, limit)
    assert len(cut) <= limit
    assert truncate_words(cut, limit) == cut
    if len(text) <= limit:
        assert cut == text
    else:
        assert cut.endswith("…")


@given(HOSTILE_OR_LONG)
def test_lead_is_bounded_and_one_paragraph(text):
    lead = extract_lead(plain_text(text), LEAD_MAX)
    assert len(lead) <= LEAD_MAX
    assert "\n" not in lead


URLS = st.one_of(
    st.sampled_from(
        [
            "https://Example.ORG:443/a b?utm_source=x&id=1#frag",
            "HTTP://example.org./x/../y",
            "/relative?x=1&&y=2",
            "javascript:alert(1)",
            "mailto:a@b",
            "https://[::1]:8080/x",
            "https://user:pw@host.example/p",
            "https://host:99999/x",
            "https://",
            "//cdn.example/x",
            "https://пример.рф/путь?q=ключ",
            "https://e.org/%7Euser/%zz",
            " https://e.org/ \n",
        ]
    ),
    st.text(TEXT_CHAR, max_size=30).map(lambda s: "https://e.org/" + s),
    st.text(TEXT_CHAR, max_size=30),
)


@given(URLS)
def test_canonical_url_is_http_and_a_fixed_point(url):
    # dedup stores the canonical spelling: canonicalizing it again must not change it
    canon = canonical_url(url, FEED)
    if canon is not None:
        assert urlsplit(canon).scheme in ("http", "https")
        assert canonical_url(canon) == canon
        assert canonical_url(canon, FEED) == canon


def _struct(values):
    return (*values, 0, 1, -1)


DATES = st.one_of(
    st.none(),
    st.tuples(
        st.integers(-5, 10000),
        st.integers(-1, 13),
        st.integers(-1, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ).map(_struct),
    st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(lambda d: _struct(d.timetuple()[:6])),
    st.just("garbage"),
    st.just(()),
)


@st.composite
def entries(draw) -> dict:
    entry: dict = {}
    for name, strategy in (
        ("title", HOSTILE_OR_LONG),
        ("summary", HOSTILE_OR_LONG),
        ("link", URLS),
        ("id", st.one_of(st.text(TEXT_CHAR, max_size=300), st.just(FEED), st.just("0"))),
        ("published", st.text(TEXT_CHAR, max_size=20)),
    ):
        if draw(st.booleans()):
            entry[name] = draw(strategy)
    for name in ("published_parsed", "updated_parsed"):
        if draw(st.booleans()):
            entry[name] = draw(DATES)
    if draw(st.booleans()):
        entry["content"] = [{"value": draw(HOSTILE_OR_LONG), "base": draw(URLS)}]
    if draw(st.booleans()):
        entry["enclosures"] = [
            {"href": draw(URLS), "type": draw(st.sampled_from(["image/png", "", "audio/mp3"]))}
        ]
    return entry


@given(st.lists(entries(), max_size=6))
def test_normalize_entry_never_raises_and_respects_bounds(batch):
    seen: set[str] = set()
    keys = []
    for entry in batch:
        draft = normalize_entry(entry, feed_url=FEED, source="Src", now=NOW, seen_keys=seen)
        again = normalize_entry(entry, feed_url=FEED, source="Src", now=NOW)
        if draft is None:
            assert again is None
            continue
        keys.append(draft.key)
        assert len(draft.title) <= TITLE_MAX and draft.title
        assert_clean(draft.title, newlines=False)
        assert len(draft.summary) <= SUMMARY_MAX
        assert_clean(draft.summary, newlines=True)
        assert len(draft.lead) <= LEAD_MAX and "\n" not in draft.lead
        assert draft.url is None or urlsplit(draft.url).scheme in ("http", "https")
        assert draft.image_url is None or urlsplit(draft.image_url).scheme in ("http", "https")
        assert OLDEST_PLAUSIBLE <= draft.published_at <= NOW + FUTURE_TOLERANCE
        assert draft.published_at.tzinfo is not None
        # the same entry normalized again (a re-poll) gets the same draft
        assert again is not None and (again.title, again.url, again.published_at) == (
            draft.title,
            draft.url,
            draft.published_at,
        )
    assert len(keys) == len(set(keys)), "keys are unique within one batch"
    # a re-poll of the same feed gives the same keys: nothing is delivered twice
    seen_again: set[str] = set()
    repoll = [
        d.key
        for e in batch
        if (d := normalize_entry(e, feed_url=FEED, source="Src", now=NOW, seen_keys=seen_again))
    ]
    assert repoll == keys
