"""The offline preview (`python -m bot preview`, `make run` without a token): the bundled samples
through the real normalizer, classifier, clusters, selection and renderer — so it shows what a
default subscriber gets: the cap with "+N ещё", a story told by several agencies folded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from bot.digests.preview import as_terminal_text, preview_parts
from bot.digests.render import fits
from bot.digests.selection import DEFAULT_CAP

NOW = datetime(2025, 2, 26, 6, 0, tzinfo=UTC)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag


def balanced(html_text: str) -> bool:
    parser = _Tags()
    parser.feed(html_text)
    parser.close()
    return parser.ok and not parser.stack


def test_preview_is_capped_and_folds_stories_like_a_real_digest():
    parts = preview_parts(NOW)
    text = "\n".join(parts)
    assert all(fits(p) for p in parts)
    assert text.count("▪️") == DEFAULT_CAP  # the cap of a subscriber's digest, not every item
    more = re.search(r"\+(\d+) ещё — /latest", text)
    assert more is not None and int(more.group(1)) >= 1
    assert re.search(r"также: [^\n<]*Кабар", text)  # the same story from another agency, once
    assert "ремесленников" not in text  # untagged news is not for an "all topics" subscriber
    for part in parts:
        assert balanced(part), part  # Telegram rejects broken markup


def test_preview_in_english_and_as_terminal_text():
    parts = preview_parts(NOW, lang="en")
    assert "more — /latest" in parts[-1]
    plain = as_terminal_text(parts[0])
    assert "<" not in plain.replace("<=", "") and "https://" in plain
