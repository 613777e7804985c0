"""The bundled lemma table: a warm start for the Russian lemma cache of a new process.

A restarted bot meets every word for the first time, and a dictionary lookup with its parse
weighing costs more than the rest of understanding a word. So bot/data/lemmas.txt holds the
lemmas (pymorphy3's full analysis: the normal form of the first parse, "ё" written "е") of the
Russian word forms a diplomatic feed is most likely to hold, and bot.understand.morph starts each
cache from it:

- every Cyrillic word of the rule catalogs (bot/data/*.toml) and of the bundled sample feeds
  (bot/data/samples), with every form of the dictionary lexemes it belongs to: the words that
  can matter to a rule, in any case and number;
- the word forms of pymorphy3's own P(t|w) table: the ambiguous words of its annotated corpus,
  the frequent words whose parses must be weighed (the dearest to analyse).

Never the evaluation sets (tests/eval): they measure the classifier on words it has not seen.

A lemma depends on pymorphy3 and its dictionary, so the table's first line names the versions it
was made with; with any other, the table is not used (the words are analysed as they come).
tests/understand/test_lemma_table.py checks that the file is what ``table()`` makes. Make it
again after upgrading either (from the repository root):

    .venv/bin/python -m bot.understand.lemmas
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from bot.understand.morph import WORD_RE, is_cyrillic

log = logging.getLogger(__name__)

TABLE = "data/lemmas.txt"  # inside the bot package
_HEADER = "# lemma form form …; made with "


def stamp(analyzer) -> str:
    """The pymorphy3 and dictionary versions a lemma depends on."""
    import pymorphy3

    meta = analyzer.dictionary.meta
    return (
        f"pymorphy3 {pymorphy3.__version__}, dictionary {meta.get('format_version')}"
        f".{meta.get('source_revision')}.{meta.get('corpus_revision')}"
        f" compiled {meta.get('compiled_at')}"
    )


def vocabulary(texts: Iterable[str], analyzer) -> set[str]:
    """The word forms to bundle: the texts' Cyrillic words with their lexemes, and the P(t|w) words."""
    from pymorphy3.units.by_lookup import DictionaryAnalyzer

    words = {
        w.lower()
        for text in texts
        for w in WORD_RE.findall(text.replace("ё", "е").replace("Ё", "Е"))
    }
    forms = set()
    for word in words:
        if not is_cyrillic(word):
            continue
        forms.add(word)
        for parse in analyzer.parse(word):
            if isinstance(parse.methods_stack[0][0], DictionaryAnalyzer):
                forms.update(form.word for form in parse.lexeme)
    estimator = analyzer.prob_estimator
    if estimator is not None:
        # keys(prefix): a DAWG, not a dict; "" lists every "<word>:<tag>".
        forms.update(key.partition(":")[0] for key in estimator.p_t_given_w.keys(""))
    # As the tokenizer passes words: "ё" as "е", whole tokens only ("из-за" is two), lower case.
    forms = {form.replace("ё", "е") for form in forms}
    # No digits: the table writes each form's shared start as a number (_shared).
    return {
        f
        for f in forms
        if WORD_RE.fullmatch(f)
        and f.islower()
        and is_cyrillic(f)
        and not any(c.isdigit() for c in f)
    }


def table(forms: Iterable[str], lemma: Callable[[str], str], version: str) -> str:
    """The file's text: the version line, then one line per lemma with its forms, all sorted."""
    by_lemma: dict[str, list[str]] = defaultdict(list)
    for form in sorted(set(forms)):
        by_lemma[lemma(form)].append(form)
    lines = [_HEADER + version]
    lines += [
        " ".join([key, *(_shared(key, f) for f in by_lemma[key])]) for key in sorted(by_lemma)
    ]
    return "\n".join(lines) + "\n"


def _shared(lemma: str, form: str) -> str:
    """A form as the length of the start it shares with its lemma and the rest ("8ая" for
    "абадская" of "абадский"): a third of the size. Forms hold no digits, so the number ends
    where the letters start."""
    k = 0
    for a, b in zip(lemma, form, strict=False):
        if a != b:
            break
        k += 1
    return f"{k}{form[k:]}"


def _unshared(lemma: str, written: str) -> str:
    digits = 2 if written[1:2].isdigit() else 1
    return lemma[: int(written[:digits])] + written[digits:]


def sources(root: Path) -> list[str]:
    """The texts the vocabulary comes from: the rule catalogs and the sample feeds."""
    data = root / "bot" / "data"
    paths = sorted(data.glob("*.toml")) + sorted((data / "samples").glob("*.xml"))
    return [p.read_text(encoding="utf-8") for p in paths]


@functools.cache
def bundled(version: str) -> dict[str, str]:
    """form -> lemma from the bundled table, or {} when it was made with other versions.

    Read once per process; each Morph copies it into its own cache."""
    try:
        text = resources.files("bot").joinpath(TABLE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    lines = text.splitlines()
    if not lines or lines[0] != _HEADER + version:
        log.info("bundled lemma table made with other versions (%s); not used", lines[:1])
        return {}
    out: dict[str, str] = {}
    for line in lines[1:]:
        lemma, *forms = line.split(" ")
        out.update(dict.fromkeys([_unshared(lemma, f) for f in forms], lemma))
    return out


def main() -> None:
    """Write bot/data/lemmas.txt from the repository this module is in."""
    from bot.understand.morph import Morph

    root = Path(__file__).resolve().parents[2]
    morph = Morph("pymorphy", warm=False)
    forms = vocabulary(sources(root), morph.analyzer)
    path = root / "bot" / TABLE
    path.write_text(table(forms, morph.full_lemma, stamp(morph.analyzer)), encoding="utf-8")
    print(f"{path}: {len(forms)} forms")


if __name__ == "__main__":
    main()
