"""The bundled lemma table (bot/data/lemmas.txt) is what bot.understand.lemmas makes, so every
entry is pymorphy3's own lemma, and a Morph starts from it only with the versions it was made with."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from bot.understand import lemmas, morph
from bot.understand.morph import Morph

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cold() -> Morph:
    return Morph("pymorphy", warm=False)


def test_the_bundled_table_is_what_the_script_makes(cold):
    forms = lemmas.vocabulary(lemmas.sources(ROOT), cold.analyzer)
    made = lemmas.table(forms, cold.full_lemma, lemmas.stamp(cold.analyzer))
    bundled = resources.files("bot").joinpath(lemmas.TABLE).read_text(encoding="utf-8")
    assert bundled == made, "run .venv/bin/python -m bot.understand.lemmas"


def test_the_table_reads_back_as_the_full_analysis(cold):
    table = lemmas.bundled(lemmas.stamp(cold.analyzer))
    assert len(table) > 50_000
    # Rule words in other cases, a P(t|w) word, a form sharing 11 letters (two digits) with its
    # lemma.
    for form in ("министра", "санкциями", "стали", "переговорах", "международного"):
        assert table[form] == cold.full_lemma(form)
    assert all(cold.full_lemma(f) == lemma for f, lemma in list(table.items())[::50])


def test_the_vocabulary_is_the_lexemes_of_the_texts_as_the_tokenizer_passes_them(cold):
    texts = ["Сергей Лавров провёл переговоры в Кулябе; из-за США 2025 «ёлки» OSCE"]
    forms = lemmas.vocabulary(texts, cold.analyzer)
    added = forms - lemmas.vocabulary([], cold.analyzer)
    assert {"переговорам", "лавровыми", "куляб", "проведены", "елку", "за"} <= added
    assert {"сергей", "сша", "из"} <= forms
    odd = {f for f in forms if not f.isalpha() or not f.islower() or "ё" in f}
    assert odd == set()
    assert not {f for f in forms if not morph.is_cyrillic(f)}


def test_a_morph_starts_from_the_table_only_with_its_versions(cold, monkeypatch):
    warm = Morph("pymorphy")
    assert cold.cache_size == 0
    assert warm.cache_size == len(lemmas.bundled(lemmas.stamp(cold.analyzer)))
    assert Morph("snowball").cache_size == 0  # stems, not lemmas
    assert lemmas.bundled("pymorphy3 0.0, dictionary 0") == {}
    monkeypatch.setattr(lemmas, "stamp", lambda analyzer: "another version")
    assert Morph("pymorphy").cache_size == 0


def test_the_table_survives_the_cache_bound(monkeypatch):
    warm = Morph("pymorphy")
    seeded = warm.cache_size
    monkeypatch.setattr(morph, "_CACHE_LIMIT", seeded + 2)
    for word in ("кваквак", "бубубу", "зюзюзю", "мымымы"):
        warm.norm(word)
    assert seeded < warm.cache_size <= seeded + 2  # cleared once, then the table again
    assert warm.tokens("Министра").norm == ("министр",)
