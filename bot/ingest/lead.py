"""The lead of an article: agency dateline removed, first one or two sentences (pure)."""

from __future__ import annotations

import re

from bot.ingest.textclean import truncate_words

# --- Datelines ------------------------------------------------------------------------------
# General shape (Russian and English agencies alike):
#   CITY [, DATE] [.] AGENCY [.|-]     AGENCY = /…/ | (…) | UPPERCASE NAME then a dash
#                                               | a dash then a short Capitalised name and "."
#   CITY, DATE [.|-]                   no agency named
#   DATE -                             UN News style: "20 February 2025 – "
# CITY is in capitals ("НЬЮ-ЙОРК", "NEW YORK"); a Capitalised city ("Москва") only with a date.
_UP = "A-ZА-ЯЁ"
_CITY_UPPER = rf"[{_UP}][{_UP}'’\-]+(?:[ \-][{_UP}][{_UP}'’\-]+){{0,2}}"
_CITY_TITLE = rf"[{_UP}][a-zа-яё]+(?:[ \-][{_UP}]?[a-zа-яё]+){{0,2}}"
_MONTH = (
    r"(?i:(?:янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zа-яё]*\.?)"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}"
    rf"|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?(?:\s*г(?:ода?)?\.)?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?)"
    r"(?:,?\s+\d{1,2}:\d{2})?"
)
_DASH = r"\s*[-–—]\s*"
_BRACKETED = r"(?:/[^/\n]{1,60}/|\([^()\n]{1,60}\))"
_UPPER_NAME = rf"[{_UP}][{_UP}0-9\-]{{2,}}(?:\s[{_UP}0-9\-]{{2,}}){{0,2}}"
_DASH_NAME = r"[A-ZА-ЯЁ«][\w«»\"'\-]*(?:\s+[A-ZА-ЯЁ«][\w«»\"'\-]*)?\.(?=\s)"
_AGENCY = (
    rf"(?:{_BRACKETED}(?:\s*[.,:])?(?:{_DASH})?"
    rf"|{_UPPER_NAME}{_DASH}"
    rf"|{_DASH}{_DASH_NAME})"
)
_DATELINE = re.compile(
    rf"^\s*(?:"
    rf"{_CITY_UPPER}(?:\s*[,.]\s*{_DATE})?\s*[,.]?\s*{_AGENCY}"
    rf"|{_CITY_TITLE}\s*[,.]\s*{_DATE}\s*[,.]?\s*{_AGENCY}"
    rf"|{_CITY_UPPER}\s*,\s*{_DATE}\s*(?:[.:]|{_DASH})"
    rf"|{_DATE}{_DASH}"
    rf")\s*"
)


def strip_dateline(text: str) -> str:
    """Remove an agency dateline ("МИНСК, 21 февраля /БЕЛТА/ - ") from the start of `text`."""
    m = _DATELINE.match(text)
    if not m:
        return text
    rest = text[m.end() :].lstrip(" .,:-–—")
    return rest if rest else text


# --- Sentences ------------------------------------------------------------------------------
# A boundary candidate: terminal punctuation (closing quotes allowed), whitespace, then
# something that can start a sentence. "21.02.2025" and "т.е.," never qualify.
_BOUNDARY = re.compile(r"[.!?…]+[\"»”’)]*\s+(?=[\"«„“(\[]?[0-9A-ZА-ЯЁ])")
# Abbreviations after which a period does not end a sentence (lower case, without the last ".").
_ABBREVIATION_WORDS = """г гг т.е т.к т.д т.п т.н т.ч и.о им ул пр просп пл д стр см рис тыс млн млрд трлн руб
    долл сом тенге ст п пп гл корр проф акад ген зам рук зав нач пос обл р-н
    mr mrs ms dr st jr sr no nos vs e.g i.e cf inc ltd co corp gen sen rep gov prof col lt
    sgt capt adm amb hon rev fig approx dept est u.s u.k u.n"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())


def _is_abbreviation(chunk: str) -> bool:
    """Does `chunk` (text up to a boundary's punctuation) end with an abbreviation's period?"""
    if not chunk.endswith(".") or chunk.endswith(".."):
        return False
    word = chunk.rsplit(None, 1)[-1][:-1].lstrip('«"„“([').lower()
    if not word:
        return False
    last = word.rsplit(".", 1)[-1]
    # An initial ("С. Лавров", "U.N.") or a known abbreviation ("г.", "т.е.", "Mr.").
    return (len(last) == 1 and last.isalpha()) or word in _ABBREVIATIONS


def split_sentences(text: str, limit: int = 0) -> list[str]:
    """Sentences of one paragraph; stops after `limit` sentences when limit > 0."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        chunk = text[start : m.end()]
        if _is_abbreviation(text[start : m.start()] + m.group().rstrip()):
            continue
        sentence = chunk.strip()
        if sentence:
            out.append(sentence)
            if limit and len(out) >= limit:
                return out
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def extract_lead(text: str, max_chars: int = 300) -> str:
    """One sentence (two when the first is short) of `text` with the dateline removed."""
    sentences: list[str] = []
    first_paragraph = True
    for paragraph in text[: max_chars * 6].split("\n"):
        paragraph = paragraph.strip()
        if first_paragraph and paragraph:
            first_paragraph = False
            m = _DATELINE.match(paragraph + " ")  # a dateline alone in its paragraph goes too
            if m:
                paragraph = paragraph[m.end() :].lstrip(" .,:-–—")
        if paragraph:
            sentences.extend(split_sentences(paragraph, 2))
        if len(sentences) >= 2:
            break
    if not sentences:
        return ""
    lead = sentences[0]
    if len(lead) > max_chars:
        return truncate_words(lead, max_chars)
    if len(sentences) > 1 and len(lead) < max_chars // 2:
        joined = f"{lead} {sentences[1]}"
        if len(joined) <= max_chars:
            lead = joined
    return lead
