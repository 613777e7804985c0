"""Digest selection: topics any-of, countries, backfill, cursor, cluster dedupe, cap, sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digests.selection import DigestFilter, DigestPool, select_digest
from bot.domain import Article

T0 = datetime(2025, 6, 1, 6, tzinfo=UTC)
ORDER = ("human_rights", "cis", "un", "osce")


def art(
    n: int,
    *,
    topics=("un",),
    countries=(),
    cluster=None,
    source="BelTA",
    backfill=False,
    minutes=None,
) -> Article:
    return Article(
        id=n,
        feed_id=1,
        key=f"k{n}",
        url=f"https://example.org/{n}",
        title=f"Title {n}",
        summary="",
        lead=f"Lead {n}",
        image_url=None,
        source=source,
        published_at=T0 + timedelta(minutes=n if minutes is None else minutes),
        fetched_at=T0,
        backfill=backfill,
        topics=tuple(topics),
        countries=tuple(countries),
        cluster_id=cluster,
    )


def ids(digest) -> list[int]:
    return [i.article.id for s in digest.sections for i in s.items]


FILTER_ARTICLES = [
    art(1, topics=("un",), countries=("tj",)),
    art(2, topics=("cis", "un"), countries=("tj", "kg")),
    art(3, topics=("cis",), countries=("by",)),
    art(4, topics=("un",)),
    art(5, topics=()),
]


@pytest.mark.parametrize(
    ("topics", "countries", "expected"),
    [
        (("un",), (), [4, 2, 1]),
        (("cis",), (), [3, 2]),
        (("un", "cis"), (), [3, 2, 4, 1]),  # sections in catalog order: cis before un
        (("un", "cis"), ("tj",), [2, 1]),
        ((), ("by",), [3]),
        (("osce",), (), []),
        ((), (), [3, 2, 4, 1]),  # "all topics": every tagged article, not the untagged 5
    ],
)
def test_filters(topics, countries, expected):
    articles = [*FILTER_ARTICLES, art(6, topics=("un",), countries=("tj",), backfill=True)]
    digest = select_digest(articles, DigestFilter(topics, countries), after_id=0, topic_order=ORDER)
    assert ids(digest) == expected
    assert digest.empty == (not expected)


@pytest.mark.parametrize(("countries", "expected"), [((), [3, 2, 4, 1, 5]), (("tj",), [2, 1])])
def test_everything_from_my_sources_includes_untagged_articles_last(countries, expected):
    # 6: a feed's first poll, still not in a digest
    articles = [*FILTER_ARTICLES, art(6, topics=(), backfill=True)]
    filt = DigestFilter((), countries, everything=True)
    digest = select_digest(articles, filt, after_id=0, topic_order=ORDER)
    assert ids(digest) == expected
    assert (digest.sections[-1].topic is None) == (5 in expected)


def test_article_in_two_topics_appears_once_in_first_catalog_topic():
    digest = select_digest(
        [art(1, topics=("un", "human_rights"))],
        DigestFilter(("un", "human_rights"), ()),
        after_id=0,
        topic_order=ORDER,
    )
    assert [(s.topic, len(s.items)) for s in digest.sections] == [("human_rights", 1)]


def test_cursor_and_backfill():
    articles = [art(n) for n in range(1, 6)] + [art(6, backfill=True)]
    pool = DigestPool(articles, ORDER)
    assert ids(pool.select(DigestFilter(("un",), ()), after_id=3)) == [5, 4]
    assert pool.max_id == 6  # the cursor moves past backfill items too
    assert pool.select(DigestFilter(("un",), ()), after_id=6).empty


def test_cluster_appears_once_with_also():
    articles = [
        art(1, cluster=7, source="Khovar", minutes=10),
        art(2, cluster=7, source="BelTA", minutes=5),  # first report
        art(3, cluster=7, source="Kabar", minutes=20, topics=("cis",)),  # same story, other tag
        art(4, cluster=7, source="BelTA", minutes=30),
        art(5, source="UN News", minutes=1),
        art(6, cluster=8, source="OSCE", minutes=2),
    ]
    digest = select_digest(articles, DigestFilter(("un",), ()), after_id=0, topic_order=ORDER)
    items = [i for s in digest.sections for i in s.items]
    assert [i.article.id for i in items] == [2, 6, 5]
    assert items[0].also == ("Khovar", "Kabar")
    assert items[1].also == () and items[2].also == ()


def test_cluster_members_already_delivered_are_not_listed():
    articles = [art(1, cluster=7, source="Khovar"), art(2, cluster=7, source="Kabar")]
    digest = select_digest(articles, DigestFilter(("un",), ()), after_id=1)
    [item] = [i for s in digest.sections for i in s.items]
    assert item.article.id == 2 and item.also == ()


def test_cap_keeps_newest_and_counts_the_rest():
    articles = [art(n, topics=("un",) if n % 2 else ("cis",)) for n in range(1, 41)]
    digest = select_digest(
        articles, DigestFilter(("un", "cis"), ()), after_id=0, topic_order=ORDER, cap=25
    )
    assert digest.shown == 25 and digest.more == 15
    assert set(ids(digest)) == set(range(16, 41))
    assert [s.topic for s in digest.sections] == ["cis", "un"]
    for section in digest.sections:
        times = [i.article.published_at for i in section.items]
        assert times == sorted(times, reverse=True)
    assert digest.top.article.id == 40


def test_latest_ignores_cursor():
    pool = DigestPool([art(n) for n in range(1, 30)], ORDER)
    assert ids(pool.latest(DigestFilter(("un",), ()), limit=10)) == list(range(29, 19, -1))


def test_unknown_topics_sort_after_catalog_ones():
    articles = [art(1, topics=("zeta",)), art(2, topics=("alpha",)), art(3, topics=("osce",))]
    digest = select_digest(articles, DigestFilter((), ()), after_id=0, topic_order=ORDER)
    assert [s.topic for s in digest.sections] == ["osce", "alpha", "zeta"]


@pytest.mark.parametrize(
    ("topics", "order", "section"),
    [
        (("un", "cis"), ("un", "cis"), "un"),  # the catalogue's order, not the alphabet
        (("cis", "un"), ("un", "cis"), "un"),  # nor the article's own order
        (("zz", "un"), ("cis", "un"), "un"),  # a topic in the catalogue before one that is not
        (("zz", "aa"), ("un",), "aa"),  # among topics outside it: alphabetical
    ],
)
def test_a_story_in_several_topics_is_shown_once_in_the_first_topics_section(topics, order,
                                                                               section):  # fmt: skip
    digest = select_digest([art(1, topics=topics)], DigestFilter((), ()), after_id=0,
                           topic_order=order)  # fmt: skip
    assert [(s.topic, len(s.items)) for s in digest.sections] == [(section, 1)]


def test_select_digest_keeps_the_cap_it_is_given():
    articles = [art(n) for n in range(1, 8)]
    digest = select_digest(articles, DigestFilter((), ()), after_id=0, cap=3)
    assert digest.shown == 3 and digest.more == 4
