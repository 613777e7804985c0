"""Search over stored articles by word forms: index and query both go through the same morphology."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.understand.morph import Morph, Tokens

if TYPE_CHECKING:
    from bot.domain import Article
    from storage.port import ArticleStore

MAX_QUERY_WORDS = 12


def index_terms(toks: Tokens) -> str:
    """The normalized words of an article, space-separated, for the search index's `terms`."""
    return " ".join(toks.norm)


def query_words(morph: Morph, query: str) -> list[str]:
    """The normalized words of a user's query (all must match, in any form), at most
    MAX_QUERY_WORDS; the storage layer turns them into its engine's search syntax."""
    return list(dict.fromkeys(morph.tokens(query[:1000]).norm))[:MAX_QUERY_WORDS]


class MorphSearch:
    """The /search service: the query's lemmas/stems → an indexed search of stored articles."""

    def __init__(self, morph: Morph, articles: ArticleStore) -> None:
        self.morph, self.articles = morph, articles

    async def search(self, query: str, limit: int) -> list[Article]:
        words = query_words(self.morph, query)
        return await self.articles.search(words, limit) if words else []
