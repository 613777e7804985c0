"""Precision/recall over the hand-labeled evaluation set (run with -s to see the table)."""

from pathlib import Path

import pytest

from bot.understand.classify import Classifier
from tests.support.evaluation import (
    below_floors,
    evaluate_articles,
    evaluate_pairs,
    format_table,
    read_floors,
    read_jsonl,
)

EVAL = Path(__file__).parents[1] / "eval"
FLOORS = read_floors(EVAL / "floors.toml")
DESIGN_TOPICS = ("human_rights", "cis", "un", "osce", "eaeu", "csto", "sco", "brics")
STRICT_DESK_TOPICS = ("security", "migration", "bilateral_visits", "climate")  # tuned with dev set


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def test_eval_set_is_big_enough() -> None:
    articles = read_jsonl(EVAL / "articles.jsonl")
    pairs = read_jsonl(EVAL / "story_pairs.jsonl")
    assert len(articles) >= 150
    assert {a["lang"] for a in articles} == {"ru", "en"}
    assert sum(p["same"] for p in pairs) >= 20 and sum(not p["same"] for p in pairs) >= 20


def test_topic_and_country_precision_recall(clf: Classifier) -> None:
    articles = read_jsonl(EVAL / "articles.jsonl")
    report = evaluate_articles(clf, articles)
    topics, countries = report.topics, report.countries
    pairs, _ = evaluate_pairs(clf, read_jsonl(EVAL / "story_pairs.jsonl"))
    print("\n" + format_table(topics, countries, pairs, report.by_country))
    assert not below_floors(report, FLOORS["articles"]), below_floors(report, FLOORS["articles"])
    labeled = {slug for a in articles for slug in a["topics"]}
    assert set(clf.topics[i].slug for i in range(len(clf.topics))) <= labeled
    for slug in DESIGN_TOPICS + STRICT_DESK_TOPICS:
        assert topics[slug].precision >= 0.95, (slug, topics[slug].errors)
        assert topics[slug].recall >= 0.95, (slug, topics[slug].errors)
    for slug, counts in topics.items():  # desk topics are fuzzier; keep them from sliding
        assert counts.precision >= 0.9 and counts.recall >= 0.9, (slug, counts.errors)
    assert countries.precision >= 0.97 and countries.recall >= 0.97, countries.errors
    assert pairs.precision >= 0.95 and pairs.recall >= 0.95, pairs.errors


@pytest.mark.parametrize("backend", ["snowball"])
def test_snowball_backend_loads_and_tags_seed_topics(backend: str) -> None:
    clf = Classifier.load(backend=backend)
    result = clf.classify("Совет ООН по правам человека", "в области прав человека")
    assert {"un", "human_rights"} <= set(result.topics)
