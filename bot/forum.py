"""Forum groups: split one chat's digest items between threads by topic (pure).

Routes come from storage.routing.ChatRouting.routes(chat_id): {topic slug or '*': thread id}.
An item goes to the thread of its first routed topic in `topic_order` (the catalog order, so
the choice does not depend on how the classifier listed them); otherwise to the '*' thread;
otherwise to the main chat (thread None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from storage.routing import DEFAULT_ROUTE

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
