"""Forum groups: split one chat's digest items between threads by topic (pure).

Routes come from storage.port.RoutingStore.routes(chat_id): {topic slug or '*': thread id}.
An item goes to the thread of its first routed topic in `topic_order` (the catalog order, so
the choice does not depend on how the classifier listed them); otherwise to the '*' thread;
otherwise to the main chat (thread None). `split_digest` applies this to a whole digest.
A keyword rule's items have no topic route: they go with the '*' thread (or the main chat),
under their rule's heading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from bot.digests.selection import Digest, DigestItem, DigestSection
from bot.domain import DEFAULT_ROUTE

T = TypeVar("T")


def thread_for(
    topics: Sequence[str], routes: Mapping[str, int], topic_order: Sequence[str] = ()
) -> int | None:
    rank = {slug: i for i, slug in enumerate(topic_order)}
    ordered = sorted(topics, key=lambda s: rank.get(s, len(rank)))
    for slug in ordered:
        if slug in routes:
            return routes[slug]
    return routes.get(DEFAULT_ROUTE)


def split_by_thread(
    items: Sequence[T],
    routes: Mapping[str, int],
    topics_of: Callable[[T], Sequence[str]],
    topic_order: Sequence[str] = (),
) -> dict[int | None, list[T]]:
    """{thread id or None: items in their original order}; threads in order of first use."""
    if not routes:
        return {None: list(items)} if items else {}
    out: dict[int | None, list[T]] = {}
    for item in items:
        out.setdefault(thread_for(topics_of(item), routes, topic_order), []).append(item)
    return out


def split_digest(
    digest: Digest,
    routes: Mapping[str, int],
    *,
    chosen: Sequence[str] = (),
    topic_order: Sequence[str] = (),
) -> list[tuple[int | None, Digest]]:
    """One digest per thread, threads in order of first use; [(None, digest)] without routes.

    An item is routed by its topics among the chat's `chosen` ones (all when none are chosen),
    like its section. In a topic's own thread it sits under that topic's heading; via '*' or
    in the main chat it keeps its section. The "N more" footer goes to the main chat if it
    has items, else to the first thread.
    """
    if not routes or digest.empty:
        return [(None, digest)]
    rank = {slug: i for i, slug in enumerate(topic_order)}

    def candidates(item: DigestItem) -> list[str]:
        return _candidates(item, chosen)

    placed = [(item, section.topic) for section in digest.sections for item in section.items]
    split = split_by_thread(placed, routes, lambda p: candidates(p[0]), topic_order)
    rule_order = {s.rule: n for n, s in enumerate(digest.sections) if s.rule is not None}
    out: list[tuple[int | None, Digest]] = []
    for thread, members in split.items():
        groups: dict[str | None, list[DigestItem]] = {}
        ruled: dict[object, list[DigestItem]] = {}
        for item, section in members:
            if item.rule is not None:
                ruled.setdefault(item.rule, []).append(item)
                continue
            own = [s for s in candidates(item) if s in routes and routes[s] == thread]
            heading = min(own, key=lambda s: _section_key(s, rank)) if own else section
            groups.setdefault(heading, []).append(item)
        sections = tuple(
            DigestSection(None, tuple(ruled[ref]), rule=ref)  # type: ignore[arg-type]
            for ref in sorted(ruled, key=rule_order.__getitem__)
        ) + tuple(
            DigestSection(topic, tuple(groups[topic]))
            for topic in sorted(groups, key=lambda s: _section_key(s, rank))
        )
        out.append((thread, Digest(sections, more=0, marked=digest.marked)))
    if digest.more:
        index = next((n for n, (thread, _) in enumerate(out) if thread is None), 0)
        thread, part = out[index]
        out[index] = (thread, Digest(part.sections, more=digest.more, marked=digest.marked))
    return out


def item_thread(
    item: DigestItem,
    routes: Mapping[str, int],
    *,
    chosen: Sequence[str] = (),
    topic_order: Sequence[str] = (),
) -> int | None:
    """The thread split_digest puts the item in."""
    return thread_for(_candidates(item, chosen), routes, topic_order)


def _candidates(item: DigestItem, chosen: Sequence[str]) -> list[str]:
    if item.rule is not None:
        return []  # routed like an item of no routed topic
    return [s for s in item.article.topics if not chosen or s in chosen]


def _section_key(topic: str | None, rank: Mapping[str, int]) -> tuple:
    """bot.digests.selection's section order: catalog topics, other topics by name, no topic last."""
    if topic is None:
        return (2, 0, "")
    return (0, rank[topic], "") if topic in rank else (1, 0, topic)
