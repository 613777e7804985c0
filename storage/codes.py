"""The JSON lists the tables keep (a chat's topics, countries and times; an article's topics and
countries), decoded once per distinct text: a planning pass reads tens of thousands of rows
that hold a few hundred distinct lists, and they share one tuple each."""

from __future__ import annotations

import json
from functools import lru_cache


@lru_cache(maxsize=4096)
def json_tuple(text: str) -> tuple:
    """`["un", "cis"]` → ("un", "cis"); the tuple is shared by every row with that text."""
    return tuple(json.loads(text))
