"""PyStemmer (Snowball in C) gives the same stems as snowballstemmer's pure-Python stemmers.

snowballstemmer.stemmer() returns the C stemmer whenever PyStemmer is installed, so the English
keys (and the Russian snowball back-end) come from it; this checks that it changes no key on every
word of the dev sets and the rule vocabulary.
"""

from __future__ import annotations

import re
from pathlib import Path

import snowballstemmer
from snowballstemmer.english_stemmer import EnglishStemmer
from snowballstemmer.russian_stemmer import RussianStemmer

ROOT = Path(__file__).resolve().parents[2]
WORD_RE = re.compile(r"[^\W_]+")


def _words() -> set[str]:
    files = [*ROOT.glob("tests/eval/*.jsonl"), *ROOT.glob("bot/data/*.toml")]
    return {w.lower() for f in files for w in WORD_RE.findall(f.read_text(encoding="utf-8"))}


def test_c_stemmer_is_in_use() -> None:
    assert type(snowballstemmer.stemmer("english")).__module__ == "Stemmer"


def test_c_stems_equal_pure_python_stems() -> None:
    words = _words()
    assert len(words) > 5000
    for lang, pure in (("english", EnglishStemmer()), ("russian", RussianStemmer())):
        fast = snowballstemmer.stemmer(lang)
        diff = [w for w in words if fast.stemWord(w) != pure.stemWord(w)]
        assert diff == [], (lang, diff[:20])
