"""What goes into a digest (pure): new articles → filtered, one item per story, grouped by topic.

`DigestPool` indexes a batch of articles once so that thousands of chats can be served from it
(the minute tick); `select_digest` is the one-chat convenience over the same code. A chat's
keyword rules (bot.chatrules, matched once per pool) add their articles, whatever the chat's
topic and country filters, in a section per rule ahead of the topic sections.

A story told in several languages (bot.crosslang joined the tellings into one cluster) is shown
once, in the chat's language when a telling in it is there for the chat, with the tellings in
the other languages as `DigestItem.versions` (rendered as "also in English" links).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from storage.models import Article

DEFAULT_CAP = 25


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A chat's keyword rule as a digest sees it: its id (pool matches) and text (the name)."""

    id: int
    text: str


@dataclass(frozen=True, slots=True)
class DigestFilter:
    topics: tuple[str, ...]  # any of; empty = every topic (articles tagged with at least one)
    countries: tuple[str, ...]  # any of; empty = any country
    # "everything from my sources": with no topics chosen, untagged articles too (a brick
    # factory's news reaches only the chats that asked for everything)
    everything: bool = False
    rules: tuple[RuleRef, ...] = ()  # keyword rules: their matches join, in sections of their own
    muted_feeds: frozenset[int] = frozenset()  # sources the chat muted: never in its digests
    language: str | None = None  # the chat's interface language: the telling shown first


@dataclass(frozen=True, slots=True)
class DigestItem:
    article: Article
    also: tuple[str, ...] = ()  # other sources that told the same story (same cluster_id)
    rule: RuleRef | None = None  # the keyword rule that brought it (None: the chat's topics)
    versions: tuple[Article, ...] = ()  # the story in other languages, one telling each


@dataclass(frozen=True, slots=True)
class DigestSection:
    topic: str | None  # None: articles without a topic (only for "everything" chats) or a rule's
    items: tuple[DigestItem, ...]
    rule: RuleRef | None = None  # a keyword rule's section


@dataclass(frozen=True, slots=True)
class Digest:
    sections: tuple[DigestSection, ...]
    more: int  # matching stories left out by the cap
    marked: bool = False  # the chat has keyword rules: each item says what brought it

    @property
    def shown(self) -> int:
        return sum(len(s.items) for s in self.sections)

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def top(self) -> DigestItem | None:
        """The newest story (a candidate for the one link preview)."""
        items = [i for s in self.sections for i in s.items]
        return max(items, key=_newest_key, default=None)


def _newest_key(item: DigestItem) -> tuple:
    return (item.article.published_at, item.article.id)


