"""A story told in Russian and English: shown once, in the chat's language when a telling in it
is there, with "also in English" / «также на русском» linking the other (compact and rich)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest import DigestFilter, DigestPool
from bot.render import Labels, fits, render_digest, render_rich_digest, rich_block_count
from storage.models import Article
from tests import fakebotapi_objects as obj

T0 = datetime(2025, 4, 3, 12, tzinfo=UTC)
LABELS = {"ru": Labels("ru", {"cis": "СНГ"}), "en": Labels("en", {"cis": "CIS"})}


def art(n: int, language: str | None, *, feed: int = 1, cluster: int | None = 1,
        topics=("cis",), source: str = "БЕЛТА", minutes: int = 0,
        url: str | None = None) -> Article:  # fmt: skip
    return Article(
        id=n, feed_id=feed, key=f"k{n}", url=url or f"https://belta.example/{language}/{n}",
        title=f"Title {n} {language}", summary="", lead=f"Lead {n}", image_url=None,
        source=source, published_at=T0 + timedelta(minutes=minutes or n), fetched_at=T0,
        backfill=False, topics=tuple(topics), countries=("by", "kz"), cluster_id=cluster,
        language=language,
    )  # fmt: skip


RU = art(1, "ru", feed=1, source="БЕЛТА")
EN = art(2, "en", feed=2, source="BelTA English")
RU_OTHER_AGENCY = art(3, "ru", feed=3, source="Казинформ")
EN_UNTAGGED = art(4, "en", feed=2, source="BelTA English", topics=())


def shown(articles, *, language, topics=("cis",), muted=frozenset(), after_id=0):
    pool = DigestPool(articles, ("cis",))
    filt = DigestFilter(tuple(topics), (), muted_feeds=frozenset(muted), language=language)
    digest = pool.select(filt, after_id=after_id)
    return [(i.article.id, i.also, tuple(v.id for v in i.versions)) for s in digest.sections
            for i in s.items]  # fmt: skip


@pytest.mark.parametrize(
    ("articles", "language", "muted", "after_id", "expected"),
    [
        ([RU, EN], "ru", (), 0, [(1, (), (2,))]),  # the Russian telling, English linked
        ([RU, EN], "en", (), 0, [(2, (), (1,))]),  # the English telling, Russian linked
        ([RU], "en", (), 0, [(1, (), ())]),  # no English telling: the Russian one, no link
        ([RU, EN], "en", {2}, 0, [(1, (), ())]),  # the English source is muted
        ([RU, EN], "en", (), 1, [(2, (), (1,))]),  # the Russian one delivered: still linked
        # the other agency's Russian telling is "also:", the English one a link
        ([RU, EN, RU_OTHER_AGENCY], "ru", (), 0, [(1, ("Казинформ",), (2,))]),
        ([RU, EN, RU_OTHER_AGENCY], "en", (), 0, [(2, (), (1,))]),
        # the English telling is untagged (other rules), the story matched in Russian: shown
        ([RU, EN_UNTAGGED], "en", (), 0, [(4, (), (1,))]),
        ([RU, EN], None, (), 0, [(1, (), (2,))]),  # no language: the first report
    ],
)
def test_one_story_in_the_chats_language(articles, language, muted, after_id, expected):
    assert shown(articles, language=language, muted=muted, after_id=after_id) == expected


def test_the_untagged_telling_is_filed_under_the_storys_topic():
    pool = DigestPool([RU, EN_UNTAGGED], ("cis",))
    digest = pool.select(DigestFilter(("cis",), (), language="en"), after_id=0)
    assert [s.topic for s in digest.sections] == ["cis"]


def test_stored_rows_without_a_language_keep_todays_behaviour():
    old_a, old_b = art(1, None, feed=1), art(2, None, feed=2, source="Kabar")
    assert shown([old_a, old_b], language="en") == [(1, ("Kabar",), ())]


def test_compact_digest_links_the_other_language_escaped():
    en = art(2, "en", feed=2, url="https://belta.example/en/2?a=1&b=<2>")
    pool = DigestPool([RU, en], ("cis",))
    for lang, phrase, link in (
        ("ru", "также на английском", "https://belta.example/en/2?a=1&amp;b=&lt;2&gt;"),
        ("en", "also in Russian", "https://belta.example/ru/1"),
    ):
        digest = pool.select(DigestFilter(("cis",), (), language=lang), after_id=0)
        (text,) = render_digest(digest, labels=LABELS[lang], zone=UTC, now=T0)
        assert text.count("▪️") == 1  # the story once
        assert f'<i><a href="{link}">{phrase}</a></i>' in text
        assert "<2>" not in text


def test_rich_digest_links_the_other_language():
    digest = DigestPool([RU, EN], ("cis",)).select(
        DigestFilter(("cis",), (), language="en"), after_id=0
    )
    rich = render_rich_digest(digest, labels=LABELS["en"], zone=UTC, now=T0)
    assert rich is not None and obj.check_rich({"html": rich}) is None
    assert rich.count("<details>") == 1
    assert '<p><i><a href="https://belta.example/ru/1">also in Russian</a></i></p>' in rich


def test_a_telling_without_a_web_link_names_its_source():
    en = art(2, "en", feed=2, source="BelTA <English>", url="ftp://belta.example/2")
    digest = DigestPool([RU, en], ("cis",)).select(
        DigestFilter(("cis",), (), language="ru"), after_id=0
    )
    (text,) = render_digest(digest, labels=LABELS["ru"], zone=UTC, now=T0)
    assert "<i>также на английском: BelTA &lt;English&gt;</i>" in text


def test_many_stories_with_long_links_stay_within_telegram_limits():
    long = "https://belta.example/" + "x" * 1400  # near URL_LIMIT: two of them per story
    articles = []
    for n in range(1, 81):
        articles.append(art(2 * n, "ru", feed=1, cluster=n, url=long + str(n)))
        articles.append(art(2 * n + 1, "en", feed=2, cluster=n, url=long + "e" + str(n)))
    pool = DigestPool(articles, ("cis",))
    digest = pool.select(DigestFilter(("cis",), (), language="ru"), after_id=0, cap=80)
    parts = render_digest(digest, labels=LABELS["ru"], zone=UTC, now=T0)
    assert len(parts) > 1 and all(fits(p) for p in parts)
    assert sum(p.count("▪️") for p in parts) == 80
    assert sum(p.count("также на английском") for p in parts) == 80
    rich = render_rich_digest(digest, labels=LABELS["ru"], zone=UTC, now=T0)
    assert rich is not None and obj.check_rich({"html": rich}) is None
    assert rich_block_count(rich) <= 500
