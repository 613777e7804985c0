"""What goes into a digest (pure): new articles → filtered, one item per story, grouped by topic.

`DigestPool` indexes a batch of articles once so that thousands of chats can be served from it
(the minute tick); `select_digest` is the one-chat convenience over the same code. The index
(`_StoryIndex`) holds the pool's article sets — each topic, country, source, rule, the ids above
a cursor — as integers used as bitsets, laid out story by story, newest story first: a chat's
matching articles are a few integer operations, their stories are counted without listing
them, and the walk for the shown ones stops once the cap is filled (a chat back after a long
pause used to walk its ~12,000 matching articles to keep 25). A chat's
keyword rules (bot.understand.chatrules, matched once per pool) add their articles, whatever the chat's
topic and country filters, in a section per rule ahead of the topic sections.

A story told in several languages (bot.understand.crosslang joined the tellings into one cluster) is shown
once, in the chat's language when a telling in it is there for the chat, with the tellings in
the other languages as `DigestItem.versions` (rendered as "also in English" links).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain import Article

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
        after_id: int | None = None,
    ) -> None:
        """`with_backfill`: also the items of a feed's first poll — for /latest and a new
        subscriber's first digest; scheduled digests skip them (no flood of old items).
        `rule_hits`: {rule id: ids of the articles it matches} (bot.understand.chatrules.RuleIndex).
        `after_id`: the articles are the newest ones above this id (a pool read so), which lets
        another pool over a higher cursor be cut from `given` instead of read again."""
        every = list(articles)
        self.given = every  # first polls included
        self.after_id = after_id
        self.max_id = max((a.id for a in every), default=0)  # backfill too: the cursor skips them
        self.articles = sorted(
            (a for a in every if with_backfill or not a.backfill), key=lambda a: a.id, reverse=True
        )
        self.topic_rank = {slug: n for n, slug in enumerate(topic_order)}
        self._ranked: dict[tuple[str, ...], tuple[str, ...]] = {}  # topics → in section order
        self.clusters: dict[int, list[Article]] = {}
        for article in self.articles:
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
        self._index = _StoryIndex(self.articles, by_time, self.clusters, self.rank, self.by_rule)

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
        index = self._index
        muted = filt.muted_feeds
        if since is not None:
            first_after = after_id

            def wanted(a: Article) -> bool:
                return (a.id > first_after and not a.backfill) or a.published_at >= since

            ruled = {i: hit for i, hit in self._ruled(filt, 0).items() if wanted(hit[0])}
            in_window = index.above(after_id) & ~index.backfill | index.since(since)
            after_id = 0  # the "also" sources: every report of the story shown
        else:
            ruled = self._ruled(filt, after_id)
            in_window = index.above(after_id)
            new_after = after_id

            def wanted(a: Article) -> bool:
                return a.id > new_after

        def visible(a: Article) -> bool:
            return a.feed_id not in muted and wanted(a)

        matching = index.matching(filt, in_window)
        touched = index.stories(matching)
        shown = self._newest_stories(matching, touched, cap, filt.language, visible)
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
        more = max(0, touched.bit_count() - cap)
        sections = self._sections(items, filt.topics, filt.rules)
        return Digest(sections=sections, more=more, marked=bool(filt.rules))

    def latest(self, filt: DigestFilter, *, limit: int) -> Digest:
        """The newest `limit` stories matching the filter, whatever was already delivered."""
        return self.select(filt, after_id=0, cap=limit)

    # -- steps

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

    def _newest_stories(
        self,
        matching: int,
        touched: int,
        cap: int,
        language: str | None,
        visible: Callable[[Article], bool],
    ) -> list[Article]:
        """The `cap` newest of the stories `touched`, newest first. A story shows its first
        matching report (by publication time) — or its first report in the chat's `language`,
        when that one is `visible` to the chat, though it may not match the chat's filters
        (another language's rules tagged it) — and ranks by the report it shows.

        The stories are visited in the index's order, by their newest report: no story
        further on ranks above the report that orders it, so once `cap` stories rank above
        it, the rest cannot enter."""
        if cap <= 0:
            return []
        index = self._index
        rank = self.rank
        best: list[int] = []  # the ranks of the `cap` best so far (a min-heap)
        found: list[tuple[int, Article]] = []
        for start in _set_bits(touched):
            reports = index.blocks[start]
            if len(best) == cap and best[0] > index.bounds[start]:
                break
            if len(reports) == 1:
                story = reports[0]
            else:  # the oldest matching report: the lowest bit of the story's run
                bits = (matching >> start) & ((1 << len(reports)) - 1)
                story = reports[(bits & -bits).bit_length() - 1]
                if language is not None and story.language not in (language, None):
                    story = self._in_language(story, language, visible)
            key = rank[story.id]
            if len(best) < cap:
                heapq.heappush(best, key)
            elif key > best[0]:
                heapq.heapreplace(best, key)
            else:
                continue
            found.append((key, story))
        found.sort(key=_by_rank, reverse=True)
        return [story for _, story in found[:cap]]

    def _in_language(
        self, first: Article, language: str, visible: Callable[[Article], bool]
    ) -> Article:
        """The story's first report in `language` visible to the chat (if there is one), filed
        under the topics the story matched by."""
        own = next(
            (
                m
                for m in self.clusters.get(first.cluster_id, ())  # sorted oldest first
                if m.language == language and visible(m)
            ),
            None,
        )
        if own is None:
            return first
        return replace(own, topics=tuple(dict.fromkeys((*own.topics, *first.topics))))

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
        """The first of the article's topics (in section order) the chat chose (any if none)."""
        ranked = self._ranked.get(article.topics)
        if ranked is None:
            ranked = self._ranked[article.topics] = tuple(
                sorted(article.topics, key=self._section_key)
            )
        if not chosen:
            return ranked[0] if ranked else None
        return next((t for t in ranked if t in chosen), None)

    def _section_key(self, topic: str | None) -> tuple:
        if topic is None:
            return (2, 0, "")
        rank = self.topic_rank.get(topic)
        return (0, rank, "") if rank is not None else (1, 0, topic)


def _same_language(a: Article, b: Article) -> bool:
    return a.language is None or b.language is None or a.language == b.language


def _first_key(article: Article) -> tuple:
    return (article.published_at, article.id)


def _by_rank(found: tuple[int, Article]) -> int:
    return found[0]


def _bitset(positions: Iterable[int], size: int) -> int:
    """The integer with bit p set for each of `positions` (built as bytes: linear time)."""
    buf = bytearray((size >> 3) + 1)
    for p in positions:
        buf[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(buf, "little")


def _set_bits(bits: int) -> Iterator[int]:
    """The positions of the bits set, lowest first. Shifting a pool-long integer costs as
    much as the pool is long, so it is cut into short pieces (shifted cheaply) as the caller
    goes on, and the caller's early stop saves the rest."""
    offset = 0
    while bits:
        piece = bits & _PIECE
        if not piece:  # a long run of zeros: jump to the next set bit
            skip = (bits & -bits).bit_length() - 1
            bits >>= skip
            offset += skip
            continue
        at = offset
        while piece:
            word = piece & 0xFFFFFFFFFFFFFFFF
            while word:
                low = word & -word
                yield at + low.bit_length() - 1
                word ^= low
            piece >>= 64
            at += 64
        bits >>= _PIECE_BITS
        offset += _PIECE_BITS


_PIECE_BITS = 1024
_PIECE = (1 << _PIECE_BITS) - 1


# A first-k set is stored every _STEP articles; the k of a query are added bit by bit.
_STEP = 16


class _Prefixes:
    """The first k articles of one order (ids descending, say) as a bitset, for any k."""

    def __init__(self, positions: Sequence[int], size: int) -> None:
        self.positions = positions
        self.marks: list[int] = []
        buf = bytearray((size >> 3) + 1)
        for k, p in enumerate(positions):
            if k % _STEP == 0:
                self.marks.append(int.from_bytes(buf, "little"))
            buf[p >> 3] |= 1 << (p & 7)
        if len(positions) % _STEP == 0:
            self.marks.append(int.from_bytes(buf, "little"))

    def first(self, k: int) -> int:
        mark = k // _STEP
        bits = self.marks[mark]
        for p in self.positions[mark * _STEP : k]:
            bits |= 1 << p
        return bits


class _StoryIndex:
    """A pool's article sets as bitsets, for serving many chats (bit p: the article at position
    p). Positions go story by story — a story's reports (its cluster, or one article alone)
    side by side, oldest first — and the stories by their newest report, newest first, so a
    chat's matching articles give its stories (`stories`) and the order to walk them in."""

    def __init__(
        self,
        articles: Sequence[Article],
        by_time: Sequence[Article],
        clusters: Mapping[int, Sequence[Article]],
        rank: Mapping[int, int],
        by_rule: Mapping[int, Sequence[Article]],
    ) -> None:
        size = len(articles)
        runs = [(a,) for a in articles if a.cluster_id is None]
        runs += [tuple(members) for members in clusters.values()]
        runs.sort(key=lambda run: rank[run[-1].id], reverse=True)
        self.blocks: dict[int, tuple[Article, ...]] = {}  # a story's start → its reports
        self.bounds: dict[int, int] = {}  # a story's start → the rank of its newest report
        position: dict[int, int] = {}
        topics: dict[str, list[int]] = {}
        countries: dict[str, list[int]] = {}
        self._feeds: dict[int | None, list[int]] = {}
        tagged: list[int] = []
        backfill: list[int] = []
        p = 0
        for run in runs:
            self.blocks[p] = run
            self.bounds[p] = rank[run[-1].id]
            for a in run:
                position[a.id] = p
                for slug in a.topics:
                    topics.setdefault(slug, []).append(p)
                for code in a.countries:
                    countries.setdefault(code, []).append(p)
                self._feeds.setdefault(a.feed_id, []).append(p)
                if a.topics:
                    tagged.append(p)
                if a.backfill:
                    backfill.append(p)
                p += 1
        self.size = size
        self.position = position
        self.every = (1 << size) - 1
        self.tagged = _bitset(tagged, size)
        self.backfill = _bitset(backfill, size)
        self.topics = {slug: _bitset(ps, size) for slug, ps in topics.items()}
        self.countries = {code: _bitset(ps, size) for code, ps in countries.items()}
        self.starts = _bitset(self.blocks, size)
        # spreading a story's bits to its start takes one step per doubling of its length:
        # the positions p whose p + step is in p's story, for step 1, 2, 4 … < the longest
        self._spread: list[tuple[int, int]] = []
        longest = max((len(run) for run in runs), default=0)
        step = 1
        while step < longest:
            inside = (
                start + i for start, run in self.blocks.items() for i in range(len(run) - step)
            )
            self._spread.append((step, _bitset(inside, size)))
            step *= 2
        self._ids = [a.id for a in reversed(articles)]  # ascending
        self._above = _Prefixes([position[a.id] for a in articles], size)  # ids descending
        self._times = [a.published_at for a in by_time]  # ascending
        self._newest_first = [position[a.id] for a in reversed(by_time)]
        self._since: _Prefixes | None = None  # built on the first `since` (first digests)
        self._rules = {
            rule_id: [position[a.id] for a in found] for rule_id, found in by_rule.items()
        }
        self._sets: dict[tuple[str, int | None], int] = {}  # sources and rules, as chats ask

    def above(self, after_id: int) -> int:
        """The articles with id > after_id."""
        count = self.size - bisect_right(self._ids, after_id)
        return self.every if count == self.size else self._above.first(count)

    def since(self, moment: datetime) -> int:
        """The articles published at or after `moment`."""
        if self._since is None:
            self._since = _Prefixes(self._newest_first, self.size)
        return self._since.first(self.size - bisect_left(self._times, moment))

    def _of(self, kind: str, key: int | None) -> int:
        """A rule's matches or a source's articles, as a bitset made on the first ask."""
        bits = self._sets.get((kind, key))
        if bits is None:
            found = self._rules if kind == "rule" else self._feeds
            bits = self._sets[(kind, key)] = _bitset(found.get(key, ()), self.size)
        return bits

    def matching(self, filt: DigestFilter, in_window: int) -> int:
        """The articles of the chat's filters or rules, in the window, not from a muted source."""
        if filt.topics:
            bits = 0
            for slug in filt.topics:
                bits |= self.topics.get(slug, 0)
        else:
            bits = self.every if filt.everything else self.tagged
        if filt.countries:
            where = 0
            for code in filt.countries:
                where |= self.countries.get(code, 0)
            bits &= where
        for ref in filt.rules:
            bits |= self._of("rule", ref.id)
        bits &= in_window
        for feed_id in filt.muted_feeds:
            bits &= ~self._of("feed", feed_id)
        return bits

    def stories(self, matching: int) -> int:
        """The stories with a report in `matching`: the bit at each one's start."""
        spread = matching
        for step, inside in self._spread:
            spread |= (spread >> step) & inside
        return spread & self.starts


def select_digest(
    articles: Iterable[Article],
    filt: DigestFilter,
    *,
    after_id: int,
    topic_order: Sequence[str] = (),
    cap: int = DEFAULT_CAP,
) -> Digest:
    return DigestPool(articles, topic_order).select(filt, after_id=after_id, cap=cap)
