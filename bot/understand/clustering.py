"""Story clustering: bottom-k MinHash fingerprints of normalized words and the join decision.

Fingerprint: the set of content words of title + lead after normalization (Russian lemmas,
English stems; stop words, one- and two-letter words dropped), each hashed once with blake2b to
64 bits; the SIGNATURE_SIZE smallest hashes are kept (bottom-k MinHash), packed little-endian.
For an ~80-word lead the whole set fits, so similarity is the exact Jaccard index of the word sets;
longer texts get the standard bottom-k estimate.

Why single words and not word shingles: two agencies retelling one event share the names,
places, organizations, numbers and dates but rarely three words in a row, so w-shingles score
near zero on real pairs (measured on tests/eval/story_pairs.jsonl, see benchmarks/eval_report.py).

Thresholds, chosen on tests/eval/story_pairs.jsonl (benchmarks/eval_report.py prints every pair):
the 20 same-story pairs told by two agencies score 0.26-0.67 Jaccard; the 20 different stories on
one topic score 0.00-0.24 across sources, so JOIN_THRESHOLD = 0.25 sits in the gap (narrow: expect
some misses on real feeds, mostly short items that share only a topic and a country). One agency's
templated releases on different events score up to 0.71 (two ODIHR mission openings), so articles
from the same source join only when near-identical, SAME_SOURCE_THRESHOLD = 0.8 (a feed re-posting
or correcting an item). Only candidates published within CLUSTER_WINDOW of the new article count.

Across languages the word sets share nothing, so a candidate in another language is judged on
its language-independent evidence instead (bot.understand.crosslang: countries, topics, numbers, dates,
transliterated names; its own threshold and a shorter window). Same-language joins are decided
exactly as before, and win when both kinds of candidate qualify.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.understand.crosslang import CROSS_LANGUAGE_WINDOW, SPECIFIC, cross_join

CLUSTER_WINDOW = timedelta(hours=48)
SIGNATURE_SIZE = 64
JOIN_THRESHOLD = 0.25
SAME_SOURCE_THRESHOLD = 0.8

# Normalized forms (pymorphy lemmas, Snowball stems) that carry no story identity.
_STOP_TEXT = """
    и в во на с со по к ко о об от до из за у же ли не ни что как так это этот тот то весь все
    быть был она они он оно мы вы я их его ее для при под над после перед между также который
    этом такой свой наш ваш год сообщать заявить отметить подчеркнуть сказать стать время
    а но или если чтобы уже еще ещё более очень можно нужно день однако пресс служба
    the a an and or of to in on at by for with from as is are was were be been has have had it
    its this that these those which who will would can could said says say also not but than
    into over after before about their there they he she we our his her year day week
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class ClusterCandidate:
    article_id: int
    cluster_id: int | None
    signature: bytes
    published_at: datetime
    source: str
    language: str | None = None  # None: unknown (stored before languages were recorded)
    evidence: frozenset[str] = frozenset()  # bot.understand.crosslang items


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


# Content word -> its hash: the same words recur across a feed's articles, and blake2b per word
# costs more than the rest of the signature. Bounded like the morphology cache.
_HASHES: dict[str, int] = {}
_HASH_LIMIT = 200_000


def make_signature(norms: Iterable[str], size: int = SIGNATURE_SIZE) -> bytes:
    words = {w for w in norms if len(w) > 2} - STOP_WORDS
    cache = _HASHES
    hashes = [cache.get(w) or _remember(w) for w in words]
    hashes.sort()
    return array("Q", hashes[:size]).tobytes()


def _remember(word: str) -> int:
    if len(_HASHES) >= _HASH_LIMIT:
        _HASHES.clear()
    h = _HASHES[word] = _hash(word)
    return h


def _unpack(sig: bytes) -> array:
    values = array("Q")
    values.frombytes(sig)
    return values


