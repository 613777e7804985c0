"""The cold-word speed-ups (issue #12) change no result.

1. Every labelled item and sample feed entry gets the topics, countries, matched words and story
   signature recorded from the code before the speed-ups (tests/fixtures/understanding_recorded.json,
   written by tests/support/understanding_record.py), with both morphology back-ends.
2. The shortcut to pymorphy3's first normal form gives the full analysis's lemma for every
   Cyrillic word of those items and for a sample of the dictionary's own word forms.
"""

from __future__ import annotations

import json
import random

import pytest

from bot.understand.classify import Classifier
from bot.understand.morph import WORD_RE, Morph
from tests.support.understanding_record import BACKENDS, RECORDING, items, understand


@pytest.fixture(scope="module")
def listed() -> list[tuple[str, str, str]]:
    return items()


@pytest.fixture(scope="module")
def recorded() -> dict[str, dict[str, dict]]:
    return json.loads(RECORDING.read_text(encoding="utf-8"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_item_is_understood_as_recorded(backend, listed, recorded):
    expected = recorded[backend]
    assert set(expected) == {key for key, _, _ in listed}  # the same items as recorded
    clf = Classifier.load(backend=backend)  # a new classifier: every word new to its caches
    differ = [key for key, title, text in listed if understand(clf, title, text) != expected[key]]
    assert differ == []
    # ... and again with every word cached.
    assert [k for k, t, x in listed if understand(clf, t, x) != expected[k]] == []


def test_the_first_normal_form_shortcut_equals_the_full_analysis(listed):
    morph = Morph("pymorphy")
    fast, full = morph._ru, morph._ru.full
    assert fast is not full  # the installed pymorphy3 is one the shortcut knows
    words = {
        w.lower()
        for _, title, text in listed
        for w in WORD_RE.findall(f"{title}\n{text}".replace("ё", "е").replace("Ё", "Е"))
    }
    words = {w for w in words if "а" <= w[0] <= "я"}
    forms = morph.analyzer.dictionary.words.keys()
    sample = random.Random(12).sample(forms, 20_000)
    words.update(sample)
    words.update(w.replace("ё", "е") for w in sample)  # as the tokenizer passes them
    words.update(("ё", "е", "и", "я", "ёж", "еж", "qq", "ооон", "таджикско", "сшa"))
    assert [w for w in sorted(words) if fast(w) != full(w)] == []
