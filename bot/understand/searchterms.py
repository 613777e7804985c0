"""Search over stored articles by word forms: index and query both go through the same morphology."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.understand.morph import Morph, Tokens

if TYPE_CHECKING:
    from bot.domain import Article
    from storage.articles import ArticleRepo

MAX_QUERY_WORDS = 12


def index_terms(toks: Tokens) -> str:
    """The normalized words of an article, space-separated, for the FTS5 `terms` column."""
    return " ".join(toks.norm)


def match_expression(morph: Morph, query: str) -> str | None:
    """An FTS5 MATCH expression (all words, any form) for a user's query; None if no words."""
    words = list(dict.fromkeys(morph.tokens(query[:1000]).norm))[:MAX_QUERY_WORDS]
    if not words:
        return None
    # Each word quoted as an FTS5 string: user input can never become FTS5 syntax.
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


class MorphSearch:
    """The /search service: the query's lemmas/stems → an FTS5 MATCH over stored articles."""

    def __init__(self, morph: Morph, articles: ArticleRepo) -> None:
        self.morph, self.articles = morph, articles

    async def search(self, query: str, limit: int) -> list[Article]:
        expression = match_expression(self.morph, query)
        return [] if expression is None else await self.articles.search(expression, limit)