def similarity(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated Jaccard similarity of the two word sets (exact while both fit in the sketch)."""
    return _set_similarity(set(_unpack(sig_a)), set(_unpack(sig_b)))


def _set_similarity(a: set[int], b: set[int]) -> float:
    if not a or not b:
        return 0.0
    if len(a) < SIGNATURE_SIZE and len(b) < SIGNATURE_SIZE:
        return len(a & b) / len(a | b)  # both sketches hold their whole word sets: exact
    # Bottom-k estimate: of the k smallest hashes of the union, the share found in both.
    k = min(len(a), len(b))
    union = sorted(a | b)[:k]
    return sum(1 for h in union if h in a and h in b) / k


class ClusterIndex:
    """The candidates of one window, indexed by fingerprint word, so a new article is compared
    only with candidates that share a word with it instead of with the whole window.

    `max_posting`: a word found in more candidates than this (in a 48 h window of every feed)
    names no particular story ("министр", "сотрудничество"), so it does not make candidates;
    rarer shared words (names, places, numbers) still do. None keeps every word (exhaustive).
    """

    def __init__(
        self, candidates: Iterable[ClusterCandidate], *, max_posting: int | None = 200
    ) -> None:
        self._candidates = list(candidates)
        self._sets = [set(_unpack(c.signature)) for c in self._candidates]
        postings: dict[int, list[int]] = defaultdict(list)
        for i, words in enumerate(self._sets):
            for h in words:
                postings[h].append(i)
        self._postings = {
            h: ids for h, ids in postings.items() if max_posting is None or len(ids) <= max_posting
        }
        # Cross-language candidates are found through their specific evidence (a name, a number,
        # a date), under the same cap: "p:lkSnk" in every BelTA story makes no candidates.
        by_item: dict[str, list[int]] = defaultdict(list)
        for i, cand in enumerate(self._candidates):
            if cand.language is None:
                continue
            for item in cand.evidence:
                if item[0] in SPECIFIC:
                    by_item[_posting_key(item)].append(i)
        self._by_item = {
            k: ids for k, ids in by_item.items() if max_posting is None or len(ids) <= max_posting
        }

    def choose(
        self,
        sig: bytes,
        published_at: datetime,
        *,
        source: str | None = None,
        language: str | None = None,
        evidence: frozenset[str] = frozenset(),
    ) -> int | None:
        """Cluster id to join (the best candidate's cluster, or its article id), or None.

        A same-language join (word-set similarity) is preferred; without one, and given the new
        article's `language` and `evidence`, the best candidate in another language whose
        evidence passes bot.understand.crosslang.cross_join."""
        same = self._choose_same(sig, published_at, source)
        if same is not None or language is None or not evidence:
            return same
        return self._choose_cross(published_at, language, evidence)

    def _choose_cross(
        self, published_at: datetime, language: str, evidence: frozenset[str]
    ) -> int | None:
        sharing: set[int] = set()
        for item in evidence:
            if item[0] in SPECIFIC:
                sharing.update(self._by_item.get(_posting_key(item), ()))
        best: tuple[float, int] | None = None
        for i in sorted(sharing):
            cand = self._candidates[i]
            if cand.language is None or cand.language == language:
                continue
            if abs(cand.published_at - published_at) > CROSS_LANGUAGE_WINDOW:
                continue
            score = cross_join(evidence, cand.evidence)
            if score is None:
                continue
            target = cand.cluster_id if cand.cluster_id is not None else cand.article_id
            if best is None or score > best[0]:
                best = (score, target)
        return best[1] if best is not None else None

    def _choose_same(self, sig: bytes, published_at: datetime, source: str | None) -> int | None:
        words = set(_unpack(sig))
        sharing: set[int] = set()
        for h in words:
            sharing.update(self._postings.get(h, ()))
        best: tuple[float, int] | None = None
        for i in sorted(sharing):
            cand = self._candidates[i]
            if abs(cand.published_at - published_at) > CLUSTER_WINDOW:
                continue
            score = _set_similarity(words, self._sets[i])
            needed = (
                SAME_SOURCE_THRESHOLD
                if source is not None and cand.source == source
                else JOIN_THRESHOLD
            )
            if score < needed:
                continue
            target = cand.cluster_id if cand.cluster_id is not None else cand.article_id
            if best is None or score > best[0]:
                best = (score, target)
        return best[1] if best is not None else None


def _posting_key(item: str) -> str:
    """Names match by skeleton whatever their weight ("q:" weak, "p:" strong)."""
    return "p" + item[1:] if item[0] == "q" else item


def choose_cluster(
    sig: bytes,
    published_at: datetime,
    candidates: Iterable[ClusterCandidate],
    *,
    source: str | None = None,
    language: str | None = None,
    evidence: frozenset[str] = frozenset(),
) -> int | None:
    """Cluster id to join (the best candidate's cluster, or its article id), or None for a new story.

    ``source`` is the new article's source; when given, candidates from the same source need
    SAME_SOURCE_THRESHOLD instead of JOIN_THRESHOLD. Exhaustive; ingest uses ClusterIndex.
    """
    return ClusterIndex(candidates, max_posting=None).choose(
        sig, published_at, source=source, language=language, evidence=evidence
    )