class DigestPool:
    """Articles indexed for selection: by topic (ids descending) and by story cluster."""

    def __init__(
        self,
        articles: Iterable[Article],
        topic_order: Sequence[str] = (),
        *,
        with_backfill: bool = False,
        rule_hits: Mapping[int, Iterable[int]] | None = None,
    ) -> None:
        """`with_backfill`: also the items of a feed's first poll — for /latest and a new
        subscriber's first digest; scheduled digests skip them (no flood of old items).
        `rule_hits`: {rule id: ids of the articles it matches} (bot.chatrules.RuleIndex)."""
        every = list(articles)
        self.max_id = max((a.id for a in every), default=0)  # backfill too: the cursor skips them
        self.articles = sorted(
            (a for a in every if with_backfill or not a.backfill), key=lambda a: a.id, reverse=True
        )
        self.topic_rank = {slug: n for n, slug in enumerate(topic_order)}
        self.by_topic: dict[str, list[Article]] = {}
        self.clusters: dict[int, list[Article]] = {}
        for article in self.articles:
            for slug in article.topics:
                self.by_topic.setdefault(slug, []).append(article)
            if article.cluster_id is not None:
                self.clusters.setdefault(article.cluster_id, []).append(article)
        # one integer per article orders by (published_at, id): oldest 0 … newest
        by_time = sorted(self.articles, key=_first_key)
        self.rank = {a.id: n for n, a in enumerate(by_time)}
        for members in self.clusters.values():
            members.sort(key=_first_key)
        by_id = {a.id: a for a in self.articles}
        self.by_rule: dict[int, list[Article]] = {}
        for rule_id, ids in (rule_hits or {}).items():
            found = [by_id[i] for i in ids if i in by_id]
            found.sort(key=lambda a: a.id, reverse=True)
            self.by_rule[rule_id] = found

    def select(
        self,
        filt: DigestFilter,
        *,
        after_id: int,
        cap: int = DEFAULT_CAP,
        since: datetime | None = None,
    ) -> Digest:
        """Stories new for a chat (id > after_id, not from a feed's first poll) — and, with
        `since` (a new subscriber's first digest), whatever was published since then too."""
        if since is not None:
            first_after = after_id

            def wanted(a: Article) -> bool:
                return (a.id > first_after and not a.backfill) or a.published_at >= since

            matching = [a for a in self._matching(filt, 0) if wanted(a)]
            ruled = {i: hit for i, hit in self._ruled(filt, 0).items() if wanted(hit[0])}
            after_id = 0  # the "also" sources: every report of the story shown
        else:
            matching = self._matching(filt, after_id)
            ruled = self._ruled(filt, after_id)
            new_after = after_id

            def wanted(a: Article) -> bool:
                return a.id > new_after

        if ruled:
            seen = {a.id for a in matching}
            matching.extend(a for i, (a, _) in ruled.items() if i not in seen)
        muted = filt.muted_feeds

        def visible(a: Article) -> bool:
            return a.feed_id not in muted and wanted(a)

        stories = self._one_per_story(matching, filt.language, visible)
        rank = self.rank.__getitem__
        shown = heapq.nlargest(cap, stories, key=lambda a: rank(a.id))
        by_cluster: dict[int, RuleRef] = {}
        for article, ref in ruled.values():
            if article.cluster_id is not None:
                by_cluster.setdefault(article.cluster_id, ref)
        items = [
            DigestItem(
                a,
                self._also(a, after_id),
                self._rule_of(a, ruled, by_cluster),
                self._versions(a, muted),
            )
            for a in shown
        ]
        more = max(0, len(stories) - cap)
        sections = self._sections(items, filt.topics, filt.rules)
        return Digest(sections=sections, more=more, marked=bool(filt.rules))

    def latest(self, filt: DigestFilter, *, limit: int) -> Digest:
        """The newest `limit` stories matching the filter, whatever was already delivered."""
        return self.select(filt, after_id=0, cap=limit)

    # -- steps

    def _matching(self, filt: DigestFilter, after_id: int) -> list[Article]:
        if filt.topics:
            seen: dict[int, Article] = {}
            for slug in filt.topics:
                for article in self.by_topic.get(slug, ()):
                    if article.id <= after_id:
                        break  # lists are id-descending
                    seen[article.id] = article
            found: Iterable[Article] = seen.values()
        elif filt.everything:
            found = (a for a in self.articles if a.id > after_id)
        else:
            found = (a for a in self.articles if a.id > after_id and a.topics)
        if filt.countries:
            wanted = set(filt.countries)
            found = (a for a in found if not wanted.isdisjoint(a.countries))
        if filt.muted_feeds:
            muted = filt.muted_feeds
            found = (a for a in found if a.feed_id not in muted)
        return list(found)

    def _ruled(self, filt: DigestFilter, after_id: int) -> dict[int, tuple[Article, RuleRef]]:
        """{article id: (article, the chat's first rule matching it)} for ids > after_id."""
        found: dict[int, tuple[Article, RuleRef]] = {}
        muted = filt.muted_feeds
        for ref in filt.rules:
            for article in self.by_rule.get(ref.id, ()):
                if article.id <= after_id:
                    break  # lists are id-descending
                if article.feed_id not in muted:  # a muted source stays muted for rules too
                    found.setdefault(article.id, (article, ref))
        return found

    @staticmethod
    def _rule_of(
        article: Article,
        ruled: Mapping[int, tuple[Article, RuleRef]],
        by_cluster: Mapping[int, RuleRef],
    ) -> RuleRef | None:
        """A story a rule matched (in any of its reports) goes to that rule's section."""
        hit = ruled.get(article.id)
        if hit is not None:
            return hit[1]
        return None if article.cluster_id is None else by_cluster.get(article.cluster_id)

    def _one_per_story(
        self,
        matching: list[Article],
        language: str | None = None,
        visible: Callable[[Article], bool] | None = None,
    ) -> list[Article]:
        """A story told by several agencies appears once: as its first report — its first
        report in `language` (the chat's) when one is `visible` to the chat, though that
        telling may not match the chat's filters itself (another language's rules tagged it)."""
        firsts: dict[int, Article] = {}
        stories: list[Article] = []
        rank = self.rank
        for article in matching:
            cluster_id = article.cluster_id
            if cluster_id is None:
                stories.append(article)
                continue
            current = firsts.get(cluster_id)
            if current is None or rank[article.id] < rank[current.id]:
                firsts[cluster_id] = article
        if language is not None and visible is not None:
            for cluster_id, first in firsts.items():
                if first.language in (language, None):
                    continue
                own = next(
                    (
                        m
                        for m in self.clusters.get(cluster_id, ())  # sorted oldest first
                        if m.language == language and visible(m)
                    ),
                    None,
                )
                if own is not None:  # filed under the topics the story matched by
                    topics = tuple(dict.fromkeys((*own.topics, *first.topics)))
                    firsts[cluster_id] = replace(own, topics=topics)
        stories.extend(firsts.values())
        return stories

    def _also(self, first: Article, after_id: int) -> tuple[str, ...]:
        """The other sources of the story in the shown telling's language among the articles
        new for this chat (tellings in other languages are `versions`)."""
        if first.cluster_id is None:
            return ()
        members = self.clusters.get(first.cluster_id, ())
        return tuple(
            dict.fromkeys(
                m.source
                for m in members
                if m.id > after_id and m.source != first.source and _same_language(m, first)
            )
        )

    def _versions(self, first: Article, muted: frozenset[int]) -> tuple[Article, ...]:
        """The story's first telling in each other language (not from a muted source)."""
        if first.cluster_id is None or first.language is None:
            return ()
        found: dict[str, Article] = {}
        for m in self.clusters.get(first.cluster_id, ()):
            if m.language is None or m.language == first.language or m.feed_id in muted:
                continue
            found.setdefault(m.language, m)
        return tuple(found.values())

    def _sections(
        self,
        items: list[DigestItem],
        chosen: tuple[str, ...],
        rules: tuple[RuleRef, ...] = (),
    ) -> tuple[DigestSection, ...]:
        groups: dict[str | None, list[DigestItem]] = {}
        ruled: dict[RuleRef, list[DigestItem]] = {}
        for item in items:
            if item.rule is not None:
                ruled.setdefault(item.rule, []).append(item)
            else:
                groups.setdefault(self._section_of(item.article, chosen), []).append(item)
        order = sorted(groups, key=self._section_key)
        return tuple(
            DigestSection(None, tuple(ruled[ref]), rule=ref) for ref in rules if ref in ruled
        ) + tuple(DigestSection(topic, tuple(groups[topic])) for topic in order)

    def _section_of(self, article: Article, chosen: tuple[str, ...]) -> str | None:
        candidates = [t for t in article.topics if not chosen or t in chosen]
        if not candidates:
            return None
        return min(candidates, key=self._section_key)

    def _section_key(self, topic: str | None) -> tuple:
        if topic is None:
            return (2, 0, "")
        rank = self.topic_rank.get(topic)
        return (0, rank, "") if rank is not None else (1, 0, topic)


def _same_language(a: Article, b: Article) -> bool:
    return a.language is None or b.language is None or a.language == b.language


def _first_key(article: Article) -> tuple:
    return (article.published_at, article.id)


def select_digest(
    articles: Iterable[Article],
    filt: DigestFilter,
    *,
    after_id: int,
    topic_order: Sequence[str] = (),
    cap: int = DEFAULT_CAP,
) -> Digest:
    return DigestPool(articles, topic_order).select(filt, after_id=after_id, cap=cap)
