"""Property test of digest selection against a straightforward reference (hypothesis).

`DigestPool.select` takes shortcuts to serve thousands of chats from one pool (indexes built
once, a walk that stops once the cap is filled, a count of the stories left out without
listing them). The reference below takes none: it tests every article of the pool against the
chat's filters, forms the stories, sorts them all and cuts at the cap. Over random pools and
chats — publication times that tie, ids out of publication order, stories in several
languages, muted sources, keyword rules, backfill, first digests (`since`) — both must give
the same digest, item for item, and the same count of stories left out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digests.selection import (
    Digest,
    DigestFilter,
    DigestItem,
    DigestPool,
    RuleRef,
    _set_bits,
)
from bot.domain import Article

T0 = datetime(2025, 6, 1, 6, tzinfo=UTC)
TOPICS = ("un", "cis", "sco", "osce")
COUNTRIES = ("tj", "kz", "by")
LANGUAGES = (None, "ru", "en")
RULES = (RuleRef(1, "газ"), RuleRef(2, "visa"), RuleRef(3, "flood"))


def _key(article: Article) -> tuple:
    return (article.published_at, article.id)


def reference(
    pool: DigestPool, filt: DigestFilter, *, after_id: int, cap: int, since: datetime | None
) -> Digest:
    """The digest as the selection rules state it, computed the long way."""

    def wanted(a: Article) -> bool:
        if since is None:
            return a.id > after_id
        return (a.id > after_id and not a.backfill) or a.published_at >= since

    def visible(a: Article) -> bool:
        return a.feed_id not in filt.muted_feeds and wanted(a)

    def by_filters(a: Article) -> bool:
        if filt.topics:
            topical = bool(set(filt.topics) & set(a.topics))
        else:
            topical = filt.everything or bool(a.topics)
        return topical and (not filt.countries or bool(set(filt.countries) & set(a.countries)))

    ruled: dict[int, tuple[Article, RuleRef]] = {}
    for ref in filt.rules:
        for a in pool.by_rule.get(ref.id, ()):
            if visible(a):
                ruled.setdefault(a.id, (a, ref))
    matching = [a for a in pool.articles if visible(a) and (by_filters(a) or a.id in ruled)]

    stories: list[Article] = [a for a in matching if a.cluster_id is None]
    for cluster_id in dict.fromkeys(a.cluster_id for a in matching if a.cluster_id is not None):
        first = min((a for a in matching if a.cluster_id == cluster_id), key=_key)
        own = [
            m
            for m in pool.clusters[cluster_id]
            if filt.language is not None and m.language == filt.language and visible(m)
        ]
        if first.language not in (filt.language, None) and own:
            telling = min(own, key=_key)
            topics = tuple(dict.fromkeys((*telling.topics, *first.topics)))
            first = replace(telling, topics=topics)
        stories.append(first)
    shown = sorted(stories, key=_key, reverse=True)[:cap]

    by_cluster: dict[int, RuleRef] = {}
    for a, ref in ruled.values():
        if a.cluster_id is not None:
            by_cluster.setdefault(a.cluster_id, ref)
    also_after = 0 if since is not None else after_id
    items = [
        DigestItem(
            a,
            pool._also(a, also_after),
            pool._rule_of(a, ruled, by_cluster),
            pool._versions(a, filt.muted_feeds),
        )
        for a in shown
    ]
    return Digest(
        sections=pool._sections(items, filt.topics, filt.rules),
        more=max(0, len(stories) - cap),
        marked=bool(filt.rules),
    )


@st.composite
def pools(draw) -> tuple[list[Article], dict[int, list[int]]]:
    count = draw(st.integers(0, 60))
    ids = draw(st.permutations(range(1, count + 1)))  # ids out of publication order
    articles = []
    for n, article_id in enumerate(ids):
        articles.append(
            Article(
                id=article_id,
                feed_id=draw(st.sampled_from((1, 2, 3))),
                key=f"k{article_id}",
                url=f"https://example.org/{article_id}",
                title=f"Title {article_id}",
                summary="",
                lead="",
                image_url=None,
                source=draw(st.sampled_from(("BelTA", "TASS", "Kabar"))),
                # few distinct times: ties in publication time are common
                published_at=T0 + timedelta(minutes=draw(st.integers(0, 8)) * 10 + n // 20),
                fetched_at=T0,
                backfill=draw(st.booleans()) and draw(st.booleans()),
                topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
                countries=tuple(
                    draw(st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True))
                ),
                cluster_id=draw(st.one_of(st.none(), st.integers(1, max(1, count // 3)))),
                language=draw(st.sampled_from(LANGUAGES)),
            )
        )
    hits = {
        ref.id: draw(st.lists(st.sampled_from(ids), unique=True, max_size=8)) if ids else []
        for ref in RULES
    }
    return articles, hits


FILTERS = st.builds(
    DigestFilter,
    topics=st.lists(st.sampled_from(TOPICS), max_size=3, unique=True).map(tuple),
    countries=st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True).map(tuple),
    everything=st.booleans(),
    rules=st.lists(st.sampled_from(RULES), max_size=3, unique=True).map(tuple),
    muted_feeds=st.frozensets(st.sampled_from((1, 2, 3)), max_size=2),
    language=st.sampled_from(LANGUAGES),
)


# the shortcuts have many corners (stops, runs of a story, windows): more examples than the
# profile's default, and the explore profile's when it asks for more
@settings(max_examples=max(200, settings.default.max_examples))
@given(
    pool=pools(),
    filt=FILTERS,
    with_backfill=st.booleans(),
    after_id=st.integers(0, 70),
    cap=st.integers(0, 12),
    since=st.one_of(st.none(), st.integers(0, 90).map(lambda m: T0 + timedelta(minutes=m))),
)
def test_select_gives_the_reference_digest(pool, filt, with_backfill, after_id, cap, since):
    articles, hits = pool
    built = DigestPool(articles, TOPICS[:2], with_backfill=with_backfill, rule_hits=hits)
    got = built.select(filt, after_id=after_id, cap=cap, since=since)
    assert got == reference(built, filt, after_id=after_id, cap=cap, since=since)


@given(pool=pools(), filt=FILTERS, cap=st.integers(1, 12))
def test_one_pool_serves_many_chats_alike(pool, filt, cap):
    """The pool's indexes are built once and shared: a chat's digest does not depend on the
    chats served from the pool before it."""
    articles, hits = pool
    shared = DigestPool(articles, TOPICS, rule_hits=hits)
    for after_id in (0, 5, 20):
        shared.select(replace(filt, muted_feeds=frozenset({1})), after_id=after_id, cap=3)
    fresh = DigestPool(articles, TOPICS, rule_hits=hits)
    assert shared.select(filt, after_id=10, cap=cap) == fresh.select(filt, after_id=10, cap=cap)


@given(st.sets(st.integers(0, 2000), max_size=40))
def test_set_bits_lists_every_position_lowest_first(positions):
    """Sparse sets over long integers: runs of empty words are skipped, none is lost."""
    bits = sum(1 << p for p in positions)
    assert list(_set_bits(bits)) == sorted(positions)
